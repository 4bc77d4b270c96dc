import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CoreV1Api, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { call } from '../../server/cluster/api.ts';
import { parseManifests, rawClient } from '../../server/cluster/apply.ts';
import { writeKubeconfig } from '../../server/cluster/kubeconfig.ts';
import { loadConfig } from '../../server/config.ts';
import { ensureHelm } from '../../server/deploy/helm.ts';
import { helmTemplate } from '../../server/deploy/render.ts';
import { fillPlaceholdersDeep } from '../../server/lessons/placeholders.ts';
import { silentLogger } from '../../server/logger.ts';
import { silentProgress } from '../../server/progress.ts';
import type { CheckRunView, SandboxView } from '../../server/protocol.ts';
import { LEASE_NAME } from '../../server/cluster/lease.ts';
import { ensureClusterPolicies } from '../../server/sandboxes/policies.ts';
import { startApiRecorder, type ApiRecorder } from '../helpers/api-recorder.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { projectRoot } from '../helpers/cli.ts';
import { adminKubeConfig, eventually, uniqueName } from '../helpers/cluster.ts';
import { browser } from '../helpers/http.ts';
import { kubeConfigFrom, tokenOf, withToken } from '../helpers/sandboxes.ts';
import { TerminalClient } from '../helpers/terminal.ts';

/**
 * The Helm chart's ClusterRole is all the platform needs: the whole server runs with a
 * ServiceAccount bound to that ClusterRole alone (rendered from the chart by the pinned helm,
 * with the chart's platform fence), through a proxy that remembers every 401 and 403. The
 * sandbox lifecycle runs through the REST API and the pod terminal: policies verified, the warm
 * pool, sandboxes with their RBAC, quota and NetworkPolicy, the toolbox Pod and exec, Checks
 * (custom resources included), extend, reset, delete, and the reaper of cluster-scoped
 * leftovers. Any refusal fails the test, with the request that got it.
 */

const RELEASE = 'rbac-it';
let admin: KubeConfig;
let namespace: string;
let recorder: ApiRecorder | undefined;
let server: TestServer | undefined;

function srv(): TestServer {
  if (!server) throw new Error('the platform server did not start');
  return server;
}
function rec(): ApiRecorder {
  if (!recorder) throw new Error('the API recorder did not start');
  return recorder;
}
let direct: KubeConfig;
const chartObjects: KubernetesObject[] = [];

