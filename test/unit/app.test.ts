import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { browser } from '../helpers/http.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiErrorBody, ClusterInfoResponse, ReadyResponse } from '../../server/protocol.ts';
import { deadKubeconfig, startTestServer, type TestServer } from '../helpers/app.ts';

/** The HTTP surface without a cluster: health, readiness that names what is down, errors. */

let unreachable: TestServer;
let embedded: TestServer;
let kubeconfigDir: string;
let deadPort: number;

beforeAll(async () => {
  kubeconfigDir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-kc-'));
  const clientDir = path.join(kubeconfigDir, 'client');
  await fs.mkdir(clientDir);
  await fs.writeFile(path.join(clientDir, 'index.html'), '<!doctype html><title>kubedojo</title>');
  const dead = await deadKubeconfig(kubeconfigDir);
  deadPort = dead.port;
  unreachable = await startTestServer({ kubeconfig: dead.file }, { clientDir });
  embedded = await startTestServer({ cluster: 'embedded', clusterUp: false });
});

afterAll(async () => {
  await unreachable.close();
  await embedded.close();
  await fs.rm(kubeconfigDir, { recursive: true, force: true });
});

describe('health and readiness', () => {
  it('/healthz answers while the cluster is down', async () => {
    const response = await fetch(`${unreachable.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('/readyz is 503 and says why the cluster is not reachable', async () => {
    const response = await fetch(`${unreachable.url}/readyz`);
    expect(response.status).toBe(503);
    const body = (await response.json()) as ReadyResponse;
    expect(body.status).toBe('not-ready');
    expect(body.checks.database).toEqual({ ok: true });
    expect(body.checks.cluster.ok).toBe(false);
    expect(body.checks.cluster.message).toBe(`the API server is unreachable: connect ECONNREFUSED 127.0.0.1:${deadPort}`);
  });

  it('/readyz tells the user to start the embedded cluster when it was never started', async () => {
    const body = (await (await fetch(`${embedded.url}/readyz`)).json()) as ReadyResponse;
    expect(body.checks.cluster.message).toContain('run "kubedojo cluster up"');
  });

  it('/api/cluster describes the configured cluster even when it is down, without its address to a visitor', async () => {
    const body = (await (await fetch(`${unreachable.url}/api/cluster`)).json()) as ClusterInfoResponse;
    // Where the API server listens is for admins (the e2e home test signs one in and sees it).
    expect(body).toMatchObject({ kind: 'kubeconfig', server: null, context: null, reachable: false, version: null, nodes: null });
    expect(body.problem).toBeTruthy();
  });
});

describe('sandboxes without a cluster', () => {
  it('answers 503 with the reason, and lists nothing', async () => {
    const response = await browser(() => unreachable.url)('POST', '/api/sandboxes', { lesson: 'kubernetes-fundamentals' });
    expect(response.status).toBe(503);
    const body = response.json as ApiErrorBody;
    expect(body.error.code).toBe('unavailable');
    expect(body.error.message).toBe(`could not install the sandbox policies: the API server is unreachable: connect ECONNREFUSED 127.0.0.1:${deadPort}`);
    expect(await (await fetch(`${unreachable.url}/api/sandboxes`)).json()).toEqual({ sandboxes: [] });
  });
});

describe('errors', () => {
  it('answers an unknown API path with a JSON 404', async () => {
    const response = await fetch(`${unreachable.url}/api/does-not-exist`);
    expect(response.status).toBe(404);
    expect(((await response.json()) as ApiErrorBody).error).toEqual({ code: 'not_found', message: 'no API endpoint GET /does-not-exist' });
  });

  it('answers malformed and oversized JSON with a 400/413 naming the body', async () => {
    const malformed = await fetch(`${unreachable.url}/api/cluster`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":' });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as ApiErrorBody).error.issues).toEqual([{ field: 'body', message: 'request body is not valid JSON' }]);
    const huge = await fetch(`${unreachable.url}/api/cluster`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ a: 'x'.repeat(2_000_000) }) });
    expect(huge.status).toBe(413);
  });

  it('serves the web client for page routes and sets protective headers', async () => {
    const response = await fetch(`${unreachable.url}/lessons/anything`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('<title>kubedojo</title>');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-powered-by')).toBeNull();
    const missingClient = await fetch(`${embedded.url}/`);
    expect([200, 503]).toContain(missingClient.status);
  });
});
