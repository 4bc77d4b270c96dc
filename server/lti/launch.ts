import { createHash, randomBytes } from 'node:crypto';
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import type { LtiPlatformRepository, Platform } from '../db/lti-platforms.ts';
import { Forbidden, Invalid, Unavailable } from '../errors.ts';
import { CLAIM, deepLinkingClaims, messageType, resourceLinkClaims, type DeepLinkingClaims, type ResourceLinkClaims } from './claims.ts';

/** How long a login may take between our redirect to the LMS and its post back. */
export const STATE_TTL_MS = 10 * 60_000;
/** Signatures a platform may use (RSA and EC; never `none` or HMAC). */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384'];
/** The browser-binding cookie of one login: its name carries a hash of the state. */
export const STATE_COOKIE_PREFIX = 'kd_lti_state_';

export function stateCookieName(state: string): string {
  return `${STATE_COOKIE_PREFIX}${createHash('sha256').update(state).digest('hex').slice(0, 16)}`;
}

export interface LoginRequest {
  iss: string;
  login_hint: string;
  target_link_uri: string;
  lti_message_hint?: string | undefined;
  client_id?: string | undefined;
  lti_deployment_id?: string | undefined;
}

export type VerifiedLaunch = { platform: Platform; kind: 'resource'; claims: ResourceLinkClaims } | { platform: Platform; kind: 'deep-linking'; claims: DeepLinkingClaims };

/**
 * LTI 1.3 launches as OIDC third-party-initiated login (LTI Core 1.3 §5.1): the login answers a
 * platform's initiation with a redirect to its authorization endpoint carrying a single-use
 * `state` and `nonce`; the launch verifies the `id_token` the platform posts back against the
 * platform's published keys (signature, iss, aud/azp, exp, nonce, deployment, message type,
 * version) before anything is believed.
 */
export class LaunchVerifier {
  private readonly platforms: LtiPlatformRepository;
  private readonly launchUrl: () => string;
  private readonly jwks = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

  constructor(deps: { platforms: LtiPlatformRepository; launchUrl: () => string }) {
    this.platforms = deps.platforms;
    this.launchUrl = deps.launchUrl;
  }

  private async platformFor(request: LoginRequest): Promise<Platform> {
    const candidates = (await this.platforms.byIssuer(request.iss)).filter((p) => request.client_id === undefined || p.clientId === request.client_id);
    if (candidates.length === 0) {
      throw new Invalid(`No LMS with issuer "${request.iss}"${request.client_id ? ` and client id "${request.client_id}"` : ''} is registered in kubedojo. An admin adds it on the admin page (LTI) or with "kubedojo lti add".`, {
        issues: [{ field: 'iss', message: 'is not a registered platform' }],
      });
    }
    if (candidates.length > 1) {
      throw new Invalid(`Several registrations share the issuer "${request.iss}": the LMS must send client_id with its login initiation.`, { issues: [{ field: 'client_id', message: 'is needed to tell the registrations apart' }] });
    }
    const platform = candidates[0];
    if (!platform) throw new Error('unreachable');
    if (request.lti_deployment_id !== undefined && !platform.deployments.includes(request.lti_deployment_id)) throw this.unknownDeployment(platform, request.lti_deployment_id);
    return platform;
  }

  private unknownDeployment(platform: Platform, deployment: string): Forbidden {
    return new Forbidden(`The deployment "${deployment}" of ${platform.name} (${platform.issuer}) is not registered in kubedojo (registered: ${platform.deployments.join(', ') || 'none'}). An admin adds it with "kubedojo lti add … --deployment-id ${deployment}".`);
  }

  /** Answers a login initiation: where to send the browser, and the state to bind to it. */
  async login(request: LoginRequest): Promise<{ redirect: string; state: string }> {
    const platform = await this.platformFor(request);
    const ours = new URL(this.launchUrl());
    let target: URL;
    try {
      target = new URL(request.target_link_uri);
    } catch {
      throw new Invalid('target_link_uri is not a URL', { issues: [{ field: 'target_link_uri', message: 'must be an absolute URL' }] });
    }
    // We only ever launch into ourselves (no open redirector through our login).
    if (target.origin !== ours.origin) throw new Invalid(`target_link_uri ${request.target_link_uri} is not a kubedojo URL (expected ${ours.origin}/…)`, { issues: [{ field: 'target_link_uri', message: `must be on ${ours.origin}` }] });
    const state = randomBytes(32).toString('base64url');
    const nonce = randomBytes(32).toString('base64url');
    await this.platforms.addState({ state, platformId: platform.id, nonce, targetLinkUri: request.target_link_uri }, STATE_TTL_MS);
    const redirect = new URL(platform.authUrl);
    const params: Record<string, string> = {
      scope: 'openid',
      response_type: 'id_token',
      response_mode: 'form_post',
      prompt: 'none',
      client_id: platform.clientId,
      redirect_uri: this.launchUrl(),
      login_hint: request.login_hint,
      state,
      nonce,
    };
    if (request.lti_message_hint !== undefined) params.lti_message_hint = request.lti_message_hint;
    for (const [k, v] of Object.entries(params)) redirect.searchParams.set(k, v);
    return { redirect: redirect.toString(), state };
  }

