import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiErrorBody } from '../../server/protocol.ts';
import { deadKubeconfig, startTestServer, type TestServer } from '../helpers/app.ts';
import { browser, type Browser, type BrowserResponse } from '../helpers/http.ts';

/**
 * Junk at every route of the OpenAPI document (bodies, queries, path parameters) and at the
 * socket.io namespaces, from a signed-in admin with a valid CSRF token (so requests get past the
 * guards to validation and beyond), against a server whose cluster is unreachable. Whatever
 * arrives, the server answers 4xx with the field named, or 503 "unavailable" for input that was
 * valid but needs the cluster; it never answers 500 and never stops.
 */

interface Operation {
  method: string;
  path: string;
  pathParams: string[];
  query: { name: string; values: string[] }[];
  body: { properties: Record<string, { enum?: unknown[] }> } | null;
}

interface DocOperation {
  parameters?: { name: string; in: string; schema: { enum?: unknown[] } }[];
  requestBody?: { content: { 'application/json': { schema: { properties?: Record<string, { enum?: unknown[] }> } } } };
}

const password = 'correct horse battery';
let server: TestServer;
let dir: string;
let admin: Browser;
let anyone: Browser;
let operations: Operation[];

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-fuzz-'));
  const { file: kubeconfig } = await deadKubeconfig(dir);
  server = await startTestServer({ kubeconfig });
  admin = browser(() => server.url);
  anyone = browser(() => server.url);
  expect((await admin('POST', '/api/auth/setup', { token: await server.services.learners.issueSetupToken(), username: 'fuzz-admin', password })).status).toBe(201);
  const doc = (await (await fetch(`${server.url}/api/openapi.json`)).json()) as { paths: Record<string, Record<string, DocOperation>> };
  operations = Object.entries(doc.paths)
    .filter(([p]) => p.startsWith('/api/'))
    .flatMap(([p, item]) =>
      Object.entries(item).map(([method, op]) => ({
        method: method.toUpperCase(),
        path: p,
        pathParams: [...p.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] ?? ''),
        query: (op.parameters ?? []).filter((q) => q.in === 'query').map((q) => ({ name: q.name, values: (q.schema.enum ?? []).map(String) })),
        body: op.requestBody ? { properties: op.requestBody.content['application/json'].schema.properties ?? {} } : null,
      })),
    );
});

afterAll(async () => {
  await server.close();
  await fs.rm(dir, { recursive: true, force: true });
});

// ---- junk ------------------------------------------------------------------------------------

const NASTY = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', ' ', '\u0000', '\uFEFF', '\u202E', '💥🔥', 'ǅ̴̡̛', '../../etc/passwd', '%00', 'NaN', '-1', '1e309', 'null', 'true', '<script>', "'; DROP TABLE learners; --"];
/** Values that pass some validation, so requests also reach the handlers behind it. */
const PLAUSIBLE: unknown[] = ['kubernetes-fundamentals', 'advanced-kubernetes-patterns', 'deploy-web', 'small', 'large', 'true', 'K7M2-QX9P', 'Zoë', 'learner', 'admin', 'started', 'A', 'q1', 'kd-zoe-abc', '2026-12-01T09:00:00Z', 5, 30, 240, 0, 1, ['kubernetes-fundamentals']];

const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 40 }), fc.constantFrom(...NASTY));
const huge = fc.tuple(fc.integer({ min: 10_000, max: 300_000 }), fc.constantFrom('x', 'é', '💥', '\u0000')).map(([n, c]) => c.repeat(Math.ceil(n / c.length)));
const junk: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 3, arbitrary: text },
  { weight: 2, arbitrary: fc.constantFrom(...PLAUSIBLE) },
  { weight: 1, arbitrary: fc.uuid() },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null)) },
  { weight: 1, arbitrary: huge },
);

/** A JSON object written by hand, so keys such as `__proto__` are sent as they are. */
function objectText(entries: [string, unknown][]): string {
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;
}

