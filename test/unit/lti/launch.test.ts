import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RosterResponse, SessionResponse, WorkshopView } from '../../../server/protocol.ts';
import { startTestServer, type TestServer } from '../../helpers/app.ts';
import { asLaunched, connectedPlatform, course, landed, launch, launchForm, postLaunch } from '../../helpers/lti/launch.ts';
import type { MockPlatform } from '../../helpers/lti/mock-platform.ts';

/**
 * LTI 1.3 launches through the real protocol, against a mock LMS with its own keys: a learner
 * lands on the lesson at the exercise, an instructor in the course's room with its roster, and
 * every attack the issue lists is refused with a page that says why, and no session.
 */

let server: TestServer;
let mock: MockPlatform;
let exerciseLink: string;

beforeAll(async () => {
  server = await startTestServer({ cluster: 'embedded', clusterUp: false, ltiAllowHttp: true });
  ({ mock } = await connectedPlatform(server.url, server.services.lti));
  exerciseLink = course(mock, 'k8s-101', { lesson: 'kubernetes-fundamentals', exercise: 'deploy-web', scoreMaximum: 2, teacher: 'teacher-1', learners: ['ana', 'ben', 'cy'] }).link.id;
});

afterAll(async () => {
  await mock.close();
  await server.close();
});

/** A launch that must be refused: 4xx, an HTML page saying why, and no landing (no ticket, no session). */
async function refused(response: Response, status: number, says: RegExp): Promise<void> {
  expect(response.status).toBe(status);
  expect(response.headers.get('location')).toBeNull();
  expect(response.headers.get('content-type')).toMatch(/^text\/html/);
  const page = await response.text();
  expect(page).toMatch(says);
  expect(page).not.toMatch(/kd-ticket/);
}

describe('a launch', () => {
  it('lands a learner on the lesson at the linked exercise, with a session for the framed page and no cookie', async () => {
    const form = await launchForm(mock, 'ana', { link: exerciseLink });
    const response = await postLaunch(server.url, form, form.cookie);
    expect(response.headers.getSetCookie().some((c) => c.startsWith('kd_session='))).toBe(false);
    const { path, anchor, token } = await landed(server.url, response);
    expect(path).toBe('/lessons/kubernetes-fundamentals');
    expect(anchor).toBe('exercise-deploy-web');
    const session = (await asLaunched(server.url, token)('GET', '/api/session')).json as SessionResponse;
    expect(session.learner).toMatchObject({ displayName: 'Learner ana', kind: 'participant', role: 'learner' });
    // The id_token was signed by the mock's key, fetched from its JWKS.
    expect(mock.received.authRequests.at(-1)).toMatchObject({ client_id: 'kubedojo-client', response_mode: 'form_post', prompt: 'none', login_hint: 'ana' });
  });

  it('gives the same learner back for the same LMS user, and a ticket works once', async () => {
    const first = await launch(server.url, mock, 'ben', { link: exerciseLink });
    const again = await launch(server.url, mock, 'ben', { link: exerciseLink });
    const who = async (token: string) => ((await asLaunched(server.url, token)('GET', '/api/session')).json as SessionResponse).learner?.id;
    expect(await who(first.token)).toBe(await who(again.token));
    const form = await launchForm(mock, 'ben', { link: exerciseLink });
    const location = (await postLaunch(server.url, form, form.cookie)).headers.get('location') ?? '';
    const ticket = new URLSearchParams(location.split('#')[1]).get('kd-ticket');
    const exchange = () => fetch(`${server.url}/api/lti/session`, { method: 'POST', headers: { 'content-type': 'application/json', origin: server.url }, body: JSON.stringify({ ticket }) });
    expect((await exchange()).status).toBe(200);
    expect((await exchange()).status).toBe(401);
  });

  it('lands an instructor in the course room, whose roster (NRPS, paged) lists who has not started', async () => {
    const { path, token } = await launch(server.url, mock, 'teacher-1', { link: exerciseLink });
    expect(path).toMatch(/^\/workshops\/[0-9a-f-]{36}$/);
    const as = asLaunched(server.url, token);
    const session = (await as('GET', '/api/session')).json as SessionResponse;
    expect(session.learner).toMatchObject({ kind: 'account', role: 'instructor', displayName: 'Teacher teacher-1' });
    const id = path.split('/').at(-1) ?? '';
    const room = (await as('GET', `/api/workshops/${id}`)).json as WorkshopView;
    expect(room).toMatchObject({ title: 'Course k8s-101', lessons: [{ slug: 'kubernetes-fundamentals', title: 'Kubernetes Fundamentals' }], seats: 0, state: 'running' });
    // Ana and Ben launched before the room existed: they are its learners (the grid's rows; the grid itself needs the cluster).
    expect((await server.services.lti.courseLearners(id)).map((l) => [l.displayName, l.workshopId]).sort()).toEqual([
      ['Learner ana', id],
      ['Learner ben', id],
    ]);
    const roster = (await as('GET', `/api/lti/workshops/${id}/roster`)).json as RosterResponse;
    expect(roster.problem).toBeNull();
    expect(mock.received.membershipRequests).toBeGreaterThanOrEqual(2); // four members, two per page
    const learners = roster.members.filter((m) => !m.instructor);
    expect(learners.filter((m) => m.status === 'not-started').map((m) => m.name)).toEqual(['Learner cy']);
    expect(learners.filter((m) => m.status === 'started').map((m) => m.name).sort()).toEqual(['Learner ana', 'Learner ben']);
    // A learner's session is no instructor's.
    const ana = await launch(server.url, mock, 'ana', { link: exerciseLink });
    expect((await asLaunched(server.url, ana.token)('GET', `/api/lti/workshops/${id}/roster`)).status).toBe(401);
  });

  it('lets a registered LMS frame kubedojo, and nobody else', async () => {
    const page = await fetch(`${server.url}/lessons/kubernetes-fundamentals`);
    // One policy for the whole page; its frame-ancestors names the registered LMS only.
    expect(page.headers.get('content-security-policy')?.split(';')).toContain(`frame-ancestors ${mock.url}`);
    expect(page.headers.get('x-frame-options')).toBeNull();
  });
});

