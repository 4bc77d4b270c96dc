import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiErrorBody, JoinResponse, WorkshopView } from '../../server/protocol.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { browser, type Browser, type BrowserResponse } from '../helpers/http.ts';
import { TerminalClient } from '../helpers/terminal.ts';

/**
 * The HTTP and socket.io edge against a hostile visitor, without a cluster (issue 11): rate
 * limits per address and per learner (429 with Retry-After), the client's address behind a
 * proxy (--trust-proxy), the Secure cookie from --public-url, and the browser's protective headers.
 */

const servers: TestServer[] = [];
async function server(flags: Parameters<typeof startTestServer>[0] = {}): Promise<TestServer> {
  const started = await startTestServer({ cluster: 'embedded', clusterUp: false, ...flags });
  servers.push(started);
  return started;
}
afterAll(async () => {
  for (const s of servers) await s.close();
});

/** A browser whose every request arrives through a proxy on loopback on behalf of `address`. */
function from(s: TestServer, address: string): Browser {
  const send = browser(() => s.url);
  return Object.assign((method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => send(method, path, body, { 'x-forwarded-for': address, ...headers }), {
    cookie: send.cookie,
    setCookie: send.setCookie,
    csrfToken: send.csrfToken,
  });
}

function limited(response: BrowserResponse, saying: string): void {
  expect(response.status, response.text).toBe(429);
  expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
  expect((response.json as ApiErrorBody).error).toMatchObject({ code: 'rate_limited' });
  expect((response.json as ApiErrorBody).error.message).toContain(saying);
}

const progress = (send: Browser) => send('PUT', '/api/lessons/kubernetes-fundamentals/progress', { status: 'started' });

describe('guests, sign-ups and join codes: limited per address', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await server({ rateLimits: 'guests=5/10m,signups=3/1h,bad-joins=4/10m' });
  });

  it('makes at most N guests for one address, then answers 429 with Retry-After; another address is not affected', async () => {
    for (let i = 0; i < 5; i += 1) expect((await progress(from(s, '203.0.113.7'))).status).toBe(200);
    limited(await progress(from(s, '203.0.113.7')), 'too many new guest sessions from your address: at most 5 in 10 minutes');
    expect((await progress(from(s, '198.51.100.20'))).status).toBe(200);
    // A guest who already has a session is not a new guest.
    const known = from(s, '198.51.100.21');
    for (let i = 0; i < 8; i += 1) expect((await progress(known)).status).toBe(200);
  });

  it('counts an IPv6 visitor by their /64, so rotating addresses inside it does not help', async () => {
    for (let i = 1; i <= 5; i += 1) expect((await progress(from(s, `2001:db8:1:2::${i.toString(16)}`))).status).toBe(200);
    limited(await progress(from(s, '2001:db8:1:2:ffff::9')), 'new guest sessions');
    expect((await progress(from(s, '2001:db8:1:3::1'))).status).toBe(200);
  });

  it('limits sign-ups per address', async () => {
    for (let i = 0; i < 3; i += 1) expect((await from(s, '192.0.2.50')('POST', '/api/auth/register', { username: `signup-${i}`, password: 'correct horse battery' })).status).toBe(201);
    limited(await from(s, '192.0.2.50')('POST', '/api/auth/register', { username: 'signup-x', password: 'correct horse battery' }), 'too many sign-ups from your address');
  });

  it('limits guessing join codes per address', async () => {
    for (let i = 0; i < 4; i += 1) expect((await from(s, '192.0.2.60')('POST', '/api/join', { code: `ZZZZ-ZZ${i}Z`, displayName: 'guesser' })).status).toBe(404);
    limited(await from(s, '192.0.2.60')('POST', '/api/join', { code: 'ZZZZ-ZZZZ', displayName: 'guesser' }), 'join attempts with a wrong code');
  });
});

