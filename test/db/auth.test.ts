import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOGIN_LIMITS } from '../../server/auth/auth-service.ts';
import type { ApiErrorBody, LearnerView, ProgressResponse, SessionResponse } from '../../server/protocol.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { browser } from '../helpers/http.ts';
import { DIALECTS, testDatabases } from '../helpers/databases.ts';

/**
 * Accounts and sessions without a cluster: the first admin, sign-in and its limits, roles, and
 * the attacks a web session must withstand (fixation, CSRF, brute force), over HTTP, on both
 * databases.
 */

const databases = testDatabases();
const password = 'correct horse battery';

describe.each(DIALECTS)('accounts on %s', (dialect) => {
  let server: TestServer;
  const url = () => server.url;

  beforeAll(async () => {
    const target = await databases.target(dialect);
    server = await startTestServer({ cluster: 'embedded', clusterUp: false, ...(target.dialect === 'postgres' ? { databaseUrl: target.url } : {}) });
  });
  afterAll(async () => {
    await server.close();
  });

  async function admin(): Promise<ReturnType<typeof browser>> {
    const send = browser(url);
    if ((await send('POST', '/api/auth/login', { username: 'root-admin', password })).status === 200) return send;
    const token = await server.services.learners.issueSetupToken();
    const created = await send('POST', '/api/auth/setup', { token, username: 'root-admin', password, displayName: 'Root' });
    expect(created.status).toBe(201);
    return send;
  }

  describe('the first admin', () => {
    it('is made once with the one-time setup token', async () => {
      const anyone = browser(url);
      expect(((await anyone('GET', '/api/session')).json as SessionResponse).setupNeeded).toBe(true);
      const wrong = await anyone('POST', '/api/auth/setup', { token: 'guess', username: 'mallory', password });
      expect(wrong.status).toBe(403);

      const token = await server.services.learners.issueSetupToken();
      const created = await anyone('POST', '/api/auth/setup', { token, username: 'Root-Admin', password, displayName: 'Root' });
      expect(created.status).toBe(201);
      expect(created.json).toMatchObject({ kind: 'account', role: 'admin', username: 'root-admin' });
      expect(((await anyone('GET', '/api/session')).json as SessionResponse).setupNeeded).toBe(false);

      // The token worked once; with an admin in place no token works.
      const again = await browser(url)('POST', '/api/auth/setup', { token, username: 'second', password });
      expect(again.status).toBe(403);
    });
  });

  describe('signing in', () => {
    it('rotates the session on sign-in: a planted cookie never becomes the account', async () => {
      await admin();
      // The attacker gets a guest session of their own and plants its token in the victim's browser.
      const attacker = browser(url);
      await attacker('PUT', '/api/lessons/kubernetes-fundamentals/progress', { status: 'started' });
      const planted = /kd_session=([^;]+)/.exec(attacker.cookie())?.[1] ?? '';
      expect(planted).not.toBe('');
      const victim = browser(url);
      victim.setCookie('kd_session', planted);
      const signedIn = await victim('POST', '/api/auth/login', { username: 'root-admin', password });
      expect(signedIn.status).toBe(200);
      expect(/kd_session=([^;]+)/.exec(victim.cookie())?.[1]).not.toBe(planted);
      // The attacker's token is now worthless, and never was the admin's.
      const theirs = (await attacker('GET', '/api/session')).json as SessionResponse;
      expect(theirs.learner).toBeNull();
      expect(((await victim('GET', '/api/session')).json as SessionResponse).learner?.role).toBe('admin');
    });

    it('answers the same for an unknown user and a wrong password, and blocks brute force', async () => {
      await browser(url)('POST', '/api/auth/register', { username: 'target', password });
      const mallory = browser(url);
      const unknown = await mallory('POST', '/api/auth/login', { username: 'nobody-here', password });
      const wrong = await mallory('POST', '/api/auth/login', { username: 'target', password: 'wrong password!' });
      expect(unknown.status).toBe(401);
      expect(wrong.status).toBe(401);
      expect((unknown.json as ApiErrorBody).error.message).toBe((wrong.json as ApiErrorBody).error.message);

      for (let i = 1; i < LOGIN_LIMITS.perAccount; i += 1) expect((await mallory('POST', '/api/auth/login', { username: 'target', password: `guess ${i}` })).status).toBe(401);
      // Past the limit even the right password is refused for a while.
      const blocked = await mallory('POST', '/api/auth/login', { username: 'target', password });
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(60);
      expect((blocked.json as ApiErrorBody).error.code).toBe('rate_limited');
    });

    it('signs out for good', async () => {
      const send = await admin();
      const token = /kd_session=([^;]+)/.exec(send.cookie())?.[1] ?? '';
      expect((await send('POST', '/api/auth/logout')).status).toBe(204);
      const replay = browser(url);
      replay.setCookie('kd_session', token);
      expect(((await replay('GET', '/api/session')).json as SessionResponse).learner).toBeNull();
    });
  });

  describe('accounts and roles', () => {
    it('keeps a guest’s progress when they sign up', async () => {
      const guest = browser(url);
      await guest('PUT', '/api/lessons/kubernetes-fundamentals/progress', { status: 'started' });
      const before = ((await guest('GET', '/api/session')).json as SessionResponse).learner?.id;
      const signedUp = await guest('POST', '/api/auth/register', { username: 'grace', password, displayName: 'Grace H.' });
      expect(signedUp.status).toBe(201);
      expect((signedUp.json as LearnerView).id).toBe(before);
      const progress = (await guest('GET', '/api/progress')).json as ProgressResponse;
      expect(progress.lessons.find((l) => l.slug === 'kubernetes-fundamentals')?.progress.status).toBe('started');
      const taken = await browser(url)('POST', '/api/auth/register', { username: 'GRACE', password });
      expect(taken.status).toBe(409);
    });

    it('lets only admins manage accounts and only instructors run workshops', async () => {
      const root = await admin();
      const made = await root('POST', '/api/admin/accounts', { username: 'teacher', password, role: 'instructor' });
      expect(made.status).toBe(201);
      const learner = browser(url);
      await learner('POST', '/api/auth/register', { username: 'student', password });
      const guest = browser(url);

      expect((await guest('GET', '/api/admin/accounts')).status).toBe(401);
      expect((await learner('GET', '/api/admin/accounts')).status).toBe(403);
      expect((await learner('GET', '/api/workshops')).status).toBe(403);
      expect((await learner('POST', '/api/workshops', { title: 'x', lessons: ['kubernetes-fundamentals'], seats: 1, startsAt: new Date().toISOString(), endsAt: new Date(Date.now() + 3_600_000).toISOString() })).status).toBe(403);
      // An admin cannot demote themselves by accident.
      const me = ((await root('GET', '/api/session')).json as SessionResponse).learner;
      expect((await root('PUT', `/api/admin/accounts/${me?.id ?? ''}/role`, { role: 'learner' })).status).toBe(403);
    });

    it('rejects malformed bodies naming the field', async () => {
      const send = browser(url);
      for (const [path, body, field] of [
        ['/api/auth/login', { username: 'a b', password: 'x' }, 'body.username'],
        ['/api/auth/login', { username: 'ada' }, 'body.password'],
        ['/api/auth/register', { username: 'ada-l', password: 'short' }, 'body.password'],
        ['/api/auth/register', { username: 'ada-l', password, role: 'admin' }, 'body'],
        ['/api/join', { code: 'x', displayName: '' }, 'body.code'],
      ] as const) {
        const response = await send('POST', path, body);
        expect(response.status, `${path} ${JSON.stringify(body)}`).toBe(400);
        expect((response.json as ApiErrorBody).error.issues?.map((i) => i.field)).toContain(field);
      }
    });
  });

  describe('cross-site request forgery', () => {
    it('refuses state changes without the CSRF token, with a wrong one, or from another site', async () => {
      const victim = browser(url);
      await victim('GET', '/api/session');
      const bare = browser(url, { csrf: false });
      bare.setCookie('kd_csrf', victim.csrfToken());
      const noHeader = await bare('PUT', '/api/lessons/kubernetes-fundamentals/progress', { status: 'started' });
      expect(noHeader.status).toBe(403);
      expect((noHeader.json as ApiErrorBody).error.message).toMatch(/CSRF token/);
      const wrongToken = await bare('PUT', '/api/lessons/kubernetes-fundamentals/progress', { status: 'started' }, { 'x-csrf-token': 'forged' });
      expect(wrongToken.status).toBe(403);
      const crossSite = await victim('PUT', '/api/lessons/kubernetes-fundamentals/progress', { status: 'started' }, { origin: 'https://evil.example' });
      expect(crossSite.status).toBe(403);
      expect((await victim('PUT', '/api/lessons/kubernetes-fundamentals/progress', { status: 'started' })).status).toBe(200);
    });

    it('sets the session cookie httpOnly and SameSite, the CSRF cookie readable by the page', async () => {
      const send = browser(url);
      const response = await send('PUT', '/api/lessons/kubernetes-fundamentals/progress', { status: 'started' });
      const cookies = response.headers.getSetCookie();
      expect(cookies.find((c) => c.startsWith('kd_session='))).toMatch(/HttpOnly; SameSite=Lax/);
      const first = await fetch(`${url()}/api/session`);
      expect(first.headers.getSetCookie().find((c) => c.startsWith('kd_csrf='))).toMatch(/SameSite=Strict/);
      expect(first.headers.getSetCookie().find((c) => c.startsWith('kd_csrf='))).not.toMatch(/HttpOnly/);
    });
  });
});
