import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RawClient } from '../../server/cluster/raw.ts';
import { runCheck } from '../../server/grading/runner.ts';
import { checkSchemas, type CheckDefinition } from '../../server/checks/schema.ts';
import { SandboxScope } from '../../server/grading/scope.ts';
import { silentLogger } from '../../server/logger.ts';
import type { ApiErrorBody, CheckProgressEvent, CheckRunListResponse, CheckRunView, LabResponse, SandboxView } from '../../server/protocol.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { projectRoot } from '../helpers/cli.ts';
import { adminKubeConfig, uniqueName, withNamespace } from '../helpers/cluster.ts';
import { browser } from '../helpers/http.ts';

/**
 * Check as a learner uses it (REST and socket.io, their own sandbox only), and the engine's
 * behaviour on what learners and authors get wrong: a check that cannot pass in time, a huge or
 * malformed object, a target outside the learner's reach.
 */

let server: TestServer;
let admin: KubeConfig;
let raw: RawClient;

beforeAll(async () => {
  server = await startTestServer({ kubeconfig: inject('kubeconfig') });
  admin = adminKubeConfig(inject('kubeconfig'));
  raw = new RawClient(admin, 'test');
});
afterAll(async () => {
  await server.close();
});

async function applyFolder(namespace: string, folder: string): Promise<void> {
  const { parseManifests } = await import('../../server/cluster/apply.ts');
  const dir = path.join(projectRoot, 'lessons', folder);
  for (const file of ['web.yaml']) {
    for (const object of parseManifests(await readFile(path.join(dir, file), 'utf8'), file)) {
      const result = await raw.apply(object, { namespace });
      if (!result.ok) throw new Error(result.error.message);
    }
  }
}

describe('Check through the API', () => {
  const mine = browser(() => server.url);
  const theirs = browser(() => server.url);
  let sandbox: SandboxView;

  beforeAll(async () => {
    sandbox = (await mine('POST', '/api/sandboxes', { lesson: 'kubernetes-fundamentals' })).json as SandboxView;
    await theirs('POST', '/api/sandboxes', { lesson: 'kubernetes-fundamentals' });
  });

  it('shows the lab with the learner’s own values, and generic ones to others', async () => {
    const lab = (await mine('GET', '/api/lessons/kubernetes-fundamentals/lab')).json as LabResponse;
    expect(lab.namespace).toBe(sandbox.namespace);
    expect(lab.exercises.map((e) => e.id)).toEqual(['deploy-web', 'expose-web', 'labels', 'rolling-update']);
    expect(lab.exercises[0]?.instructionsHtml).toContain(sandbox.namespace);
    const anonymous = (await fetch(`${server.url}/api/lessons/kubernetes-fundamentals/lab`).then((r) => r.json())) as LabResponse;
    expect(anonymous.namespace).toBeNull();
    expect(anonymous.exercises[0]?.instructionsHtml).toContain('‹your namespace›');
    expect(JSON.stringify(anonymous)).not.toContain(sandbox.namespace);
  });

  it('grades the learner’s sandbox, streams progress to them alone, and keeps the result', async () => {
    const mySocket = io(`${server.url}/live`, { extraHeaders: { cookie: mine.cookie() }, transports: ['websocket'], forceNew: true });
    const theirSocket = io(`${server.url}/live`, { extraHeaders: { cookie: theirs.cookie() }, transports: ['websocket'], forceNew: true });
    const heard: CheckProgressEvent[] = [];
    const overheard: unknown[] = [];
    mySocket.on('check:progress', (e: CheckProgressEvent) => heard.push(e));
    theirSocket.on('check:progress', (e: unknown) => overheard.push(e));
    theirSocket.on('check:finished', (e: unknown) => overheard.push(e));
    await Promise.all([mySocket, theirSocket].map((socket) => new Promise<void>((resolve) => socket.once('connect', () => { resolve(); }))));
    try {
      await applyFolder(sandbox.namespace, '02_intermediate/labs/kubernetes-fundamentals/deploy-web/solution');
      // Pressing Check twice at once gives one run.
      const [started, again] = await Promise.all([0, 1].map(() => mine('POST', `/api/sandboxes/${sandbox.namespace}/checks`, { exercise: 'deploy-web' })));
      expect(started?.status).toBe(202);
      const run = started?.json as CheckRunView;
      expect(run.status).toBe('running');
      expect((again?.json as CheckRunView).id).toBe(run.id);
      // Owned by this server: another replica's start or sweep leaves it alone while this one beats.
      const owner = await server.platform.db.selectFrom('check_runs').select('replica_id').where('id', '=', run.id).executeTakeFirst();
      expect(owner?.replica_id).toBe(server.platform.replica.id);

      let done: CheckRunView | undefined;
      for (let i = 0; i < 300 && done?.status !== 'passed' && done?.status !== 'failed'; i += 1) {
        await new Promise((r) => setTimeout(r, 200));
        done = (await mine('GET', `/api/checks/${run.id}`)).json as CheckRunView;
      }
      expect(done?.status, JSON.stringify(done?.report)).toBe('passed');
      expect(done?.report?.exercises[0]?.checks.map((c) => [c.name, c.status])).toEqual([
        ['web-deployment', 'passed'],
        ['web-pods', 'passed'],
      ]);
      expect(heard.filter((e) => e.runId === run.id && e.type === 'check-finished')).toHaveLength(2);
      expect(overheard).toEqual([]);

      // Kept with the learner's progress, invisible to anyone else.
      const lab = (await mine('GET', '/api/lessons/kubernetes-fundamentals/lab')).json as LabResponse;
      expect(lab.exercises[0]?.progress).toMatchObject({ passed: true, attempts: 1, lastStatus: 'passed' });
      expect(((await mine('GET', '/api/lessons/kubernetes-fundamentals/checks')).json as CheckRunListResponse).runs.map((r) => r.id)).toEqual([run.id]);
      expect(((await theirs('GET', '/api/lessons/kubernetes-fundamentals/checks')).json as CheckRunListResponse).runs).toEqual([]);
      expect((await theirs('GET', `/api/checks/${run.id}`)).status).toBe(404);
    } finally {
      mySocket.close();
      theirSocket.close();
    }
  });

  it('refuses to check someone else’s sandbox, and malformed requests by field', async () => {
    const other = await theirs('POST', `/api/sandboxes/${sandbox.namespace}/checks`, {});
    expect(other.status).toBe(404);
    expect((other.json as ApiErrorBody).error.message).toBe(`there is no sandbox ${sandbox.namespace}`);

    const bad = await mine('POST', `/api/sandboxes/${sandbox.namespace}/checks`, { exercise: 42, extra: true });
    expect(bad.status).toBe(400);
    expect((bad.json as ApiErrorBody).error.issues?.map((i) => i.field).sort()).toEqual(['body', 'body.exercise']);
    const unknown = await mine('POST', `/api/sandboxes/${sandbox.namespace}/checks`, { exercise: 'no-such-exercise' });
    expect(unknown.status).toBe(404);
    expect((unknown.json as ApiErrorBody).error.message).toContain('exercises: deploy-web, expose-web, labels, rolling-update');
    expect((await mine('POST', `/api/sandboxes/${sandbox.namespace}/checks?wait=maybe`, {})).status).toBe(400);
    expect((await mine('GET', '/api/checks/not-a-uuid')).status).toBe(400);
    expect((await mine('POST', `/api/sandboxes/${sandbox.namespace}/checks`, '{"exercise":')).status).toBe(400);
  });
});

