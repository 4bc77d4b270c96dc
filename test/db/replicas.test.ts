import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckRunView } from '../../server/protocol.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { browser, type Browser } from '../helpers/http.ts';
import { testDatabases } from '../helpers/databases.ts';

/**
 * Two kubedojo replicas (two platforms, each with its own HTTP and socket.io server on port 0)
 * sharing one real PostgreSQL database: what one writes the other reads, and socket.io rooms,
 * fetchSockets and serverSideEmit span both, through @socket.io/postgres-adapter, and a
 * visitor meets one rate limit, not one per replica.
 */

const databases = testDatabases();
let a: TestServer;
let b: TestServer;
const sockets: Socket[] = [];

beforeAll(async () => {
  const target = await databases.target('postgres');
  if (target.dialect !== 'postgres') throw new Error('unreachable');
  const flags = { cluster: 'embedded', clusterUp: false, databaseUrl: target.url, rateLimits: 'guests=4/10m' } as const;
  [a, b] = await Promise.all([startTestServer(flags), startTestServer(flags)]);
});

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await Promise.all([a.close(), b.close()]);
});

/** A browser whose requests arrive through a proxy on loopback on behalf of `address` (the default --trust-proxy believes loopback). */
function from(url: () => string, address: string): Browser {
  const send = browser(url);
  return Object.assign((method: string, path: string, body?: unknown) => send(method, path, body, { 'x-forwarded-for': address }), { cookie: send.cookie, setCookie: send.setCookie, csrfToken: send.csrfToken });
}

async function eventually<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('two replicas on one PostgreSQL', () => {
  it('report their database ready on /readyz', async () => {
    for (const server of [a, b]) {
      const body = (await (await fetch(`${server.url}/readyz`)).json()) as { checks: { database: { ok: boolean } } };
      expect(body.checks.database).toEqual({ ok: true });
    }
  });

  it('share accounts and sessions: a session made on one is valid on the other', async () => {
    const send = browser(() => a.url);
    expect((await send('POST', '/api/auth/setup', { token: await a.services.learners.issueSetupToken(), username: 'replica-admin', password: 'correct horse battery' })).status).toBe(201);
    const token = /kd_session=([^;]+)/.exec(send.cookie())?.[1] ?? '';
    const onB = browser(() => b.url);
    onB.setCookie('kd_session', token);
    expect(((await onB('GET', '/api/session')).json as { learner: { username: string } | null }).learner?.username).toBe('replica-admin');
  });

  it('deliver a room broadcast emitted on one replica to a client of the other', async () => {
    const { learner, token } = await a.services.learners.createGuest();
    const socket = connect(`${a.url}/live`, { transports: ['websocket'], extraHeaders: { cookie: `kd_session=${token}` }, reconnection: false });
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => {
        resolve();
      });
      socket.once('connect_error', reject);
    });
    const received = new Promise<CheckRunView>((resolve) => socket.once('check:finished', resolve));
    const run: CheckRunView = { id: 'run-x', lesson: 'pods', exercise: null, namespace: 'kd-x', status: 'passed', startedAt: new Date().toISOString(), finishedAt: new Date().toISOString(), report: null };
    // B learns of A's sockets through the adapter; until its LISTEN is in place an emit may be lost, so it is repeated.
    const live = b.app.io.of('/live');
    const found = await eventually(async () => ((await live.in(`learner:${learner.id}`).fetchSockets()).length === 1 ? true : undefined), "B's fetchSockets to see A's socket");
    expect(found).toBe(true);
    const timer = setInterval(() => live.to(`learner:${learner.id}`).emit('check:finished', run), 200);
    try {
      expect(await received).toEqual(run);
    } finally {
      clearInterval(timer);
    }
    // fetchSockets from B sees the socket on A, with its data, and can act on it.
    const [remote] = await live.in(`learner:${learner.id}`).fetchSockets();
    expect(remote?.id).toBe(socket.id);
    expect((remote?.data as { learner?: { id: string } }).learner?.id).toBe(learner.id);
  });

  it('answer a serverSideEmit from the other replica', async () => {
    b.app.io.on('whoami', (ack: (answer: string) => void) => {
      ack('replica-b');
    });
    const answers = await eventually(async () => {
      const replies = (await a.app.io.serverSideEmitWithAck('whoami').catch(() => [])) as string[];
      return replies.length === 1 ? replies : undefined;
    }, 'a serverSideEmit answer from B');
    expect(answers).toEqual(['replica-b']);
  });

  it('limit a visitor who reaches them alternately at the configured count, not at twice it', async () => {
    // guests=4/10m: each request without a session makes a guest, counted against the address.
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      const via = i % 2 === 0 ? a : b;
      statuses.push((await from(() => via.url, '203.0.113.44')('PUT', '/api/lessons/kubernetes-fundamentals/progress', { status: 'started' })).status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    // Failed sign-ins too: five wrong passwords spread over both, then even the right one waits.
    await a.services.auth.register({ username: 'alternating', password: 'correct horse battery', displayName: 'Alt' });
    const signIns: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      const via = i % 2 === 0 ? b : a;
      const password = i < 5 ? 'wrong password here' : 'correct horse battery';
      signIns.push((await from(() => via.url, '198.51.100.44')('POST', '/api/auth/login', { username: 'alternating', password })).status);
    }
    expect(signIns).toEqual([401, 401, 401, 401, 401, 429]);
  });
});
