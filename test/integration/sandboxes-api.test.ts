import fs from 'node:fs/promises';
import { CoreV1Api } from '@kubernetes/client-node';
import { RawClient } from '../../server/cluster/raw.ts';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ApiErrorBody, SandboxListResponse, SandboxView } from '../../server/protocol.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { runCli, runCliOk } from '../helpers/cli.ts';
import { kubeConfigFrom } from '../helpers/sandboxes.ts';
import { browser as browserFor } from '../helpers/http.ts';

/** Sandboxes through the REST API (as two browsers) and through the CLI, on the real cluster. */

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ kubeconfig: inject('kubeconfig') });
});
afterAll(async () => {
  await server.close();
});

const browser = () => browserFor(() => server.url);

describe('the sandbox API', () => {
  it("creates a learner's sandbox, shows it only to them, and never sends a credential", async () => {
    const mine = browser();
    const theirs = browser();
    const created = await mine('POST', '/api/sandboxes', { lesson: 'kubernetes-fundamentals' });
    expect(created.status).toBe(201);
    const sandbox = created.json as SandboxView;
    expect(sandbox).toMatchObject({ lesson: 'kubernetes-fundamentals', size: 'small', state: 'ready' });
    expect(sandbox.group).toBe(`${sandbox.namespace}.labs.kubedojo.dev`);
    expect(created.text).not.toMatch(/token|kubeconfig|BEGIN/i);
    expect((await mine('POST', '/api/sandboxes', { lesson: 'kubernetes-fundamentals' })).status).toBe(200); // idempotent

    expect(((await mine('GET', '/api/sandboxes')).json as SandboxListResponse).sandboxes.map((s) => s.namespace)).toEqual([sandbox.namespace]);
    expect(((await theirs('GET', '/api/sandboxes')).json as SandboxListResponse).sandboxes).toEqual([]);
    // Another learner gets "not found" for every operation on it, as if it did not exist.
    for (const [method, path, body] of [
      ['POST', `/api/sandboxes/${sandbox.namespace}/extend`, { minutes: 30 }],
      ['POST', `/api/sandboxes/${sandbox.namespace}/reset`, undefined],
      ['DELETE', `/api/sandboxes/${sandbox.namespace}`, undefined],
    ] as const) {
      const response = await theirs(method, path, body);
      expect(response.status, `${method} ${path}`).toBe(404);
      expect((response.json as ApiErrorBody).error.message).toBe(`there is no sandbox ${sandbox.namespace}`);
    }

    // An open lesson page polling the list counts as activity for the idle reaper.
    const admin = new RawClient(kubeConfigFrom(inject('kubeconfig')));
    const longAgo = new Date(Date.now() - 20 * 60_000).toISOString();
    await admin.mergePatch({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: sandbox.namespace, annotations: { 'kubedojo.dev/last-activity': longAgo } } });
    await mine('GET', '/api/sandboxes');
    const touched = await kubeConfigFrom(inject('kubeconfig')).makeApiClient(CoreV1Api).readNamespace({ name: sandbox.namespace });
    expect(Date.now() - new Date(touched.metadata?.annotations?.['kubedojo.dev/last-activity'] ?? 0).getTime()).toBeLessThan(60_000);

    const extended = await mine('POST', `/api/sandboxes/${sandbox.namespace}/extend`, { minutes: 30 });
    expect(new Date((extended.json as SandboxView).expiresAt).getTime()).toBeGreaterThan(new Date(sandbox.expiresAt).getTime());
    expect((await mine('DELETE', `/api/sandboxes/${sandbox.namespace}`)).status).toBe(204);
    expect(((await mine('GET', '/api/sandboxes')).json as SandboxListResponse).sandboxes).toEqual([]);
  });

  it('names the field of every bad request', async () => {
    const call = browser();
    const cases: [string, string, unknown, number, string][] = [
      ['POST', '/api/sandboxes', {}, 400, 'body.lesson'],
      ['POST', '/api/sandboxes', { lesson: 'kubernetes-fundamentals', size: 'huge' }, 400, 'body.size'],
      ['POST', '/api/sandboxes', { lesson: 'no-such-lesson' }, 404, ''],
      ['POST', '/api/sandboxes/Not_A_Namespace/extend', { minutes: 30 }, 400, 'params.namespace'],
      ['POST', '/api/sandboxes/kd-x/extend', { minutes: 100000 }, 400, 'body.minutes'],
      ['POST', '/api/sandboxes/kd-x/extend', { minutes: '30' }, 400, 'body.minutes'],
    ];
    for (const [method, path, body, status, field] of cases) {
      const response = await call(method, path, body);
      expect(response.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(status);
      if (field) expect((response.json as ApiErrorBody).error.issues?.map((i) => i.field)).toContain(field);
    }
  });
});

describe('kubedojo sandbox', () => {
  const env = () => ({ KUBECONFIG: inject('kubeconfig'), KUBEDOJO_DATA_DIR: server.dataDir });

  it('create --json prints the namespace, group, prefix, expiry and kubeconfig; list; delete', async () => {
    const out = `${server.dataDir}/learner.kubeconfig`;
    const created = await runCliOk(['sandbox', 'create', '--learner', 'Ünïcödé Learner', '--lesson', 'kubernetes-fundamentals', '--kubeconfig-out', out, '--json'], { env: env() });
    const result = JSON.parse(created.stdout) as { namespace: string; group: string; priorityClassPrefix: string; expiresAt: string; kubeconfig: string };
    expect(Object.keys(result)).toEqual(['namespace', 'group', 'priorityClassPrefix', 'expiresAt', 'kubeconfig']);
    expect(result.kubeconfig).toBe(out);
    expect((await fs.stat(out)).mode & 0o777).toBe(0o600);
    const pods = await kubeConfigFrom(out).makeApiClient(CoreV1Api).listNamespacedPod({ namespace: result.namespace });
    expect(pods.items).toEqual([]);

    const list = await runCliOk(['sandbox', 'list'], { env: env() });
    expect(list.stdout).toMatch(new RegExp(`${result.namespace}\\s+Ünïcödé Learner\\s+kubernetes-fundamentals\\s+small\\s+ready`));
    const deleted = await runCliOk(['sandbox', 'delete', result.namespace], { env: env() });
    expect(deleted.stdout).toContain(`Deleted sandbox ${result.namespace}`);
    expect((await runCliOk(['sandbox', 'list', '--json'], { env: env() })).stdout).not.toContain(result.namespace);
  });

  it('refuses bad flags, unknown lessons and unknown sandboxes clearly', async () => {
    const size = await runCli(['sandbox', 'create', '--learner', 'x', '--lesson', 'kubernetes-fundamentals', '--size', 'huge'], { env: env() });
    expect(size.code).toBe(2);
    expect(size.stderr).toContain('--size must be one of small, medium, large');
    const noLearner = await runCli(['sandbox', 'create', '--lesson', 'kubernetes-fundamentals'], { env: env() });
    expect(noLearner.code).toBe(2);
    expect(noLearner.stderr).toContain('--learner NAME is required');
    const lesson = await runCli(['sandbox', 'create', '--learner', 'x', '--lesson', 'nope'], { env: env() });
    expect(lesson.code).toBe(2);
    expect(lesson.stderr).toContain('--lesson: there is no lesson "nope"');
    const missing = await runCli(['sandbox', 'delete', 'kd-does-not-exist'], { env: env() });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('there is no sandbox kd-does-not-exist');
  });
});