describe('attacks on the launch, each refused', () => {
  it('a replayed id_token: the same form posted twice, and the token under a fresh state (nonce reuse)', async () => {
    const form = await launchForm(mock, 'ana', { link: exerciseLink });
    expect((await postLaunch(server.url, form, form.cookie)).status).toBe(303);
    await refused(await postLaunch(server.url, form, form.cookie), 403, /already used: a replayed id_token/);
    const fresh = await launchForm(mock, 'ana', { link: exerciseLink });
    await refused(await postLaunch(server.url, { idToken: form.idToken, state: fresh.state }, fresh.cookie), 403, /Nonce mismatch/);
  });

  it('a token signed by a key the platform does not publish', async () => {
    mock.tamper = { key: 'rogue' };
    try {
      const form = await launchForm(mock, 'ana', { link: exerciseLink });
      await refused(await postLaunch(server.url, form, form.cookie), 403, /signed with a key that Mock LMS does not publish/);
    } finally {
      mock.tamper = {};
    }
  });

  it('a token for another tool (wrong aud)', async () => {
    mock.tamper = { claims: (c) => ({ ...c, aud: 'some-other-tool', azp: 'some-other-tool' }) };
    try {
      const form = await launchForm(mock, 'ana', { link: exerciseLink });
      await refused(await postLaunch(server.url, form, form.cookie), 403, /addressed to another tool/);
    } finally {
      mock.tamper = {};
    }
  });

  it('an expired token', async () => {
    mock.tamper = { expiresIn: -120 };
    try {
      const form = await launchForm(mock, 'ana', { link: exerciseLink });
      await refused(await postLaunch(server.url, form, form.cookie), 403, /has expired/);
    } finally {
      mock.tamper = {};
    }
  });

  it('a launch for a deployment that is not registered', async () => {
    mock.tamper = { claims: (c) => ({ ...c, 'https://purl.imsglobal.org/spec/lti/claim/deployment_id': 'deployment-of-someone-else' }) };
    try {
      const form = await launchForm(mock, 'ana', { link: exerciseLink });
      await refused(await postLaunch(server.url, form, form.cookie), 403, /deployment &quot;deployment-of-someone-else&quot; of Mock LMS .* is not registered/);
    } finally {
      mock.tamper = {};
    }
  });

  it('a state that kubedojo never issued, and a state from another login of this browser', async () => {
    const form = await launchForm(mock, 'ana', { link: exerciseLink });
    await refused(await postLaunch(server.url, { idToken: form.idToken, state: 'a-state-made-up-by-an-attacker' }), 403, /State mismatch: this launch was not started by a kubedojo login/);
    // The attacker's (valid) form posted into a browser that started its own login.
    const victim = await launchForm(mock, 'ben', { link: exerciseLink });
    await refused(await postLaunch(server.url, form, victim.cookie), 403, /State mismatch: this browser started a different LTI login/);
  });
});

describe('a misconfigured platform gets a page that says what is wrong', () => {
  it('names an unknown issuer at login', async () => {
    const response = await fetch(`${server.url}/lti/login?iss=${encodeURIComponent('https://unknown.example')}&login_hint=x&target_link_uri=${encodeURIComponent(`${server.url}/lti/launch`)}`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    await refused(response, 400, /No LMS with issuer &quot;https:\/\/unknown.example&quot; is registered/);
  });

  it('names the missing fields of a login and of a launch', async () => {
    await refused(await fetch(`${server.url}/lti/login?iss=x`, { headers: { accept: 'text/html' } }), 400, /login_hint/);
    const launchPost = await fetch(`${server.url}/lti/launch`, { method: 'POST', headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' }, body: 'id_token=abc' });
    await refused(launchPost, 400, /body\.state<\/code> is required/);
  });

  it('refuses a target outside kubedojo (no open redirect)', async () => {
    const response = await fetch(`${server.url}/lti/login?iss=${encodeURIComponent(mock.url)}&login_hint=ana&target_link_uri=${encodeURIComponent('https://evil.example/')}`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    await refused(response, 400, /is not a kubedojo URL/);
  });
});