const deep = fc.tuple(fc.integer({ min: 100, max: 20_000 }), fc.boolean()).map(([n, arrays]) => (arrays ? `${'['.repeat(n)}${']'.repeat(n)}` : `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`));
const pollution = fc.constantFrom('{"__proto__":{"polluted":true}}', '{"constructor":{"prototype":{"polluted":true}}}', '[{"__proto__":{"polluted":true}}]');

function bodyOf(op: Operation): fc.Arbitrary<string> {
  const known = Object.entries(op.body?.properties ?? {});
  const field = (name: string, schema: { enum?: unknown[] }) => fc.option(fc.oneof(junk, fc.constantFrom(...(schema.enum ?? PLAUSIBLE))), { nil: undefined }).map((v) => [name, v] as [string, unknown]);
  const shaped = fc
    .tuple(fc.tuple(...known.map(([name, schema]) => field(name, schema))), fc.array(fc.tuple(fc.oneof(text, fc.constantFrom('__proto__', 'constructor')), junk), { maxLength: 2 }))
    .map(([fields, extra]) => objectText([...fields.filter(([, v]) => v !== undefined), ...extra]));
  return fc.oneof(
    { weight: 5, arbitrary: shaped },
    { weight: 2, arbitrary: junk.map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
    { weight: 1, arbitrary: deep },
    { weight: 1, arbitrary: pollution },
  );
}

function queryOf(op: Operation): fc.Arbitrary<string> {
  const value = fc.oneof(text, fc.constantFrom(...op.query.flatMap((q) => q.values), 'true'));
  const key = fc.oneof(fc.constantFrom(...op.query.map((q) => q.name), '__proto__', 'constructor', 'a[b]', 'wait[]'), text);
  const pairs = fc.array(fc.tuple(key, value), { maxLength: 4 }).map((list) => {
    const params = new URLSearchParams();
    for (const [k, v] of list) params.append(k, v);
    return params.toString();
  });
  return fc.oneof({ weight: 4, arbitrary: pairs }, { weight: 1, arbitrary: fc.constantFrom('%', '%zz', 'a=%E0%A4%A', '&&==&', '__proto__[polluted]=1', 'x='.padEnd(5000, 'y')) });
}

const pathValue = fc.oneof(
  { weight: 3, arbitrary: text.map(encode) },
  { weight: 2, arbitrary: fc.constantFrom('kd-zoe-abc', 'kubernetes-fundamentals', 'q1', 'deploy-web').map(encode) },
  { weight: 1, arbitrary: fc.uuid() },
  { weight: 1, arbitrary: fc.constantFrom('%', '%zz', '%ED%A0%80', '%00', '%2F', '%2e%2e', 'a%20b', '..') },
);

/** Percent-encodes a path segment; a lone surrogate (which cannot be encoded) goes as an invalid escape. */
function encode(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return '%ED%A0%80';
  }
}

function request(op: Operation) {
  return fc.record({
    params: fc.tuple(...op.pathParams.map(() => pathValue)),
    query: fc.option(queryOf(op), { nil: undefined }),
    body: op.method === 'GET' ? fc.constant(undefined) : fc.option(bodyOf(op), { nil: undefined, freq: 5 }),
  });
}

// ---- what every answer must be -----------------------------------------------------------------

function expectSound(op: Operation, url: string, sentBody: boolean, response: BrowserResponse): void {
  const where = `${op.method} ${url} → ${response.status} ${response.text.slice(0, 300)}`;
  const error = (response.json as Partial<ApiErrorBody> | undefined)?.error;
  if (response.status >= 500) {
    // Only input that passed validation gets this far: the cluster is what is missing.
    expect(response.status, where).toBe(503);
    expect(error?.code, where).toBe('unavailable');
  }
  if (response.status >= 400) {
    expect(typeof error?.message, where).toBe('string');
  }
  if (response.status === 400) {
    expect(error?.code, where).toBe('invalid');
    expect(error?.issues?.length, where).toBeGreaterThan(0);
    for (const issue of error?.issues ?? []) {
      expect(issue.field, where).toMatch(/^(body|query|params)(\.|$)/);
      expect(issue.message, where).not.toBe('');
      // The field is the one that was wrong: a request without a body has nothing wrong in it.
      if (!sentBody && !op.body) expect(issue.field, where).not.toMatch(/^body/);
      // …and a named field is one the route has (unknown keys are reported on the part itself).
      const [part, name] = issue.field.split('.');
      if (name !== undefined) {
        const known = part === 'body' ? Object.keys(op.body?.properties ?? {}) : part === 'query' ? op.query.map((q) => q.name) : op.pathParams;
        expect(known, where).toContain(name);
      }
    }
  }
}