const sandboxObjects = async (ns: string) => {
  const list = async (p: string) => {
    const result = await rawClient(admin).get<{ items: KubernetesObject[] }>(p);
    return result.ok ? result.value.items : [];
  };
  return {
    roleBindings: await list(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`),
    quotas: await list(`/api/v1/namespaces/${ns}/resourcequotas`),
    policies: await list(`/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies`),
  };
};

async function applyAsLearner(sandbox: SandboxView, folder: string): Promise<void> {
  const learner = withToken(admin, tokenOf(kubeConfigFrom(path.join(srv().dataDir, 'sandboxes', sandbox.namespace, 'kubeconfig'))));
  const dir = path.join(projectRoot, 'lessons', folder);
  for (const file of (await fs.readdir(dir)).sort()) {
    for (const object of parseManifests(await fs.readFile(path.join(dir, file), 'utf8'), file)) {
      const filled = fillPlaceholdersDeep(object, { namespace: sandbox.namespace, group: sandbox.group, priorityClassPrefix: sandbox.priorityClassPrefix });
      const result = await rawClient(learner).apply(filled, { namespace: sandbox.namespace });
      if (!result.ok) throw new Error(`${file}: ${result.error.message}`);
    }
  }
}

beforeAll(async () => {
  admin = adminKubeConfig(inject('kubeconfig'));
  const loaded = loadConfig({}, { HOME: os.homedir(), PATH: process.env.PATH ?? '' });
  if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
  const helm = await ensureHelm({ cacheDir: loaded.config.cacheDir, go: loaded.config.go, env: loaded.config.env, progress: silentProgress, logger: silentLogger() });
  // Not kd-…: the fences take every service account of a kd- namespace for a learner.
  namespace = uniqueName('kubedojo-rbac');
  await admin.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
  const rendered = await helmTemplate(helm.path, { release: RELEASE, namespace, values: { policies: { install: false } }, env: loaded.config.env });
  if (rendered.code !== 0) throw new Error(`helm template: ${rendered.stderr}`);
  const docs = parseAllDocuments(rendered.stdout).map((d) => d.toJS() as KubernetesObject | null).filter((o): o is KubernetesObject => o !== null);
  // The platform's identity, its ClusterRole and binding, its leader-election Role and binding,
  // and its fence: nothing else of the chart.
  for (const o of docs) {
    const name = o.metadata?.name ?? '';
    if (['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(o.kind ?? '') || (o.kind?.startsWith('ValidatingAdmissionPolicy') && name.includes('-platform-'))) chartObjects.push(o);
  }
  expect(chartObjects.map((o) => o.kind).sort()).toEqual(['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'ServiceAccount', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'ValidatingAdmissionPolicyBinding']);
  for (const o of chartObjects) {
    const result = await rawClient(admin).apply(o);
    if (!result.ok) throw new Error(`applying ${o.kind ?? ''} ${o.metadata?.name ?? ''}: ${result.error.message}`);
  }
  // What the chart installs with policies.install (the same files, a test keeps them so).
  await ensureClusterPolicies(admin);
  const sa = `${RELEASE}-kubedojo`;
  const token = await rawClient(admin).post<{ status: { token: string } }>(`/api/v1/namespaces/${namespace}/serviceaccounts/${sa}/token`, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 7200 } });
  if (!token.ok) throw new Error(token.error.message);
  const cluster = admin.getCurrentCluster();
  const caData = cluster?.caData ? Buffer.from(cluster.caData, 'base64').toString('utf8') : await fs.readFile(cluster?.caFile ?? '', 'utf8');
  recorder = await startApiRecorder({ server: cluster?.server ?? '', caData });
  const file = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-rbac-')), 'platform.kubeconfig');
  // The release's namespace is the context's, as a pod's own is in-cluster: the leader Lease lives there.
  await writeKubeconfig(file, { server: rec().url, caData: rec().caData, user: sa, token: token.value.status.token, namespace });
  direct = withToken(admin, token.value.status.token);
  server = await startTestServer({ kubeconfig: file, terminalBackend: 'pod', clusterPolicies: 'verify', warmPool: 1 }, { lease: { name: LEASE_NAME } });
  // A cold helm build (npm test builds it before the integration tests) takes minutes.
}, 1_800_000);

afterAll(async () => {
  await server?.close();
  await recorder?.close();
  for (const o of chartObjects.reverse()) {
    const kind = o.kind ?? '';
    const plural = { ClusterRole: 'clusterroles', ClusterRoleBinding: 'clusterrolebindings' }[kind];
    if (plural) await rawClient(admin).delete(`/apis/rbac.authorization.k8s.io/v1/${plural}/${encodeURIComponent(o.metadata?.name ?? '')}`);
    if (kind.startsWith('ValidatingAdmissionPolicy')) await rawClient(admin).delete(`/apis/admissionregistration.k8s.io/v1/${kind.toLowerCase()}s/${o.metadata?.name ?? ''}`);
  }
  if (namespace) await call(() => admin.makeApiClient(CoreV1Api).deleteNamespace({ name: namespace }));
});

describe("the platform under the chart's ClusterRole alone", () => {
  const learner = browser(() => srv().url);
  let fundamentals: SandboxView;
  let advanced: SandboxView;

  it('leads its Lease in its namespace, and starts: policies verified, sandboxes watched and reaped, the warm pool filled', async () => {
    await eventually(() => (srv().platform.leader.leading ? true : undefined), 'the platform to hold its leader Lease', 30_000, 100);
    await srv().parts.sandboxes.start();
    await eventually(() => (srv().parts.sandboxes.poolSize >= 1 ? true : undefined), 'a warm pool sandbox', 60_000, 200);
    expect(rec().refusals).toEqual([]);
  });

  it('gives a learner a sandbox with its RBAC, quota and NetworkPolicy, a toolbox terminal, and a Check', async () => {
    expect((await learner('POST', '/api/auth/register', { username: uniqueName('rbac-alice'), password: 'correct horse battery staple' })).status).toBe(201);
    const made = await learner('POST', '/api/sandboxes', { lesson: 'kubernetes-fundamentals' });
    expect(made.status, made.text).toBe(201);
    fundamentals = made.json as SandboxView;
    const objects = await sandboxObjects(fundamentals.namespace);
    expect(objects.roleBindings.map((o) => o.metadata?.name).sort()).toEqual(['kubedojo-learner', 'kubedojo-learner-custom-resources', 'kubedojo-platform-custom-resources']);
    expect(objects.quotas.map((o) => o.metadata?.name)).toEqual(['kubedojo-quota']);
    expect(objects.policies.map((o) => o.metadata?.name)).toEqual(['kubedojo-isolation']);

    const terminal = new TerminalClient(srv().url, learner.cookie());
    try {
      const attached = await terminal.attach(fundamentals.namespace);
      expect(attached.ok, JSON.stringify(attached)).toBe(true);
      const whoami = await terminal.run('kubectl auth whoami -o jsonpath={.status.userInfo.username}', 120_000);
      expect(whoami).toContain(`system:serviceaccount:${fundamentals.namespace}:kubedojo-learner`);
    } finally {
      terminal.socket.close();
    }

    await applyAsLearner(fundamentals, '02_intermediate/labs/kubernetes-fundamentals/deploy-web/solution');
    const check = await learner('POST', `/api/sandboxes/${fundamentals.namespace}/checks?wait=true`, { exercise: 'deploy-web' });
    expect(check.status, check.text).toBe(200);
    expect((check.json as CheckRunView).status, check.text).toBe('passed');
    expect(rec().refusals).toEqual([]);
  });

  it("grades a learner's custom resources through the platform's binding in their sandbox", async () => {
    const made = await learner('POST', '/api/sandboxes', { lesson: 'advanced-kubernetes-patterns' });
    expect(made.status, made.text).toBe(201);
    advanced = made.json as SandboxView;
    await applyAsLearner(advanced, '03_advanced/labs/advanced-kubernetes-patterns/database-crd/solution');
    const check = await learner('POST', `/api/sandboxes/${advanced.namespace}/checks?wait=true`, { exercise: 'database-crd' });
    expect((check.json as CheckRunView).status, check.text).toBe('passed');
    expect(rec().refusals).toEqual([]);
  });

  it('extends, resets and deletes sandboxes, taking their cluster-scoped objects along', async () => {
    expect((await learner('POST', `/api/sandboxes/${fundamentals.namespace}/extend`, { minutes: 30 })).status).toBe(200);
    const reset = await learner('POST', `/api/sandboxes/${fundamentals.namespace}/reset`);
    expect(reset.status, reset.text).toBe(200);
    for (const sandbox of [fundamentals, advanced]) expect((await learner('DELETE', `/api/sandboxes/${sandbox.namespace}`)).status).toBe(204);
    // The refusals first: they name what the ClusterRole lacks (the platform shrugs some off).
    expect(rec().refusals).toEqual([]);
    const core = admin.makeApiClient(CoreV1Api);
    for (const sandbox of [fundamentals, advanced]) {
      await eventually(async () => ((await call(() => core.readNamespace({ name: sandbox.namespace }))).ok ? undefined : true), `${sandbox.namespace} gone`, 120_000, 250);
      expect((await rawClient(admin).get(`/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/kubedojo:sandbox:${sandbox.namespace}`)).ok).toBe(false);
    }
    expect((await rawClient(admin).get(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/databases.${advanced.group}`)).ok).toBe(false);
    expect(rec().refusals).toEqual([]);
  });

  it("reaps a vanished sandbox's ClusterRoleBinding, CRD and PriorityClass", async () => {
    const gone = uniqueName('kd-gone');
    const leftovers: unknown[] = [
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: `kubedojo:sandbox:${gone}`, labels: { 'kubedojo.dev/sandbox-namespace': gone } }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'kubedojo:learner-cluster' }, subjects: [{ kind: 'ServiceAccount', name: 'kubedojo-learner', namespace: gone }] },
      { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: `things.${gone}.labs.kubedojo.dev` }, spec: { group: `${gone}.labs.kubedojo.dev`, scope: 'Namespaced', names: { kind: 'Thing', plural: 'things' }, versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } }] } },
      { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: `${gone}-high` }, value: 1000 },
    ];
    for (const o of leftovers) expect((await rawClient(admin).apply(o as KubernetesObject)).ok).toBe(true);
    await srv().parts.sandboxes.reap();
    expect(rec().refusals).toEqual([]);
    expect((await rawClient(admin).get(`/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/kubedojo:sandbox:${gone}`)).ok).toBe(false);
    await eventually(async () => ((await rawClient(admin).get(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/things.${gone}.labs.kubedojo.dev`)).ok ? undefined : true), 'the CRD gone', 30_000);
    expect((await rawClient(admin).get(`/apis/scheduling.k8s.io/v1/priorityclasses/${gone}-high`)).ok).toBe(false);
    expect(rec().refusals).toEqual([]);
    expect(rec().requests).toBeGreaterThan(50);
  });
});

describe("the chart's platform fence", () => {
  const refusal = async (p: Promise<{ ok: boolean; error?: { message: string } }>) => {
    const result = await p;
    expect(result.ok).toBe(false);
    return result.error?.message ?? '';
  };

  it('refuses what RBAC grants cluster-wide, outside sandbox namespaces', async () => {
    const raw = rawClient(direct);
    expect(await refusal(raw.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace } }))).toContain('writes only in sandbox namespaces');
    expect(await refusal(raw.post('/api/v1/namespaces/kube-system/serviceaccounts/default/token', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} }))).toContain('writes only in sandbox namespaces');
    expect(await refusal(raw.delete(`/api/v1/namespaces/${namespace}`))).toContain('manages only sandbox namespaces');
    // Nor can it make another namespace a sandbox, to work in it.
    expect(await refusal(raw.mergePatch({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: { 'kubedojo.dev/sandbox': 'true' } } }))).toContain('manages only sandbox namespaces');
    expect(await refusal(raw.delete('/apis/scheduling.k8s.io/v1/priorityclasses/system-node-critical'))).toMatch(/PriorityClasses|forbidden/);
  });

  it('and RBAC refuses what the ClusterRole never grants', async () => {
    const raw = rawClient(direct);
    expect(await refusal(raw.get('/api/v1/namespaces/kube-system/secrets'))).toContain('forbidden');
    expect(await refusal(raw.create({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: uniqueName('kd-evil') }, rules: [] } as KubernetesObject))).toContain('forbidden');
    expect(await refusal(raw.create({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: uniqueName('kubedojo:sandbox:kd-evil') }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'ServiceAccount', name: 'x', namespace: 'default' }] } as KubernetesObject))).toContain('forbidden');
  });
});
