import type { ServerResponse } from 'node:http';
import express, { Router, type Request } from 'express';
import { parseCookie } from 'cookie';
import { z } from 'zod';
import { Invalid } from '../errors.ts';
import { STATE_COOKIE_PREFIX, STATE_TTL_MS, stateCookieName } from '../lti/launch.ts';
import type { LtiService } from '../lti/service.ts';
import { ltiSessionRequestSchema, type LtiSessionRequest, type LtiSessionResponse } from '../protocol-lti.ts';
import { learnerView } from './routes/auth.ts';
import { REGISTERED_SCRIPT, REGISTERED_SCRIPT_PATH, registeredPage } from './lti-pages.ts';
import { sameOrigin } from './session.ts';
import { validate } from './validate.ts';

const field = (name: string, max: number) => z.string({ error: `${name} must be a single text value` }).min(1, 'must not be empty').max(max, `must be at most ${max} characters`);
const loginSchema = z.looseObject({
  iss: field('iss', 2000),
  login_hint: field('login_hint', 2000),
  target_link_uri: field('target_link_uri', 2000),
  lti_message_hint: field('lti_message_hint', 4000).optional(),
  client_id: field('client_id', 255).optional(),
  lti_deployment_id: field('lti_deployment_id', 255).optional(),
});
const launchSchema = z
  .looseObject({
    id_token: field('id_token', 65_536).optional(),
    state: field('state', 512).optional(),
    error: field('error', 200).optional(),
    error_description: z.string().max(2000).optional(),
  })
  .superRefine((form, ctx) => {
    if (form.error !== undefined) return;
    if (form.id_token === undefined) ctx.addIssue({ code: 'custom', path: ['id_token'], message: 'is required: the LMS must post the id_token of the launch' });
    if (form.state === undefined) ctx.addIssue({ code: 'custom', path: ['state'], message: 'is required: the LMS must post back the state kubedojo sent' });
  });
const registerParams = z.object({ token: z.string().regex(/^[A-Za-z0-9_-]{16,100}$/, 'must be the token of a kubedojo registration link') });
const registerQuery = z.looseObject({
  openid_configuration: z.url({ error: 'must be the URL of the platform\'s OpenID configuration (the LMS adds it when it opens this link)' }),
  registration_token: z.string().max(4000).optional(),
});

/** Forms an LMS posts (login initiation, the launch itself) come url-encoded. */
const form = express.urlencoded({ extended: false, limit: '128kb', parameterLimit: 50 });

/**
 * Who may show kubedojo in a frame: the registered LMSs (their launches open in an iframe), and
 * nobody else. The dynamic registration page may be framed by any site: the LMS that opens it is
 * not known before it registers, and the page's one-time link is its protection.
 */
/**
 * Who may frame kubedojo (the Content-Security-Policy's frame-ancestors, set with the rest of the
 * policy in app.ts): the registered LMSs; anyone for the dynamic-registration page, which an
 * LMS opens in its own frame before it is registered; nobody when no LMS is registered.
 */
export function frameAncestors(path: string, origins: readonly string[]): string {
  if (path.startsWith('/lti/register/')) return '*';
  return origins.length > 0 ? origins.join(' ') : "'none'";
}

/** The registered LMSs' origins, read once per request (before the headers that need them). */
export function loadFrameOrigins(lti: LtiService): express.RequestHandler {
  return (_req, res, next) => {
    lti.frameAncestors().then((origins) => {
      (res.locals as { frameOrigins?: string[] }).frameOrigins = origins;
      next();
    }, next);
  };
}

/** What loadFrameOrigins found for this response. */
export const frameOriginsOf = (res: ServerResponse): string[] => ((res as express.Response).locals as { frameOrigins?: string[] }).frameOrigins ?? [];

