import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { LtiPlatformRepository, Platform } from '../db/lti-platforms.ts';
import { Forbidden, Invalid, Unavailable } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { LtiToolUrls } from './views.ts';
import { PLATFORM_CONFIGURATION, SCOPE, TOOL_CONFIGURATION } from './claims.ts';
import { allowedUrl, callPlatform, PlatformRefused, PlatformUnavailable } from './platform-client.ts';

/** A registration link works once, for this long. */
export const REGISTRATION_TTL_MS = 7 * 86_400_000;

const url = z.url({ error: 'must be an absolute URL' });
const openidConfiguration = z.looseObject({
  issuer: url,
  authorization_endpoint: url,
  token_endpoint: url,
  jwks_uri: url,
  registration_endpoint: url,
  authorization_server: z.string().max(2000).optional(),
  token_endpoint_auth_methods_supported: z.array(z.string()).optional(),
  id_token_signing_alg_values_supported: z.array(z.string()).optional(),
  [PLATFORM_CONFIGURATION]: z.looseObject({ product_family_code: z.string().max(100).optional(), version: z.string().max(100).optional() }, { error: 'is required (the LTI platform configuration)' }),
});
const registrationResponse = z.looseObject({
  client_id: z.string({ error: 'must be a string' }).min(1, 'must not be empty').max(255),
  [TOOL_CONFIGURATION]: z.looseObject({ deployment_id: z.string().min(1).max(255).optional() }).optional(),
});

function problems(error: z.ZodError, where: string): string {
  return error.issues.map((i) => `${[where, ...i.path.map(String)].join('.')}: ${i.message}`).join('; ');
}

const originOf = (value: string) => new URL(value).origin;

/**
 * LTI Dynamic Registration 1.0: an LMS admin pastes our one-time registration link; the LMS
 * opens it with `openid_configuration` (and usually a `registration_token`); we read the
 * platform's configuration, register ourselves as a client at its registration endpoint, and
 * keep what it answers (client id, deployment) as a platform. The one-time link is what makes
 * this safe: nobody else can make kubedojo trust their platform.
 */
export class DynamicRegistration {
  private readonly platforms: LtiPlatformRepository;
  private readonly tool: () => LtiToolUrls;
  private readonly allowHttp: boolean;
  private readonly log: Logger;

  constructor(deps: { platforms: LtiPlatformRepository; tool: () => LtiToolUrls; allowHttp: boolean; logger: Logger }) {
    this.platforms = deps.platforms;
    this.tool = deps.tool;
    this.allowHttp = deps.allowHttp;
    this.log = deps.logger;
  }

  /** A new one-time registration link. */
  async link(now = Date.now()): Promise<{ url: string; expiresAt: string }> {
    const token = randomBytes(24).toString('base64url');
    await this.platforms.addRegistrationToken(token, REGISTRATION_TTL_MS, now);
    return { url: `${this.tool().registration}/${token}`, expiresAt: new Date(now + REGISTRATION_TTL_MS).toISOString() };
  }

  private checkUrl(value: string, field: string): void {
    if (!allowedUrl(value, this.allowHttp)) {
      throw new Invalid(`${field} ${value} must be an https URL${this.allowHttp ? ' (or http)' : ' (http is allowed only with --lti-allow-http)'}.`, { issues: [{ field, message: 'must be an https URL' }] });
    }
  }

  async register(request: { token: string; openidConfiguration: string; registrationToken?: string | undefined }): Promise<Platform> {
    this.checkUrl(request.openidConfiguration, 'openid_configuration');
    if (!(await this.platforms.useRegistrationToken(request.token, null))) {
      throw new Forbidden('This kubedojo registration link was used already or has expired. Make a new one on kubedojo\'s admin page (LTI) or with "kubedojo lti register-url".');
    }
    try {
      const platform = await this.perform(request);
      await this.platforms.useRegistrationToken(request.token, platform.id);
      this.log.info({ platform: platform.id, issuer: platform.issuer, clientId: platform.clientId }, 'an LMS registered kubedojo (dynamic registration)');
      return platform;
    } catch (error) {
      await this.platforms.releaseRegistrationToken(request.token);
      if (error instanceof PlatformUnavailable) throw new Unavailable(`The LMS could not be reached during registration: ${error.message}`);
      if (error instanceof PlatformRefused) throw new Invalid(`The LMS refused kubedojo's registration: ${error.message}`);
      throw error;
    }
  }

