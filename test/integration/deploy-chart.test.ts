import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { call } from '../../server/cluster/api.ts';
import { parseManifests, rawClient } from '../../server/cluster/apply.ts';
import type { BuiltImage } from '../../server/cluster/images/builders.ts';
import { ensureDeployImage } from '../../server/cluster/images/deploy-images.ts';
import { loadConfig } from '../../server/config.ts';
import { chartDir, ensureHelm } from '../../server/deploy/helm.ts';
import { helmTemplate, renderManifests, runHelm } from '../../server/deploy/render.ts';
import { silentLogger } from '../../server/logger.ts';
import { silentProgress } from '../../server/progress.ts';
import type { CheckRunView, ReadyResponse, SandboxView } from '../../server/protocol.ts';
import { projectRoot } from '../helpers/cli.ts';
import { installChart, loadIntoRealNode } from '../helpers/deploy.ts';
import { adminKubeConfig, eventually, uniqueName } from '../helpers/cluster.ts';
import { browser } from '../helpers/http.ts';
import { blob, readTar } from '../helpers/images.ts';
import { kubectlFor, type Kubectl } from '../helpers/real-node.ts';

/**
 * kubedojo on a cluster, as an operator installs it: its image built here without Docker and
 * loaded into the embedded cluster's runtime, the chart installed by the pinned helm with one
 * replica and SQLite on an emptyDir, on the real node. Reached through its Service (kubectl
 * port-forward, through the API server), it serves a learner end to end: sign-up, sandbox,
 * Check, with nothing but the chart's ClusterRole. The chart's own checks (lint, the schema's
 * refusals, the committed plain manifests) run with the same helm.
 */

const loaded = loadConfig({}, { HOME: os.homedir(), PATH: process.env.PATH ?? '' });
if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
const { config } = loaded;
const RELEASE = 'kubedojo';

let helm: string;
let app: BuiltImage;
let admin: KubeConfig;
let kubectl: Kubectl;

beforeAll(async () => {
  admin = adminKubeConfig(inject('kubeconfig'));
  kubectl = await kubectlFor(inject('kubeconfig'));
  helm = (await ensureHelm({ cacheDir: config.cacheDir, go: config.go, env: config.env, progress: silentProgress, logger: silentLogger() })).path;
  app = await ensureDeployImage('app', { cacheDir: config.cacheDir, env: config.env, progress: silentProgress, logger: silentLogger() });
  await loadIntoRealNode(inject('clusterDataDir'), admin, app);
}, 1_800_000);