describe('the check engine on bad input', () => {
  const log = silentLogger();
  const check = (kind: keyof typeof checkSchemas, fields: Record<string, unknown>): CheckDefinition => checkSchemas[kind].parse({ kind, ...fields });
  const scopeFor = (namespace: string) => new SandboxScope(admin, { namespace, group: `${namespace}.labs.kubedojo.dev`, priorityClassPrefix: `${namespace}-` });

  it('gives up on a check that cannot pass in time, with what it saw, instead of hanging', async () => {
    await withNamespace(admin, 'grade-timeout', async (ns) => {
      // Never available: the namespace never goes quiet, so only the timeout ends the wait.
      const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'slow', namespace: ns }, spec: { replicas: 1, minReadySeconds: 3600, progressDeadlineSeconds: 7200, selector: { matchLabels: { app: 'slow' } }, template: { metadata: { labels: { app: 'slow' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } } };
      const applied = await raw.apply(deployment);
      expect(applied.ok, applied.ok ? '' : applied.error.message).toBe(true);
      const started = Date.now();
      const result = await runCheck(check('resource', { name: 'available', timeoutSeconds: 3, target: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'slow' }, expect: { status: { availableReplicas: 1 } } }), 0, 'x', { scope: scopeFor(ns), log });
      expect(Date.now() - started).toBeLessThan(8000);
      expect(result.status).toBe('failed');
      expect(result.message).toMatch(/status\.availableReplicas: expected 1, found \(missing\).*\(still so after 3 s\)/);
      expect(result.attempts).toBeGreaterThan(1);
    });
  });

  it('handles a huge object and more objects than a check examines', async () => {
    await withNamespace(admin, 'grade-huge', async (ns) => {
      const big = 'x'.repeat(900 * 1024);
      expect((await raw.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big', namespace: ns }, data: { blob: big, small: 'yes' } } as KubernetesObject)).ok).toBe(true);
      const scope = scopeFor(ns);
      const pass = await runCheck(check('resource', { target: { apiVersion: 'v1', kind: 'ConfigMap', name: 'big' }, expect: { data: { small: 'yes' } }, cel: [{ expression: 'size(object.data.blob) > 900000', message: 'big' }] }), 0, 'x', { scope, log });
      expect(pass.status).toBe('passed');
      const fail = await runCheck(check('resource', { target: { apiVersion: 'v1', kind: 'ConfigMap', name: 'big' }, expect: { data: { blob: 'short' } } }), 0, 'x', { scope, log });
      expect(fail.status).toBe('failed');
      expect(fail.message.length).toBeLessThan(600); // the 900 KB value is shortened, not echoed
      expect(fail.durationMs).toBeLessThan(5000);

      await Promise.all(Array.from({ length: 510 }, (_, i) => raw.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `many-${i}`, namespace: ns, labels: { many: 'yes' } } })));
      const many = await runCheck(check('resource', { target: { apiVersion: 'v1', kind: 'ConfigMap', selector: { matchLabels: { many: 'yes' } } } }), 0, 'x', { scope, log });
      expect(many.status).toBe('failed');
      expect(many.message).toContain('more than 500 ConfigMap objects match');
    });
  });

  it('reports a malformed custom object through the rules, never a crash', async () => {
    await withNamespace(admin, 'grade-malformed', async (ns) => {
      const group = `${ns}.labs.kubedojo.dev`;
      const crd = {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: `things.${group}` },
        spec: { group, scope: 'Namespaced', names: { kind: 'Thing', plural: 'things', singular: 'thing' }, versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }] },
      };
      expect((await raw.apply(crd as KubernetesObject)).ok).toBe(true);
      try {
        const thing = { apiVersion: `${group}/v1`, kind: 'Thing', metadata: { name: 'odd', namespace: ns }, spec: { replicas: 'three', nested: [[{ a: null }], 1.5, true] } };
        let created = false;
        for (let i = 0; i < 50 && !created; i += 1) {
          created = (await raw.create(thing)).ok;
          if (!created) await new Promise((r) => setTimeout(r, 200));
        }
        expect(created).toBe(true);
        const scope = scopeFor(ns);
        const target = { apiVersion: `${group}/v1`, kind: 'Thing', name: 'odd' };
        const cel = await runCheck(check('cel', { target, expressions: [{ expression: 'object.spec.replicas + 1 > 1', message: 'replicas should be a number' }] }), 0, 'x', { scope, log });
        expect(cel.status).toBe('failed');
        expect(cel.message).toBe('replicas should be a number');
        expect(cel.found).toMatch(/^false \(.*overload/);
        const partial = await runCheck(check('resource', { target, expect: { spec: { replicas: 3, nested: [1.5] } } }), 0, 'x', { scope, log });
        expect(partial.status).toBe('failed');
        expect(partial.message).toContain('spec.replicas: expected 3, found "three"');
        expect(partial.message).not.toContain('nested');
      } finally {
        await raw.delete(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/things.${group}`);
      }
    });
  });

  it('never reads beyond the learner’s namespace and their own cluster-scoped objects', async () => {
    await withNamespace(admin, 'grade-fence', async (ns) => {
      const scope = scopeFor(ns);
      const foreign = await runCheck(check('resource', { target: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: 'cluster-admin' } }), 0, 'x', { scope, log });
      expect(foreign.status).toBe('error');
      expect(foreign.message).toContain('may not read the cluster-scoped ClusterRole "cluster-admin"');
      const otherPc = await runCheck(check('resources', { priorityClass: { name: 'system-cluster-critical' } }), 0, 'x', { scope, log });
      expect(otherPc.status).toBe('error');
      // A namespaced target is always looked up in the sandbox's own namespace.
      const secret = await runCheck(check('resource', { timeoutSeconds: 1, target: { apiVersion: 'v1', kind: 'ServiceAccount', name: 'default' } }), 0, 'x', { scope: scopeFor(uniqueName('kd-nowhere')), log });
      expect(secret.status).toBe('failed');
      const inKubeSystem = await scope.list({ apiVersion: 'v1', kind: 'ConfigMap' });
      expect(inKubeSystem.ok && inKubeSystem.value.every((c) => c.metadata?.namespace === ns)).toBe(true);
      expect(checkSchemas.resource.safeParse({ kind: 'resource', target: { apiVersion: 'v1', kind: 'Secret', name: 'x', namespace: 'kube-system' } }).success).toBe(false);
    });
  });
});