describe('junk at every route', () => {
  it('answers a path that is not valid percent-encoding with a 400 naming the path, not the body', async () => {
    for (const url of ['/api/lessons/%', '/api/sandboxes/%ED%A0%80/reset']) {
      const response = await admin(url.endsWith('reset') ? 'POST' : 'GET', url);
      expect(response.status).toBe(400);
      expect((response.json as ApiErrorBody).error.issues).toEqual([{ field: 'params', message: 'the path is not valid percent-encoded UTF-8' }]);
    }
  });

  it('never gets a 5xx other than 503, and every 400 names the field', async () => {
    expect(operations.length).toBeGreaterThan(30);
    const before = Object.getOwnPropertyNames(Object.prototype).sort();
    const statuses = new Map<number, number>();
    for (const op of operations) {
      // Sign-in, sign-up and joining change whose session it is: a second browser takes them.
      const send = /^\/api\/(auth|join)\b/.test(op.path) ? anyone : admin;
      await fc.assert(
        fc.asyncProperty(request(op), async ({ params, query, body }) => {
          let url = op.path;
          op.pathParams.forEach((name, i) => (url = url.replace(`{${name}}`, params[i] ?? '')));
          if (query !== undefined) url += `?${query}`;
          const response = await send(op.method, url, body);
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          expectSound(op, url, body !== undefined, response);
        }),
        { numRuns: 50 },
      );
    }
    // The junk reached past validation too, not only the 400s.
    expect(statuses.get(400)).toBeGreaterThan(100);
    expect([...statuses.keys()].some((s) => s !== 400 && s < 500)).toBe(true);
    // Nothing the server parsed wrote onto the prototypes of this very process.
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // The admin's session survived it all, and the server answers.
    expect((await admin('GET', '/api/admin/capacity')).status).toBe(200);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  }, 90_000);
});

// ---- socket.io -------------------------------------------------------------------------------

function connect(namespace: string, cookie?: string): Socket {
  return io(`${server.url}${namespace}`, { extraHeaders: cookie ? { cookie } : {}, transports: ['websocket'], reconnection: false, forceNew: true });
}

function connected(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => {
      resolve();
    });
    socket.once('connect_error', reject);
  });
}

const RESERVED = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']);
/** The events each namespace answers (an event it has no handler for gets no reply, as in socket.io). */
const ACKED: Record<string, string[]> = { '/terminal': ['attach', 'watch'], '/live': ['grid:watch'] };

