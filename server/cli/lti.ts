import { z } from 'zod';
import { openDatabase, type Db } from '../db/database.ts';
import { LtiPlatformRepository } from '../db/lti-platforms.ts';
import { ToolKeys } from '../lti/keys.ts';
import { allowedUrl } from '../lti/platform-client.ts';
import { DynamicRegistration } from '../lti/registration.ts';
import { platformView } from '../lti/service.ts';
import type { LtiToolUrls } from '../lti/views.ts';
import { EXIT, UsageError, type CliContext } from './context.ts';

/** `kubedojo lti …`: LMS platforms, the registration link, the tool's URLs and keys, from the command line. */

async function withDatabase<T>(ctx: CliContext, work: (db: Db) => T | Promise<T>): Promise<T> {
  const db = await openDatabase(ctx.config.database, ctx.logger);
  try {
    return await work(db);
  } finally {
    await db.destroy();
  }
}

/** Where LMSs reach this kubedojo: --public-url, else the address `serve` listens on. */
function toolUrls(ctx: CliContext): LtiToolUrls {
  const base = ctx.config.publicUrl ?? `http://${ctx.config.host}:${ctx.config.port}`;
  return { login: `${base}/lti/login`, launch: `${base}/lti/launch`, jwks: `${base}/.well-known/jwks.json`, deepLinking: `${base}/lti/launch`, registration: `${base}/lti/register` };
}

function warnWithoutPublicUrl(ctx: CliContext): void {
  if (ctx.config.publicUrl === undefined) process.stderr.write('kubedojo: no --public-url (KUBEDOJO_PUBLIC_URL) is set: these URLs use the listening address, which an LMS elsewhere cannot reach\n');
}

const url = (flag: string) => z.url({ error: `${flag} must be an absolute URL` });
const addOptions = z.object({
  issuer: url('--issuer'),
  clientId: z.string({ error: '--client-id is required' }).trim().min(1, '--client-id must not be empty').max(255),
  deploymentId: z.array(z.string().trim().min(1).max(255), { error: '--deployment-id is required' }).min(1, 'give at least one --deployment-id'),
  authUrl: url('--auth-url'),
  tokenUrl: url('--token-url'),
  jwksUrl: url('--jwks-url'),
  name: z.string().trim().min(1).max(120).optional(),
  tokenAudience: z.string().trim().min(1).max(2000).optional(),
  frameOrigin: z.array(url('--frame-origin')).optional(),
  json: z.boolean().optional(),
});

export function ltiAdd(ctx: CliContext, raw: unknown): Promise<number> {
  const parsed = addOptions.safeParse(raw);
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => i.message).join('; '));
  const o = parsed.data;
  for (const [flag, value] of [['--auth-url', o.authUrl], ['--token-url', o.tokenUrl], ['--jwks-url', o.jwksUrl]] as const) {
    if (!allowedUrl(value, ctx.config.lti.allowHttp)) throw new UsageError(`${flag} must be an https URL (http only with --lti-allow-http), got ${value}`);
  }
  return withDatabase(ctx, async (db) => {
    const platform = await new LtiPlatformRepository(db).upsert({
      name: o.name ?? new URL(o.issuer).host,
      issuer: o.issuer,
      clientId: o.clientId,
      deployments: o.deploymentId,
      authUrl: o.authUrl,
      tokenUrl: o.tokenUrl,
      jwksUrl: o.jwksUrl,
      tokenAudience: o.tokenAudience ?? null,
      frameOrigins: (o.frameOrigin ?? []).map((f) => new URL(f).origin),
      registeredBy: 'admin',
    });
    if (o.json) ctx.out.write(`${JSON.stringify(platformView(platform))}\n`);
    else ctx.out.write(`Registered ${platform.name} (issuer ${platform.issuer}, client id ${platform.clientId}, deployments ${platform.deployments.join(', ')}) as ${platform.id}.\n`);
    return EXIT.ok;
  });
}

export function ltiList(ctx: CliContext, options: { json?: boolean }): Promise<number> {
  return withDatabase(ctx, async (db) => {
    const platforms = (await new LtiPlatformRepository(db).list()).map(platformView);
    if (options.json) {
      ctx.out.write(`${JSON.stringify({ tool: toolUrls(ctx), platforms })}\n`);
      return EXIT.ok;
    }
    if (platforms.length === 0) ctx.out.write('No LMS platforms are registered.\n');
    for (const p of platforms) ctx.out.write(`${p.id}  ${p.name}  issuer ${p.issuer}  client ${p.clientId}  deployments ${p.deployments.join(', ') || '(none yet)'}  (${p.registeredBy})\n`);
    return EXIT.ok;
  });
}

export function ltiRemove(ctx: CliContext, id: string): Promise<number> {
  return withDatabase(ctx, async (db) => {
    if (!(await new LtiPlatformRepository(db).remove(id))) {
      process.stderr.write(`kubedojo: there is no LTI platform ${id} (see "kubedojo lti list")\n`);
      return EXIT.failed;
    }
    ctx.out.write(`Removed LTI platform ${id}.\n`);
    return EXIT.ok;
  });
}

export function ltiRegisterUrl(ctx: CliContext): Promise<number> {
  warnWithoutPublicUrl(ctx);
  return withDatabase(ctx, async (db) => {
    const link = await new DynamicRegistration({ platforms: new LtiPlatformRepository(db), tool: () => toolUrls(ctx), allowHttp: ctx.config.lti.allowHttp, logger: ctx.logger }).link();
    ctx.out.write(`${link.url}\n`);
    process.stderr.write(`Paste it into the LMS as the tool's registration URL; it works once, until ${link.expiresAt}.\n`);
    return EXIT.ok;
  });
}

export function ltiRotateKey(ctx: CliContext): Promise<number> {
  return withDatabase(ctx, async (db) => {
    const keys = new ToolKeys(new LtiPlatformRepository(db), { rotationDays: ctx.config.lti.keyRotationDays });
    await keys.rotate();
    const { kid } = await keys.signing();
    ctx.out.write(`The tool now signs with key ${kid}; the previous key stays published for two days.\n`);
    return EXIT.ok;
  });
}

export function ltiUrls(ctx: CliContext, options: { json?: boolean }): Promise<number> {
  warnWithoutPublicUrl(ctx);
  const urls = toolUrls(ctx);
  if (options.json) {
    ctx.out.write(`${JSON.stringify(urls)}\n`);
  } else {
    ctx.out.write(
      [
        `OpenID Connect login initiation URL: ${urls.login}`,
        `Redirect / launch URL (target link URI): ${urls.launch}`,
        `Deep linking URL: ${urls.deepLinking}`,
        `Public keyset (JWKS) URL: ${urls.jwks}`,
        `Dynamic registration: one-time URLs from "kubedojo lti register-url" (${urls.registration}/…)`,
      ].join('\n') + '\n',
    );
  }
  return Promise.resolve(EXIT.ok);
}
