import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeepLinkChoiceResponse, DeepLinkOptionsResponse, LtiAdminResponse, LtiRegistrationLinkResponse } from '../../../server/protocol.ts';
import { startTestServer, type TestServer } from '../../helpers/app.ts';
import { browser, type Browser } from '../../helpers/http.ts';
import { asLaunched, launch } from '../../helpers/lti/launch.ts';
import { MockPlatform, ROLE } from '../../helpers/lti/mock-platform.ts';

/**
 * An LMS installs kubedojo from one URL (LTI Dynamic Registration), then an instructor picks an
 * exercise from the catalog (Deep Linking 2.0): the LMS gets a signed response it verifies with
 * kubedojo's published keys, and makes a link with a line item whose maximum is the exercise's checks.
 */

let server: TestServer;
let mock: MockPlatform;
let admin: Browser;

beforeAll(async () => {
  server = await startTestServer({ cluster: 'embedded', clusterUp: false, ltiAllowHttp: true });
  mock = await MockPlatform.start();
  mock.addCourse('dl-1', 'Deep linking course');
  mock.addUser('prof', 'Prof Ada', { 'dl-1': [ROLE.instructor] });
  mock.addUser('stu', 'Stu Dent', { 'dl-1': [ROLE.learner] });
  admin = browser(() => server.url);
  expect((await admin('POST', '/api/auth/setup', { token: await server.services.learners.issueSetupToken(), username: 'lti-admin', password: 'correct horse battery' })).status).toBe(201);
});

afterAll(async () => {
  await mock.close();
  await server.close();
});

async function registrationLink(): Promise<string> {
  const made = await admin('POST', '/api/admin/lti/registration-links', {});
  expect(made.status).toBe(201);
  return (made.json as LtiRegistrationLinkResponse).url;
}

function open(link: string, registrationToken = mock.registrationToken): Promise<Response> {
  const url = new URL(link);
  url.searchParams.set('openid_configuration', `${mock.url}/.well-known/openid-configuration`);
  url.searchParams.set('registration_token', registrationToken);
  return fetch(url, { headers: { accept: 'text/html' } });
}

describe('dynamic registration', () => {
  it('refuses a link kubedojo did not make, and leaves no platform behind', async () => {
    const forged = await open(`${server.url}/lti/register/${'x'.repeat(32)}`);
    expect(forged.status).toBe(403);
    expect(await forged.text()).toContain('registration link was used already or has expired');
    expect(((await admin('GET', '/api/admin/lti')).json as LtiAdminResponse).platforms).toEqual([]);
  });

  it('registers kubedojo with the LMS from one link, which then works no more', async () => {
    const link = await registrationLink();
    expect(link).toMatch(new RegExp(`^${server.url}/lti/register/[A-Za-z0-9_-]{32}$`));
    const page = await open(link);
    expect(page.status).toBe(200);
    // The LMS frames this page before kubedojo knows it.
    expect(page.headers.get('content-security-policy')?.split(';')).toContain('frame-ancestors *');
    const html = await page.text();
    expect(html).toContain('kubedojo is registered with mock (localhost');
    // The page's script (a file of kubedojo's: the CSP allows no inline script) closes the LMS's frame.
    expect(html).toContain('<script src="/lti/registered.js"></script>');
    expect(await (await fetch(`${server.url}/lti/registered.js`)).text()).toContain("postMessage({subject:'org.imsglobal.lti.close'}");

    const sent = mock.received.registrations[0] ?? {};
    expect(sent).toMatchObject({
      initiate_login_uri: `${server.url}/lti/login`,
      redirect_uris: [`${server.url}/lti/launch`],
      jwks_uri: `${server.url}/.well-known/jwks.json`,
      token_endpoint_auth_method: 'private_key_jwt',
      grant_types: ['implicit', 'client_credentials'],
    });
    expect(String(sent.scope)).toContain('https://purl.imsglobal.org/spec/lti-ags/scope/score');
    expect(JSON.stringify(sent)).toContain('LtiDeepLinkingRequest');

    const { platforms } = (await admin('GET', '/api/admin/lti')).json as LtiAdminResponse;
    expect(platforms).toHaveLength(1);
    expect(platforms[0]).toMatchObject({ issuer: mock.url, clientId: mock.tool?.clientId, deployments: ['deployment-1'], registeredBy: 'dynamic', authUrl: `${mock.url}/auth` });
    expect((await open(link)).status).toBe(403);
  });

  it('says so when the LMS refuses the registration, and the link can be used again', async () => {
    const link = await registrationLink();
    const refused = await open(link, 'not-the-token');
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('The LMS refused kubedojo&#39;s registration');
    expect((await open(link)).status).toBe(200);
  });
});