describe('junk at the socket.io namespaces', () => {
  it('refuses connections without a session, with a reason', async () => {
    for (const namespace of ['/terminal', '/live']) {
      const socket = connect(namespace);
      await expect(connected(socket)).rejects.toThrow(/session|sign in/);
      socket.close();
    }
  });

  it('answers junk events with errors and stays up', async () => {
    for (const namespace of ['/terminal', '/live']) {
      const socket = connect(namespace, admin.cookie());
      await connected(socket);
      const notices: string[] = [];
      socket.on('notice', (message: string) => notices.push(message));
      const event = fc.oneof(fc.constantFrom('attach', 'watch', 'input', 'resize', 'ack', 'close', 'grid:watch'), text).filter((e) => !RESERVED.has(e));
      const plausible = fc.constantFrom<unknown>({ namespace: 'kd-zoe-abc', cols: 80, rows: 24 }, { namespace: 'kd-zoe-abc' }, { workshopId: '00000000-0000-4000-8000-000000000000' }, { cols: 80, rows: 24 }, { bytes: 10 });
      // Under socket.io's 64 KiB message limit (the test after this one goes over it on purpose).
      const payload = fc.oneof(junk.filter((v) => typeof v !== 'string' || v.length < 4_000), plausible, pollution.map((t) => JSON.parse(t) as unknown));
      await fc.assert(
        fc.asyncProperty(event, fc.array(payload, { maxLength: 3 }), fc.boolean(), async (name, args, acked) => {
          expect(socket.connected, 'the server dropped the connection').toBe(true);
          if (acked && (ACKED[namespace] ?? []).includes(name)) {
            // One payload and the reply: always an answer, never ok for junk or without a cluster.
            const reply = (await socket.timeout(5_000).emitWithAck(name, args[0])) as { ok: boolean; error?: string };
            expect(reply.ok, `${name} ${(JSON.stringify(args[0]) as string | undefined)?.slice(0, 200) ?? 'undefined'}`).toBe(false);
            expect(typeof reply.error).toBe('string');
          } else {
            socket.emit(name, ...args);
          }
        }),
        { numRuns: 150 },
      );
      // Still connected, and still answering.
      const reply = (await socket.timeout(5_000).emitWithAck(namespace === '/live' ? 'grid:watch' : 'attach', { nonsense: true })) as { ok: boolean };
      expect(reply.ok).toBe(false);
      expect(socket.connected).toBe(true);
      if (namespace === '/terminal') {
        socket.emit('input', 42);
        await expect.poll(() => notices.some((n) => n.startsWith('input ignored'))).toBe(true);
      }
      socket.close();
    }
  }, 60_000);

  it('drops a client that sends more than the size limit, and serves the next one', async () => {
    const socket = connect('/terminal', admin.cookie());
    await connected(socket);
    const gone = new Promise<string>((resolve) => socket.once('disconnect', resolve));
    socket.emit('input', 'x'.repeat(100_000));
    await gone;
    const next = connect('/terminal', admin.cookie());
    await connected(next);
    expect(((await next.timeout(5_000).emitWithAck('attach', {})) as { ok: boolean }).ok).toBe(false);
    next.close();
  });

  it('survives malformed engine.io and socket.io packets on the raw WebSocket', async () => {
    const frames = [
      '40/terminal,',
      '42/terminal,["attach"',
      '42/terminal,["attach",{"namespace":{"__proto__":{"polluted":true}}}]',
      '451-/terminal,["attach",{"_placeholder":true,"num":99}]',
      '451-/live,0["grid:watch",{"_placeholder":true,"num":0}]',
      '42/live,["grid:watch",null,null,null]',
      '43/terminal,1[]',
      '44/terminal,"boom"',
      '41/terminal,',
      '4',
      '49',
      '6',
      '1',
      'x',
      '',
      '42/nope,["x"]',
      '40/terminal,{"token":"'.padEnd(30_000, 'a'),
    ];
    const random = fc.sample(fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), text.map((t) => `42/terminal,${t}`)), 60);
    for (const batch of [frames, random]) {
      const ws = new WebSocket(`${server.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`, { headers: { cookie: admin.cookie() } } as unknown as string[]);
      await new Promise<void>((resolve, reject) => {
        ws.onopen = () => {
          resolve();
        };
        ws.onerror = () => {
          reject(new Error('the raw WebSocket did not open'));
        };
      });
      ws.send('40/terminal,');
      ws.send('40/live,');
      for (const frame of batch) {
        if (ws.readyState !== WebSocket.OPEN) break;
        ws.send(frame);
      }
      if (ws.readyState === WebSocket.OPEN) ws.send(new Uint8Array([0xff, 0x00, 0x42]));
      await new Promise((r) => setTimeout(r, 200));
      ws.close();
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const socket = connect('/live', admin.cookie());
    await connected(socket);
    expect(((await socket.timeout(5_000).emitWithAck('grid:watch', { workshopId: 'nope' })) as { ok: boolean }).ok).toBe(false);
    socket.close();
  });
});