describe('the chart, rendered by the pinned helm', () => {
  it('lints clean', async () => {
    const lint = await runHelm(helm, ['lint', '--strict', chartDir], config.env);
    expect(lint.code, lint.stdout + lint.stderr).toBe(0);
  });

  it('refuses several replicas without a shared database, unknown values and wrong types, saying why', async () => {
    const template = (values: Record<string, unknown>) => helmTemplate(helm, { values, env: config.env });
    const replicas = await template({ replicaCount: 2 });
    expect(replicas.code).not.toBe(0);
    expect(replicas.stderr).toContain('replicaCount: several replicas need a shared PostgreSQL database: set database.url');
    const oneDisk = await template({ replicaCount: 2, database: { url: 'postgres://kubedojo:pw@db:5432/kubedojo' } });
    expect(oneDisk.stderr).toContain('persistence: several replicas cannot share a ReadWriteOnce claim');
    const sqliteShared = await template({ persistence: { accessModes: ['ReadWriteMany'] } });
    expect(sqliteShared.stderr).toContain('SQLite needs a disk of its own');
    const shell = await template({ replicaCount: 2, database: { existingSecret: 'db' }, persistence: { enabled: false }, extraEnv: [{ name: 'KUBEDOJO_TERMINAL_BACKEND', value: 'jail' }] });
    expect(shell.stderr).toContain('KUBEDOJO_TERMINAL_BACKEND cannot be changed with several replicas');
    const unknown = await template({ replicas: 1 });
    expect(unknown.stderr).toMatch(/additional properties 'replicas' not allowed/);
    const wrong = await template({ sandboxes: { ttlMinutes: 'two hours' } });
    expect(wrong.stderr).toMatch(/sandboxes\/ttlMinutes.*(integer|number)/);
    const star = await template({ rbac: { extraRules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['*'] }] } });
    expect(star.code).not.toBe(0);
  });

  it('renders several replicas on a shared database: a rolling update, the URL from a Secret, spread over nodes, the leader Role', async () => {
    const rendered = await helmTemplate(helm, { values: { replicaCount: 3, database: { url: 'postgres://kubedojo:s3cret@db:5432/kubedojo' }, persistence: { enabled: false } }, env: config.env });
    expect(rendered.code, rendered.stderr).toBe(0);
    const objects = parseManifests(rendered.stdout, 'helm template');
    const one = (kind: string): unknown => objects.find((o) => o.kind === kind);
    expect(one('Deployment')).toMatchObject({
      spec: {
        replicas: 3,
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
        template: {
          spec: {
            containers: [{ env: expect.arrayContaining([{ name: 'KUBEDOJO_DATABASE_URL', valueFrom: { secretKeyRef: { name: `${RELEASE}-database`, key: 'url' } } }, { name: 'KUBEDOJO_TERMINAL_BACKEND', value: 'pod' }]) as unknown }],
            affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ podAffinityTerm: { topologyKey: 'kubernetes.io/hostname' } }] } },
          },
        },
      },
    });
    // The password only in the Secret.
    expect(rendered.stdout.match(/s3cret/g)).toHaveLength(1);
    expect(one('Secret')).toMatchObject({ metadata: { name: `${RELEASE}-database` }, stringData: { url: 'postgres://kubedojo:s3cret@db:5432/kubedojo' } });
    expect(one('PodDisruptionBudget')).toMatchObject({ spec: { maxUnavailable: 1 } });
    expect(one('Role')).toMatchObject({
      rules: [
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['kubedojo-leader'], verbs: ['get', 'update'] },
      ],
    });
    // No session affinity: the client speaks websockets only.
    expect(one('Service')).not.toMatchObject({ spec: { sessionAffinity: expect.anything() as unknown } });
  });

  it('renders the committed plain manifests (deploy/manifests/kubedojo.yaml is current)', async () => {
    const result = await renderManifests(helm, { check: true, env: config.env });
    expect(result.current, `${result.file} is stale: run "npx kubedojo deploy manifests" and commit it`).toBe(true);
    const objects = parseManifests(await fs.readFile(result.file, 'utf8'), result.file);
    expect(objects.filter((o) => o.kind === 'ClusterRole').map((o) => o.metadata?.name).sort()).toEqual(['kubedojo:learner', 'kubedojo:learner-cluster', 'kubedojo:platform']);
  });
});