  private async perform(request: { openidConfiguration: string; registrationToken?: string | undefined }): Promise<Platform> {
    const fetched = await callPlatform(request.openidConfiguration, { headers: { accept: 'application/json' } }, 'reading the platform configuration');
    const parsed = openidConfiguration.safeParse(fetched.body);
    if (!parsed.success) throw new Invalid(`The platform configuration at ${request.openidConfiguration} is not usable: ${problems(parsed.error, 'openid_configuration')}.`);
    const config = parsed.data;
    for (const [field, value] of [['issuer', config.issuer], ['authorization_endpoint', config.authorization_endpoint], ['token_endpoint', config.token_endpoint], ['jwks_uri', config.jwks_uri], ['registration_endpoint', config.registration_endpoint]] as const) {
      this.checkUrl(value, `openid_configuration.${field}`);
    }
    if (config.token_endpoint_auth_methods_supported && !config.token_endpoint_auth_methods_supported.includes('private_key_jwt')) {
      throw new Invalid('The platform does not accept private_key_jwt client authentication, which LTI 1.3 services need.');
    }
    if (config.id_token_signing_alg_values_supported && !config.id_token_signing_alg_values_supported.some((a) => /^(RS|PS|ES)\d{3}$/.test(a))) {
      throw new Invalid(`The platform signs id_tokens only with ${config.id_token_signing_alg_values_supported.join(', ')}; kubedojo needs RSA or EC signatures.`);
    }
    const tool = this.tool();
    const body = {
      application_type: 'web',
      response_types: ['id_token'],
      grant_types: ['implicit', 'client_credentials'],
      initiate_login_uri: tool.login,
      redirect_uris: [tool.launch],
      client_name: 'kubedojo',
      jwks_uri: tool.jwks,
      token_endpoint_auth_method: 'private_key_jwt',
      scope: [SCOPE.lineItem, SCOPE.resultRead, SCOPE.score, SCOPE.memberships].join(' '),
      [TOOL_CONFIGURATION]: {
        domain: new URL(tool.launch).host,
        description: 'Interactive Kubernetes lessons with real sandboxes, graded by checks',
        target_link_uri: tool.launch,
        claims: ['iss', 'sub', 'name', 'given_name', 'family_name', 'email'],
        messages: [
          { type: 'LtiDeepLinkingRequest', target_link_uri: tool.deepLinking, label: 'kubedojo lessons' },
          { type: 'LtiResourceLinkRequest', target_link_uri: tool.launch, label: 'kubedojo' },
        ],
      },
    };
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (request.registrationToken) headers.authorization = `Bearer ${request.registrationToken}`;
    const answer = await callPlatform(config.registration_endpoint, { method: 'POST', headers, body: JSON.stringify(body) }, 'registering kubedojo');
    const registered = registrationResponse.safeParse(answer.body);
    if (!registered.success) throw new Invalid(`The platform's registration answer is not usable: ${problems(registered.error, 'registration')}.`);
    const deployment = registered.data[TOOL_CONFIGURATION]?.deployment_id;
    const family = config[PLATFORM_CONFIGURATION].product_family_code;
    return this.platforms.upsert({
      name: `${family ?? 'LMS'} (${new URL(config.issuer).host})`,
      issuer: config.issuer,
      clientId: registered.data.client_id,
      authUrl: config.authorization_endpoint,
      tokenUrl: config.token_endpoint,
      jwksUrl: config.jwks_uri,
      tokenAudience: config.authorization_server ?? null,
      // The LMS frames kubedojo from its own site, which its configuration URL names.
      frameOrigins: [...new Set([originOf(request.openidConfiguration), originOf(config.issuer), originOf(config.authorization_endpoint)])],
      deployments: deployment ? [deployment] : [],
      registeredBy: 'dynamic',
    });
  }
}