describe("a learner's costly actions: limited per learner, and per address for guests and accounts", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await server({ rateLimits: 'sandboxes=3/1m,sandboxes-address=5/1m,checks=2/1m,terminals=2/1m' });
  });

  it('refuses a client-chosen size: the lab (or the instructor) decides', async () => {
    const response = await browser(() => s.url)('POST', '/api/sandboxes', { lesson: 'kubernetes-fundamentals', size: 'large' });
    expect(response.status).toBe(400);
    expect((response.json as ApiErrorBody).error.issues).toEqual([{ field: 'body.size', message: "is chosen by the lesson's lab (or the workshop's instructor), not by the request" }]);
  });

  it('limits sandbox requests per learner, then per address', async () => {
    const one = from(s, '203.0.113.30');
    // Without a cluster each request fails after the limiter: 503, until the limit answers first.
    for (let i = 0; i < 3; i += 1) expect((await one('POST', '/api/sandboxes', { lesson: 'kubernetes-fundamentals' })).status).toBe(503);
    limited(await one('POST', '/api/sandboxes', { lesson: 'kubernetes-fundamentals' }), 'too many sandbox requests from you: at most 3 in a minute');
    const two = from(s, '203.0.113.30');
    for (let i = 0; i < 2; i += 1) expect((await two('POST', '/api/sandboxes', { lesson: 'kubernetes-fundamentals' })).status).toBe(503);
    limited(await two('POST', '/api/sandboxes', { lesson: 'kubernetes-fundamentals' }), 'too many sandbox requests from your address: at most 5 in a minute');
  });

  it('limits check runs per learner', async () => {
    const send = from(s, '203.0.113.31');
    for (let i = 0; i < 2; i += 1) expect((await send('POST', '/api/sandboxes/kd-none/checks', {})).status).not.toBe(429);
    limited(await send('POST', '/api/sandboxes/kd-none/checks', {}), 'too many check runs from you');
  });

  it('limits terminal opens per learner, over socket.io, with the time to wait', async () => {
    const send = from(s, '203.0.113.32');
    await progress(send);
    const client = new TerminalClient(s.url, send.cookie());
    try {
      for (let i = 0; i < 2; i += 1) {
        const reply = await client.attach('kd-none');
        expect(reply.ok ? 'opened' : reply.error).not.toContain('too many');
      }
      const reply = await client.attach('kd-none');
      expect(reply).toMatchObject({ ok: false });
      if (!reply.ok) {
        expect(reply.error).toContain('too many terminal opens from you: at most 2 in a minute');
        expect(reply.retryAfterSeconds).toBeGreaterThan(0);
      }
    } finally {
      client.close();
    }
  });

  it("tags a participant's sandbox requests with the workshop, outside their address's ceiling", async () => {
    const instructor = browser(() => s.url);
    const token = await s.services.learners.issueSetupToken();
    expect((await instructor('POST', '/api/auth/setup', { token, username: 'teacher', password: 'correct horse battery' })).status).toBe(201);
    const created = await instructor('POST', '/api/workshops', {
      title: 'NAT classroom',
      lessons: ['kubernetes-fundamentals'],
      seats: 10,
      startsAt: new Date(Date.now() - 60_000).toISOString(),
      endsAt: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect(created.status).toBe(201);
    const { code } = created.json as WorkshopView;
    // Ten participants behind one address: each may make its own requests; the address ceiling (5) does not apply.
    for (let i = 0; i < 10; i += 1) {
      const participant = from(s, '198.51.100.99');
      const joined = await participant('POST', '/api/join', { code, displayName: `student ${i}` });
      expect(joined.status).toBe(201);
      expect((joined.json as JoinResponse).learner.kind).toBe('participant');
      expect((await participant('POST', '/api/sandboxes', { lesson: 'kubernetes-fundamentals' })).status).toBe(503);
    }
  });
});

describe('behind a reverse proxy (--trust-proxy)', () => {
  it('by default believes X-Forwarded-For from loopback: one client reaching the limit does not lock out the others', async () => {
    const s = await server({ rateLimits: 'guests=2/10m' });
    for (let i = 0; i < 2; i += 1) await progress(from(s, '203.0.113.1'));
    limited(await progress(from(s, '203.0.113.1')), 'new guest sessions');
    expect((await progress(from(s, '203.0.113.2'))).status).toBe(200);
  });

  it('with --trust-proxy 1 takes the address the nearest proxy appended, not one the client made up', async () => {
    const s = await server({ rateLimits: 'guests=2/10m', trustProxy: '1' });
    // The client sends its own X-Forwarded-For; the proxy appends the real address after it.
    for (let i = 0; i < 2; i += 1) await progress(from(s, `10.9.9.${i}, 203.0.113.5`));
    limited(await progress(from(s, '10.9.9.77, 203.0.113.5')), 'new guest sessions');
  });

  it('with --trust-proxy none ignores X-Forwarded-For altogether', async () => {
    const s = await server({ rateLimits: 'guests=2/10m', trustProxy: 'none' });
    for (let i = 0; i < 2; i += 1) await progress(from(s, `203.0.113.${10 + i}`));
    limited(await progress(from(s, '203.0.113.99')), 'new guest sessions');
  });
});

describe('what the browser is told', () => {
  it('sends a Content-Security-Policy, HSTS and the other protective headers', async () => {
    const s = await server();
    const response = await fetch(`${s.url}/`);
    const csp = response.headers.get('content-security-policy') ?? '';
    for (const directive of ["default-src 'self'", "script-src 'self' 'wasm-unsafe-eval';", "object-src 'none'", "frame-ancestors 'none'", "connect-src 'self'", "base-uri 'self'"]) expect(csp).toContain(directive);
    // No eval of JavaScript and no inline script (WebAssembly compilation only, for the replay player).
    expect(csp).not.toContain("'unsafe-eval'");
    expect(csp).not.toMatch(/script-src[^;]*'unsafe-inline'/);
    expect(csp).not.toContain('upgrade-insecure-requests');
    expect(response.headers.get('strict-transport-security')).toBe('max-age=31536000');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('same-origin');
  });

  it('marks cookies Secure when the public URL is https, even when the proxy in front speaks http to us', async () => {
    const s = await server({ publicUrl: 'https://kubedojo.example.com' });
    const response = await progress(browser(() => s.url));
    const cookies = response.headers.getSetCookie();
    expect(cookies.find((c) => c.startsWith('kd_session='))).toMatch(/; Secure/);
    expect((await fetch(`${s.url}/api/session`)).headers.getSetCookie().find((c) => c.startsWith('kd_csrf='))).toMatch(/; Secure/);
    expect((await fetch(`${s.url}/`)).headers.get('content-security-policy')).toContain('upgrade-insecure-requests');
    // Without an https public URL a plain-http request gets no Secure flag (it would never come back).
    const plain = await server();
    expect((await progress(browser(() => plain.url))).headers.getSetCookie().find((c) => c.startsWith('kd_session='))).not.toMatch(/Secure/);
  });
});