describe("kubedojo installed by helm on the embedded cluster's real node", () => {
  let namespace: string;
  let forward: ChildProcess | undefined;
  let url = '';
  let pod: V1Pod;

  beforeAll(async () => {
    namespace = uniqueName('kubedojo-it');
    const values = {
      // SQLite on an emptyDir: volumes of the embedded cluster are simulated, Pods with a claim stay off the real node.
      persistence: { enabled: false },
      nodeSelector: { 'kubedojo.dev/node': 'real' },
      // The image is in the node's runtime, never pulled.
      image: { pullPolicy: 'Never' },
      resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '1Gi' } },
    };
    await installChart({ helm, kubeconfig: inject('kubeconfig'), kubectl, release: RELEASE, namespace, values, env: config.env });
    const pods = await admin.makeApiClient(CoreV1Api).listNamespacedPod({ namespace, labelSelector: `app.kubernetes.io/instance=${RELEASE}` });
    const found = pods.items[0];
    if (!found) throw new Error('the release has no Pod');
    pod = found;
    forward = spawn(kubectl.path, [`--kubeconfig=${inject('kubeconfig')}`, '-n', namespace, 'port-forward', `svc/${RELEASE}`, ':80'], { stdio: ['ignore', 'pipe', 'pipe'] });
    url = await new Promise<string>((resolve, reject) => {
      let seen = '';
      forward?.stdout?.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        const port = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(seen)?.[1];
        if (port) resolve(`http://127.0.0.1:${port}`);
      });
      forward?.stderr?.on('data', (chunk: Buffer) => (seen += chunk.toString()));
      forward?.on('exit', (code) => {
        reject(new Error(`kubectl port-forward exited (${code ?? 'signal'}): ${seen}`));
      });
    });
  }, 900_000);

  afterAll(async () => {
    forward?.kill();
    if (!namespace) return;
    await runHelm(helm, ['uninstall', RELEASE, '--namespace', namespace, '--wait', '--kubeconfig', inject('kubeconfig')], config.env);
    await call(() => admin.makeApiClient(CoreV1Api).deleteNamespace({ name: namespace }));
  });

  it('runs its own image on the real node, non-root, with a read-only root file system', async () => {
    expect(pod.spec?.nodeName).toBe('real-node');
    const container = pod.spec?.containers[0];
    expect(container?.image).toBe(app.name);
    // The runtime names an image loaded from an archive by its config's digest.
    const entries = await readTar(app.archive);
    const manifest = JSON.parse(blob(entries, app.digest).toString()) as { config: { digest: string } };
    expect(pod.status?.containerStatuses?.[0]?.imageID).toContain(manifest.config.digest);
    expect(pod.spec?.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
    expect(container?.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(pod.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
  });

  it('answers /healthz and /readyz through its Service: the database and the API server, from inside the cluster', async () => {
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect((await ready.json()) as ReadyResponse).toEqual({ status: 'ready', checks: { database: { ok: true }, cluster: { ok: true } } });
  });

  const username = uniqueName('pod-alice');

  it('signs a learner up, makes their sandbox and runs a Check through the REST API', async () => {
    const learner = browser(() => url);
    const signup = await learner('POST', '/api/auth/register', { username, password: 'correct horse battery staple' });
    expect(signup.status, signup.text).toBe(201);
    const made = await learner('POST', '/api/sandboxes', { lesson: 'kubernetes-fundamentals' });
    expect(made.status, made.text).toBe(201);
    const sandbox = made.json as SandboxView;
    // Nothing done yet: the check fails, saying what it expected.
    const first = await learner('POST', `/api/sandboxes/${sandbox.namespace}/checks?wait=true`, { exercise: 'deploy-web' });
    expect((first.json as CheckRunView).status, first.text).toBe('failed');
    // The learner's work (applied here with the platform's admin credential, as kubectl would).
    const web = parseManifests(await fs.readFile(path.join(projectRoot, 'lessons/02_intermediate/labs/kubernetes-fundamentals/deploy-web/solution/web.yaml'), 'utf8'), 'web.yaml');
    for (const object of web) expect((await rawClient(admin).apply(object, { namespace: sandbox.namespace })).ok).toBe(true);
    const second = await learner('POST', `/api/sandboxes/${sandbox.namespace}/checks?wait=true`, { exercise: 'deploy-web' });
    expect((second.json as CheckRunView).status, second.text).toBe('passed');
    expect((await learner('DELETE', `/api/sandboxes/${sandbox.namespace}`)).status).toBe(204);
    const core = admin.makeApiClient(CoreV1Api);
    await eventually(async () => ((await call(() => core.readNamespace({ name: sandbox.namespace }))).ok ? undefined : true), `${sandbox.namespace} deleted`, 120_000, 250);
  });

  it('backs its database up while it serves (kubectl exec … -- kubedojo db backup -)', async () => {
    const file = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-backup-')), 'kubedojo.db');
    const out = await fs.open(file, 'w');
    const exec = spawn(kubectl.path, [`--kubeconfig=${inject('kubeconfig')}`, '-n', namespace, 'exec', `deploy/${RELEASE}`, '--', 'kubedojo', 'db', 'backup', '-'], { stdio: ['ignore', out.fd, 'pipe'] });
    let stderr = '';
    exec.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => exec.on('close', resolve));
    await out.close();
    expect(code, stderr).toBe(0);
    expect(stderr).toContain('integrity ok');
    const db = new Database(file, { readonly: true });
    try {
      expect(db.prepare('SELECT kind FROM learners WHERE username = ?').pluck().get(username)).toBe('account');
    } finally {
      db.close();
      await fs.rm(path.dirname(file), { recursive: true, force: true });
    }
  });

  it('keeps the platform inside its ClusterRole: its logs name no refusal', async () => {
    const logs = await kubectl(['-n', namespace, 'logs', `deploy/${RELEASE}`]);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toContain('kubedojo is serving');
    expect(logs.stdout).not.toMatch(/forbidden|Forbidden/);
    // Nothing is built in a pod: no control plane, no images, no Go.
    expect(logs.stdout).not.toMatch(/building|controlplane-build|local cluster/);
  });
});