/** X-Frame-Options for browsers without frame-ancestors: DENY unless an LMS may frame us. */
export const frameGuard: express.RequestHandler = (req, res, next) => {
  if (!req.path.startsWith('/lti/register/') && frameOriginsOf(res).length === 0) res.setHeader('X-Frame-Options', 'DENY');
  next();
};

function cookieNames(req: Request): string[] {
  return Object.keys(parseCookie(req.headers.cookie ?? ''));
}

/**
 * The endpoints an LMS and its frame call: OIDC login initiation, the launch, our public keys,
 * dynamic registration, and the exchange of a launch ticket for a session. They come before the
 * CSRF guard: they are cross-site by nature, and each carries its own proof (a signed id_token
 * with a single-use state and nonce, a one-time link, a one-time ticket).
 */
export function ltiProtocolRoutes(deps: { lti: LtiService }): Router {
  const router = Router();
  const { lti } = deps;

  router.get(REGISTERED_SCRIPT_PATH, (_req, res) => {
    res.type('application/javascript').setHeader('Cache-Control', 'public, max-age=3600');
    res.send(REGISTERED_SCRIPT);
  });

  router.get('/.well-known/jwks.json', async (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.json(await lti.keys.jwks());
  });

  const login = (source: 'query' | 'body') => async (req: Request, res: express.Response) => {
    const request = (source === 'query' ? res.locals.query : req.body) as z.infer<typeof loginSchema>;
    const { redirect, state } = await lti.login(request);
    // Binds the login to this browser where it keeps third-party cookies; where it does not, the
    // single-use state and nonce still hold (see LaunchVerifier.verify).
    res.cookie(stateCookieName(state), '1', { httpOnly: true, secure: true, sameSite: 'none', path: '/lti', maxAge: STATE_TTL_MS });
    res.setHeader('Cache-Control', 'no-store');
    res.redirect(302, redirect);
  };
  router.get('/lti/login', validate({ query: loginSchema }), login('query'));
  router.post('/lti/login', form, validate({ body: loginSchema }), login('body'));

  router.post('/lti/launch', form, validate({ body: launchSchema }), async (req, res) => {
    const body = req.body as z.infer<typeof launchSchema>;
    if (body.error !== undefined) {
      throw new Invalid(`The LMS did not sign you in for this launch (${body.error}${body.error_description ? `: ${body.error_description}` : ''}). Open the activity again from your course.`, { issues: [{ field: 'body.error', message: body.error }] });
    }
    const landed = await lti.launch({ id_token: body.id_token ?? '', state: body.state ?? '' }, cookieNames(req));
    for (const name of cookieNames(req)) if (name.startsWith(STATE_COOKIE_PREFIX)) res.clearCookie(name, { httpOnly: true, secure: true, sameSite: 'none', path: '/lti' });
    // The ticket rides in the fragment: never sent to a server, never in a Referer; the page
    // exchanges it once for a session and removes it from the address.
    const fragment = new URLSearchParams({ 'kd-ticket': landed.ticket, ...(landed.anchor ? { at: landed.anchor } : {}) });
    res.setHeader('Cache-Control', 'no-store');
    res.redirect(303, `${landed.path}#${fragment.toString()}`);
  });

  router.get('/lti/register/:token', validate({ params: registerParams, query: registerQuery }), async (_req, res) => {
    const { token } = res.locals.params as z.infer<typeof registerParams>;
    const query = res.locals.query as z.infer<typeof registerQuery>;
    const platform = await lti.registration.register({ token, openidConfiguration: query.openid_configuration, registrationToken: query.registration_token });
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(registeredPage(platform.name, platform.clientId, platform.deployments));
  });

  router.post('/api/lti/session', sameOrigin, validate({ body: ltiSessionRequestSchema }), async (req, res) => {
    const { learner, token } = await lti.exchange((req.body as LtiSessionRequest).ticket);
    const body: LtiSessionResponse = { token, learner: learnerView(learner) };
    res.setHeader('Cache-Control', 'no-store');
    res.json(body);
  });

  return router;
}