  private keysOf(platform: Platform): ReturnType<typeof createRemoteJWKSet> {
    const key = `${platform.id} ${platform.jwksUrl}`;
    let set = this.jwks.get(key);
    if (!set) {
      set = createRemoteJWKSet(new URL(platform.jwksUrl), { timeoutDuration: 5000, cooldownDuration: 30_000, cacheMaxAge: 600_000 });
      this.jwks.set(key, set);
    }
    return set;
  }

  private async verifySignature(platform: Platform, idToken: string): Promise<JWTPayload> {
    try {
      const { payload } = await jwtVerify(idToken, this.keysOf(platform), { issuer: platform.issuer, audience: platform.clientId, algorithms: ALGORITHMS, clockTolerance: 60, requiredClaims: ['iat', 'exp', 'sub', 'nonce'] });
      return payload;
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey) throw new Forbidden(`The id_token is signed with a key that ${platform.name} does not publish at ${platform.jwksUrl}: it did not come from the registered platform.`);
      if (error instanceof errors.JWSSignatureVerificationFailed) throw new Forbidden(`The id_token's signature does not verify with ${platform.name}'s keys.`);
      if (error instanceof errors.JWTExpired) throw new Forbidden('The id_token has expired: open the activity again from your course.');
      if (error instanceof errors.JWTClaimValidationFailed) {
        if (error.claim === 'aud') throw new Forbidden(`The id_token is addressed to another tool (aud ${JSON.stringify(error.payload.aud)}), not to kubedojo's client id "${platform.clientId}" at ${platform.name}.`);
        if (error.claim === 'iss') throw new Forbidden(`The id_token was issued by ${JSON.stringify(error.payload.iss)}, not by ${platform.issuer}.`);
        throw new Forbidden(`The id_token's "${error.claim}" claim is not acceptable: ${error.message}.`);
      }
      if (error instanceof errors.JOSEAlgNotAllowed) throw new Forbidden(`The id_token uses a signature algorithm kubedojo does not accept (allowed: ${ALGORITHMS.join(', ')}).`);
      if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid || (error instanceof TypeError && /fetch/i.test(error.message))) {
        throw new Unavailable(`Could not read ${platform.name}'s signing keys from ${platform.jwksUrl}; check the JWKS URL of the registration.`);
      }
      if (error instanceof errors.JOSEError) throw new Invalid(`The id_token is not a valid signed JWT: ${error.message}`, { issues: [{ field: 'id_token', message: error.message }] });
      throw error;
    }
  }

  /** Verifies a launch's form post completely, or throws a typed error that says what was wrong. */
  async verify(form: { id_token: string; state: string }, cookieNames: readonly string[]): Promise<VerifiedLaunch> {
    // A browser that kept our state cookie must come back with the one of this very login.
    const bound = cookieNames.filter((n) => n.startsWith(STATE_COOKIE_PREFIX));
    if (bound.length > 0 && !bound.includes(stateCookieName(form.state))) {
      throw new Forbidden('State mismatch: this browser started a different LTI login than the one this launch answers. Open the activity again from your course.');
    }
    const state = await this.platforms.takeState(form.state);
    if (state === 'unknown') throw new Forbidden('State mismatch: this launch was not started by a kubedojo login (the state is unknown). Open the activity again from your course.');
    if (state === 'used') throw new Forbidden('This launch was already used: a replayed id_token, or a reloaded launch page. Open the activity again from your course.');
    if (state === 'expired') throw new Forbidden('The launch took too long (more than 10 minutes). Open the activity again from your course.');
    const platform = await this.platforms.get(state.platformId);
    if (!platform) throw new Forbidden('The platform of this launch was removed from kubedojo.');

    const payload = await this.verifySignature(platform, form.id_token);
    const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if ((audiences.length > 1 || payload.azp !== undefined) && payload.azp !== platform.clientId) {
      throw new Forbidden(`The id_token's authorized party (azp ${JSON.stringify(payload.azp)}) is not kubedojo's client id "${platform.clientId}".`);
    }
    if (payload.nonce !== state.nonce) throw new Forbidden('Nonce mismatch: the id_token was issued for another login (a replayed id_token).');
    if (!(await this.platforms.useNonce(platform.issuer, state.nonce, (payload.exp ?? 0) * 1000 + 3_600_000))) throw new Forbidden('Replayed id_token: its nonce was already used.');

    const type = messageType.safeParse(payload[CLAIM.messageType]);
    if (!type.success) throw this.claimError([{ field: `id_token.${CLAIM.messageType}`, message: type.error.issues[0]?.message ?? 'is not supported' }]);
    const parsed = type.data === 'LtiResourceLinkRequest' ? resourceLinkClaims.safeParse(payload) : deepLinkingClaims.safeParse(payload);
    if (!parsed.success) throw this.claimError(parsed.error.issues.map((i) => ({ field: ['id_token', ...i.path.map(String)].join('.'), message: i.message })));
    const deployment = parsed.data[CLAIM.deploymentId];
    if (!platform.deployments.includes(deployment)) throw this.unknownDeployment(platform, deployment);
    return type.data === 'LtiResourceLinkRequest' ? { platform, kind: 'resource', claims: parsed.data as ResourceLinkClaims } : { platform, kind: 'deep-linking', claims: parsed.data as DeepLinkingClaims };
  }

  private claimError(issues: { field: string; message: string }[]): Invalid {
    return new Invalid(`The LMS sent a launch kubedojo cannot use: ${issues.map((i) => `${i.field} ${i.message}`).join('; ')}. Check the tool's settings in the LMS.`, { issues });
  }
}
