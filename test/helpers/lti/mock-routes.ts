import { randomBytes } from 'node:crypto';
import express, { type Request, type Response } from 'express';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { MockPlatform } from './mock-platform.ts';
import { adminToolsPage, coursePage, deepLinkReturnPage, esc } from './mock-pages.ts';

const SCORE = 'https://purl.imsglobal.org/spec/lti-ags/scope/score';
const LINEITEM = 'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem';
const LINEITEM_READ = 'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly';
const MEMBERSHIPS = 'https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly';
const TOOL_CONFIG = 'https://purl.imsglobal.org/spec/lti-tool-configuration';
const PAGE_SIZE = 2;

function fail(res: Response, status: number, error: string): void {
  res.status(status).json({ error });
}

/** The mock LMS's HTTP side: OIDC, OAuth 2, AGS, NRPS, deep linking, dynamic registration, and its pages. */
export function mockRoutes(mock: MockPlatform): express.Express {
  const app = express();
  const jwksOfTool = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
  const toolKeys = () => {
    const tool = mock.tool;
    if (!tool) throw new Error('no tool registered');
    let set = jwksOfTool.get(tool.jwksUrl);
    if (!set) {
      set = createRemoteJWKSet(new URL(tool.jwksUrl));
      jwksOfTool.set(tool.jwksUrl, set);
    }
    return set;
  };
  const usedJti = new Set<string>();

  /** The scopes a bearer token grants, or an answer refusing it. */
  const authorize = (req: Request, res: Response, scopes: string[]): boolean => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const grant = token ? mock.tokens.get(token) : undefined;
    if (!grant || grant.expiresAt < Date.now()) {
      fail(res, 401, 'invalid or expired access token');
      return false;
    }
    if (!scopes.some((s) => grant.scopes.includes(s))) {
      fail(res, 403, `the token lacks ${scopes.join(' or ')}`);
      return false;
    }
    return true;
  };

  app.get('/.well-known/openid-configuration', (_req, res) => {
    res.json({
      issuer: mock.url,
      authorization_endpoint: `${mock.url}/auth`,
      token_endpoint: `${mock.url}/token`,
      jwks_uri: `${mock.url}/jwks`,
      registration_endpoint: `${mock.url}/register`,
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: ['RS256'],
      id_token_signing_alg_values_supported: ['RS256'],
      scopes_supported: ['openid', SCORE, LINEITEM, MEMBERSHIPS],
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      claims_supported: ['iss', 'sub', 'name', 'email'],
      'https://purl.imsglobal.org/spec/lti-platform-configuration': { product_family_code: 'mock', version: '1.0', messages_supported: [{ type: 'LtiResourceLinkRequest' }, { type: 'LtiDeepLinkingRequest' }] },
    });
  });

  app.post('/register', express.json(), (req, res) => {
    if (req.headers.authorization !== `Bearer ${mock.registrationToken}`) {
      fail(res, 401, 'registration needs the registration token');
      return;
    }
    const body = req.body as Record<string, unknown>;
    mock.received.registrations.push(body);
    const uris = body.redirect_uris;
    if (typeof body.initiate_login_uri !== 'string' || typeof body.jwks_uri !== 'string' || !Array.isArray(uris) || body.token_endpoint_auth_method !== 'private_key_jwt') {
      fail(res, 400, 'initiate_login_uri, jwks_uri, redirect_uris and private_key_jwt are required');
      return;
    }
    const clientId = `client-${randomBytes(4).toString('hex')}`;
    mock.tool = { clientId, deploymentId: 'deployment-1', loginUrl: body.initiate_login_uri, redirectUris: uris.map(String), jwksUrl: body.jwks_uri, scopes: typeof body.scope === 'string' ? body.scope.split(' ') : [] };
    res.json({ ...body, client_id: clientId, [TOOL_CONFIG]: { ...(body[TOOL_CONFIG] as object), deployment_id: 'deployment-1' } });
  });

  app.get('/tool-status', (_req, res) => {
    res.json({ tool: mock.tool ?? null });
  });

  app.get('/jwks', (_req, res) => {
    res.json(mock.jwks());
  });

  app.get('/auth', async (req, res) => {
    const q = req.query as Record<string, string>;
    mock.received.authRequests.push(q);
    const tool = mock.tool;
    const launch = mock.launches.get(q.lti_message_hint ?? '');
    const problems = [
      q.scope?.split(' ').includes('openid') ? null : 'scope must include openid',
      q.response_type === 'id_token' ? null : 'response_type must be id_token',
      q.response_mode === 'form_post' ? null : 'response_mode must be form_post',
      tool && q.client_id === tool.clientId ? null : 'unknown client_id',
      tool?.redirectUris.includes(q.redirect_uri ?? '') ? null : 'redirect_uri is not registered',
      launch && q.login_hint === launch.user ? null : 'login_hint or lti_message_hint does not match a launch',
      q.nonce ? null : 'nonce is required',
      q.state ? null : 'state is required',
    ].filter((p): p is string => p !== null);
    if (problems.length > 0 || !launch) {
      res.status(400).type('text').send(problems.join('; '));
      return;
    }
    const token = await mock.idTokenFor(launch, q.nonce ?? '');
    res.type('html').send(
      `<!doctype html><html><body><form id="f" method="post" action="${esc(q.redirect_uri ?? '')}"><input type="hidden" name="id_token" value="${esc(token)}"><input type="hidden" name="state" value="${esc(q.state ?? '')}"></form><script>document.getElementById('f').submit()</script></body></html>`,
    );
  });

  app.post('/token', express.urlencoded({ extended: false }), async (req, res) => {
    const body = req.body as Record<string, string>;
    const tool = mock.tool;
    if (!tool || body.grant_type !== 'client_credentials' || body.client_assertion_type !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' || !body.client_assertion) {
      fail(res, 400, 'invalid_request');
      return;
    }
    try {
      const { payload } = await jwtVerify(body.client_assertion, toolKeys(), { issuer: tool.clientId, subject: tool.clientId, audience: `${mock.url}/token`, requiredClaims: ['jti', 'exp', 'iat'] });
      if (usedJti.has(String(payload.jti))) throw new Error('jti reused');
      usedJti.add(String(payload.jti));
    } catch (error) {
      fail(res, 401, `invalid_client: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    const scopes = (body.scope ?? '').split(' ').filter((s) => tool.scopes.includes(s));
    mock.received.tokenRequests.push({ scope: body.scope ?? '', clientId: tool.clientId });
    const token = randomBytes(16).toString('hex');
    mock.tokens.set(token, { scopes, expiresAt: Date.now() + 3_600_000 });
    res.json({ access_token: token, token_type: 'Bearer', expires_in: 3600, scope: scopes.join(' ') });
  });

  app.get('/courses/:course/lineitems', (req, res) => {
    if (!authorize(req, res, [LINEITEM, LINEITEM_READ])) return;
    const q = req.query as Record<string, string | undefined>;
    const items = [...mock.lineItems.values()].filter((i) => i.course === req.params.course && (q.resource_link_id === undefined || i.resourceLinkId === q.resource_link_id) && (q.resource_id === undefined || i.resourceId === q.resource_id));
    res.type('application/vnd.ims.lis.v2.lineitemcontainer+json').send(JSON.stringify(items));
  });

  app.post('/courses/:course/lineitems', express.json({ type: () => true }), (req, res) => {
    if (!authorize(req, res, [LINEITEM])) return;
    const body = req.body as { label?: string; scoreMaximum?: number; resourceId?: string; resourceLinkId?: string; tag?: string };
    if (typeof body.label !== 'string' || typeof body.scoreMaximum !== 'number' || body.scoreMaximum <= 0) {
      fail(res, 400, 'label and a positive scoreMaximum are required');
      return;
    }
    const item = mock.addLineItem(req.params.course, { label: body.label, scoreMaximum: body.scoreMaximum, resourceId: body.resourceId ?? null, resourceLinkId: body.resourceLinkId ?? null, tag: body.tag ?? null });
    res.status(201).type('application/vnd.ims.lis.v2.lineitem+json').send(JSON.stringify(item));
  });

  app.post('/courses/:course/lineitems/:n/scores', express.json({ type: () => true }), (req, res) => {
    if (!authorize(req, res, [SCORE])) return;
    const lineItem = `${mock.url}/courses/${req.params.course}/lineitems/${req.params.n}`;
    const body = req.body as { userId?: string; scoreGiven?: number; scoreMaximum?: number; activityProgress?: string; gradingProgress?: string; timestamp?: string };
    const last = typeof body.userId === 'string' ? mock.scoresOf(lineItem, body.userId).at(-1) : undefined;
    const refusal: [number, string] | undefined = !req.is('application/vnd.ims.lis.v1.score+json')
      ? [415, 'scores must be application/vnd.ims.lis.v1.score+json']
      : !mock.lineItems.has(lineItem)
        ? [404, 'no such line item']
        : typeof body.userId !== 'string' || typeof body.timestamp !== 'string' || typeof body.activityProgress !== 'string' || typeof body.gradingProgress !== 'string'
          ? [400, 'userId, timestamp, activityProgress and gradingProgress are required']
          : !mock.members(req.params.course).some((u) => u.sub === body.userId)
            ? [400, `user ${body.userId} is not a member of ${req.params.course}`]
            : last && Date.parse(last.timestamp) >= Date.parse(body.timestamp)
              ? [409, 'a score with a later timestamp is already stored']
              : undefined;
    if (refusal) {
      mock.received.rejectedScores.push({ lineItem, body, reason: refusal[1] });
      fail(res, refusal[0], refusal[1]);
      return;
    }
    mock.received.scores.push({ lineItem, body: body as Required<typeof body>, at: Date.now() });
    res.status(204).end();
  });

  app.get('/courses/:course/memberships', (req, res) => {
    if (!authorize(req, res, [MEMBERSHIPS])) return;
    mock.received.membershipRequests += 1;
    const course = mock.courses.get(req.params.course);
    const all = mock.members(req.params.course);
    const page = Number((req.query as Record<string, string>).page ?? '0');
    const slice = all.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE);
    if ((page + 1) * PAGE_SIZE < all.length) res.setHeader('Link', `<${mock.url}/courses/${req.params.course}/memberships?page=${page + 1}>; rel="next"`);
    res.type('application/vnd.ims.lti-nrps.v2.membershipcontainer+json').send(
      JSON.stringify({ id: req.originalUrl, context: { id: course?.id, title: course?.title }, members: slice.map((u) => ({ status: 'Active', user_id: u.sub, name: u.name, email: u.email, roles: u.roles[req.params.course] ?? [] })) }),
    );
  });

  app.post('/courses/:course/deep-link-return', express.urlencoded({ extended: false }), async (req, res) => {
    const tool = mock.tool;
    const jwt = (req.body as Record<string, string>).JWT;
    if (!tool || !jwt) {
      res.status(400).type('text').send('JWT is required');
      return;
    }
    try {
      const { payload } = await jwtVerify(jwt, toolKeys(), { issuer: tool.clientId, audience: mock.url, requiredClaims: ['nonce', 'exp', 'iat'] });
      if (payload['https://purl.imsglobal.org/spec/lti/claim/message_type'] !== 'LtiDeepLinkingResponse') throw new Error('not a deep linking response');
      if (payload['https://purl.imsglobal.org/spec/lti/claim/deployment_id'] !== tool.deploymentId) throw new Error('wrong deployment');
      const items = (payload['https://purl.imsglobal.org/spec/lti-dl/claim/content_items'] ?? []) as { type: string; title: string; url: string; custom?: Record<string, string>; lineItem?: { scoreMaximum: number; label: string; resourceId?: string; tag?: string } }[];
      mock.received.deepLinkReturns.push({ items });
      const added = items.map((item) => {
        const lineItem = item.lineItem ? mock.addLineItem(req.params.course, { label: item.lineItem.label, scoreMaximum: item.lineItem.scoreMaximum, resourceId: item.lineItem.resourceId ?? null, resourceLinkId: null, tag: item.lineItem.tag ?? null }) : null;
        const link = mock.addLink(req.params.course, item.title, item.custom ?? {}, { lineItem, url: item.url });
        if (lineItem) lineItem.resourceLinkId = link.id;
        return link;
      });
      res.type('html').send(deepLinkReturnPage(added));
    } catch (error) {
      res.status(400).type('text').send(`deep linking response refused: ${error instanceof Error ? error.message : String(error)}`);
    }
  });

  app.get('/course/:course', (req, res) => {
    const user = mock.users.get((req.query as Record<string, string | undefined>).user ?? '');
    const course = mock.courses.get(req.params.course);
    if (!user || !course) {
      res.status(404).type('text').send('no such user or course');
      return;
    }
    res.type('html').send(coursePage(mock, course, user));
  });

  app.get('/launch/:link', (req, res) => {
    res.redirect(302, mock.initiation((req.query as Record<string, string | undefined>).user ?? '', { link: req.params.link }));
  });

  app.get('/deep-link/:course', (req, res) => {
    res.redirect(302, mock.initiation((req.query as Record<string, string | undefined>).user ?? '', { deepLinking: req.params.course }));
  });

  app.get('/admin/tools', (_req, res) => {
    res.type('html').send(adminToolsPage(mock));
  });

  return app;
}