describe('deep linking an exercise', () => {
  it('lets an instructor pick an exercise; the LMS verifies the signed answer and makes a link with a line item of its checks', async () => {
    const { path, token } = await launch(server.url, mock, 'prof', { deepLinking: 'dl-1' });
    expect(path).toMatch(/^\/lti\/deep-link\/[0-9a-f-]{36}$/);
    const id = path.split('/').at(-1) ?? '';
    const as = asLaunched(server.url, token);
    const options = (await as('GET', `/api/lti/deep-links/${id}`)).json as DeepLinkOptionsResponse;
    expect(options.acceptMultiple).toBe(true);
    expect(options.items.find((i) => i.lesson === 'kubernetes-fundamentals' && i.exercise === 'deploy-web')).toMatchObject({ title: 'Run three web replicas with a Deployment', scoreMaximum: 2 });
    expect(options.items.find((i) => i.lesson === 'kubernetes-fundamentals' && i.exercise === null)?.scoreMaximum).toBeGreaterThan(10);

    const bad = await as('POST', `/api/lti/deep-links/${id}`, { items: [{ lesson: 'kubernetes-fundamentals', exercise: 'no-such-exercise' }] });
    expect(bad.status).toBe(400);
    const chosen = await as('POST', `/api/lti/deep-links/${id}`, { items: [{ lesson: 'kubernetes-fundamentals', exercise: 'deploy-web' }] });
    expect(chosen.status).toBe(200);
    const { returnUrl, jwt } = chosen.json as DeepLinkChoiceResponse;
    expect(returnUrl).toBe(`${mock.url}/courses/dl-1/deep-link-return`);
    // The page posts the JWT to the LMS, which verifies it with kubedojo's JWKS.
    const returned = await fetch(returnUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ JWT: jwt }) });
    expect(returned.status).toBe(200);
    const made = [...mock.links.values()].find((l) => l.course === 'dl-1');
    expect(made).toMatchObject({ title: 'Kubernetes Fundamentals: Run three web replicas with a Deployment', custom: { kubedojo_lesson: 'kubernetes-fundamentals', kubedojo_exercise: 'deploy-web' } });
    expect(mock.lineItems.get(made?.lineItem ?? '')).toMatchObject({ scoreMaximum: 2, resourceId: 'kubernetes-fundamentals/deploy-web', tag: 'kubedojo' });
    // The choice is sent once.
    expect((await as('POST', `/api/lti/deep-links/${id}`, { items: [{ lesson: 'kubernetes-fundamentals', exercise: 'deploy-web' }] })).status).toBe(404);

    // A learner who opens the new link lands on that exercise.
    const learner = await launch(server.url, mock, 'stu', { link: made?.id ?? '' });
    expect([learner.path, learner.anchor]).toEqual(['/lessons/kubernetes-fundamentals', 'exercise-deploy-web']);
  });

  it('is for instructors only', async () => {
    const response = await fetch(mock.initiation('stu', { deepLinking: 'dl-1' }), { redirect: 'manual' });
    const auth = await fetch(response.headers.get('location') ?? '', { redirect: 'manual' });
    const html = await auth.text();
    const value = (name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1] ?? '';
    const launched = await fetch(`${server.url}/lti/launch`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' }, body: new URLSearchParams({ id_token: value('id_token'), state: value('state') }) });
    expect(launched.status).toBe(403);
    expect(await launched.text()).toContain('Only the instructors of a course pick kubedojo content');
  });
});

describe('platforms added by an admin', () => {
  it('are validated field by field, listed, and removed', async () => {
    const bad = await admin('POST', '/api/admin/lti/platforms', { name: 'x', issuer: 'not a url', clientId: '', deployments: [], authUrl: 'https://a.example/auth', tokenUrl: 'https://a.example/token', jwksUrl: 'https://a.example/jwks' });
    expect(bad.status).toBe(400);
    const fields = ((bad.json as { error: { issues: { field: string }[] } }).error.issues).map((i) => i.field).sort();
    expect(fields).toEqual(['body.clientId', 'body.deployments', 'body.issuer']);
    const made = await admin('POST', '/api/admin/lti/platforms', { name: 'Moodle', issuer: 'https://moodle.school.example', clientId: 'abc', deployments: ['1'], authUrl: 'https://moodle.school.example/mod/lti/auth.php', tokenUrl: 'https://moodle.school.example/mod/lti/token.php', jwksUrl: 'https://moodle.school.example/mod/lti/certs.php' });
    expect(made.status).toBe(201);
    const id = (made.json as { id: string }).id;
    expect(((await admin('GET', '/api/admin/lti')).json as LtiAdminResponse).platforms.map((p) => p.name)).toContain('Moodle');
    expect((await admin('DELETE', `/api/admin/lti/platforms/${id}`)).status).toBe(204);
    expect((await browser(() => server.url)('GET', '/api/admin/lti')).status).toBe(401);
  });
});
