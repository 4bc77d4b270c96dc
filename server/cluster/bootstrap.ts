import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, type KubeConfig, type KubernetesObject, type V1Node } from '@kubernetes/client-node';
import { Unavailable } from '../errors.ts';
import type { Progress } from '../progress.ts';
import { call, firstError, type ApiError, type ApiResult } from './api.ts';
import { applyObjects, createMissing, parseManifests, rawClient, readManifests } from './apply.ts';
import { kubeconfigFor, type ComponentId, type Ports } from './components.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { sandboxesDir, type ClusterDirs } from './paths.ts';
import type { Pki } from './pki.ts';
import { tailFile } from './process.ts';
import type { StoredProcess } from './state.ts';
import { ClusterStartError } from './supervisor.ts';

/**
 * The objects the embedded cluster needs in its API before it is ready: bootstrap RBAC and
 * kwok's CRDs, the metrics.k8s.io registration, the simulated node pool; and the kubeconfigs
 * of the control plane's own clients.
 */

export const nodePoolFile = path.join(sandboxesDir, 'cluster', 'nodepool.yaml');
const bootstrapFile = path.join(sandboxesDir, 'cluster', 'bootstrap.yaml');
const metricsApiFile = path.join(sandboxesDir, 'cluster', 'metrics-api.yaml');
const kwokCrdsFile = path.join(sandboxesDir, 'kwok', 'crds.yaml');
const kwokUsageFile = path.join(sandboxesDir, 'kwok', 'usage.yaml');
/** Where kwok serves every node's kubelet endpoints; the nodes' InternalIP. */
const KUBELET_ADDRESS = '127.0.0.1';
const METRICS_APISERVICE = 'v1beta1.metrics.k8s.io';
const METRICS_PATH_ANNOTATION = 'metrics.k8s.io/resource-metrics-path';
const NODES_READY_TIMEOUT_MS = 90_000;
const CRD_ESTABLISHED_TIMEOUT_MS = 30_000;
const METRICS_API_TIMEOUT_MS = 30_000;

export interface BootstrapContext {
  progress: Progress;
  logFile: (id: ComponentId) => string;
}

export function isReady(node: V1Node): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

export async function applyBootstrap(kc: KubeConfig): Promise<void> {
  const objects = [...(await readManifests(bootstrapFile)), ...(await readManifests(kwokCrdsFile))];
  const failed = firstError(await applyObjects(kc, objects));
  if (failed) throw new Unavailable(`could not apply the cluster's bootstrap objects: ${failed.message}`);
  // kwok reads pods' usage from a ClusterResourceUsage: its CRD must serve before the
  // object can be made. Created only when missing: server/cluster/usage.ts owns it after.
  await waitCrdsEstablished(kc, objects.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata?.name ?? ''));
  // An Established CRD may still answer 404 for a moment, until its handler is installed.
  const wanted = await readManifests(kwokUsageFile);
  const deadline = Date.now() + CRD_ESTABLISHED_TIMEOUT_MS;
  let usage = firstError(await createMissing(kc, wanted));
  while (usage?.status === 404 && Date.now() < deadline) {
    await sleep(100);
    usage = firstError(await createMissing(kc, wanted));
  }
  if (usage) throw new Unavailable(`could not create kwok's simulated usage object: ${usage.message}`);
}

async function waitCrdsEstablished(kc: KubeConfig, names: string[]): Promise<void> {
  const client = rawClient(kc);
  const deadline = Date.now() + CRD_ESTABLISHED_TIMEOUT_MS;
  for (const name of names) {
    for (;;) {
      const crd = await client.request<{ status?: { conditions?: { type: string; status: string }[] } }>('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
      if (crd.ok && crd.value.body.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Unavailable(`the CustomResourceDefinition ${name} was not established within ${CRD_ESTABLISHED_TIMEOUT_MS / 1000}s`);
      await sleep(50);
    }
  }
}

/**
 * Registers metrics.k8s.io with the aggregator once metrics-server answers (its port and the
 * cluster CA are in the objects), and waits until the API server reaches it: until then
 * discovery is incomplete and namespaces cannot finish terminating.
 */
export async function ensureMetricsApi(ctx: BootstrapContext, kc: KubeConfig, pki: Pki, ports: Ports, record: StoredProcess | undefined): Promise<void> {
  const caBundle = (await fs.readFile(pki.file('ca.crt'))).toString('base64');
  const text = (await fs.readFile(metricsApiFile, 'utf8'))
    .replaceAll('${port}', String(ports.metricsServer))
    .replaceAll('${caBundle}', caBundle)
    .replaceAll('${started}', record ? `${record.pid}-${record.startTime}` : '');
  const objects = parseManifests(text, metricsApiFile);
  const task = ctx.progress.begin('serving metrics.k8s.io');
  const failed = firstError(await applyObjects(kc, objects));
  if (failed) {
    task.fail(failed.message);
    throw new ClusterStartError('metrics-server', `could not register the metrics.k8s.io API: ${failed.message}`);
  }
  const client = rawClient(kc);
  const deadline = Date.now() + METRICS_API_TIMEOUT_MS;
  for (;;) {
    const service = await client.request<{ status?: { conditions?: { type: string; status: string; message?: string }[] } }>(
      'GET',
      `/apis/apiregistration.k8s.io/v1/apiservices/${METRICS_APISERVICE}`,
    );
    const available = service.ok ? service.value.body.status?.conditions?.find((c) => c.type === 'Available') : undefined;
    if (available?.status === 'True') {
      task.done(`APIService ${METRICS_APISERVICE} available`);
      return;
    }
    if (Date.now() > deadline) {
      const reason = available?.message ?? (service.ok ? 'no Available condition yet' : service.error.message);
      task.fail(reason);
      throw new ClusterStartError(
        'metrics-server',
        `the API server could not reach metrics-server within ${METRICS_API_TIMEOUT_MS / 1000}s: ${reason}`,
        await tailFile(ctx.logFile('metrics-server')),
      );
    }
    await sleep(100);
  }
}

export async function ensureNodePool(ctx: BootstrapContext, kc: KubeConfig, changed: boolean): Promise<void> {
  const nodes = await readManifests(nodePoolFile);
  const names = nodes.map((n) => n.metadata?.name ?? '');
  const core = kc.makeApiClient(CoreV1Api);
  const ready = async (): Promise<string[]> => {
    const list = await call(() => core.listNode());
    if (!list.ok) return names;
    const readyNames = new Set(list.value.items.filter(isReady).map((n) => n.metadata?.name));
    return names.filter((n) => !readyNames.has(n));
  };
  if (!changed && (await ready()).length === 0) return;
  const task = ctx.progress.begin(`waiting for ${names.length} nodes to be Ready`);
  const failed = firstError(await createMissing(kc, nodes)) ?? (await upgradeNodes(kc, nodes));
  if (failed) {
    task.fail(failed.message);
    throw new ClusterStartError('node-pool', `could not create the node pool: ${failed.message}`);
  }
  const deadline = Date.now() + NODES_READY_TIMEOUT_MS;
  let missing = await ready();
  while (missing.length > 0 && Date.now() < deadline) {
    task.update(`${names.length - missing.length}/${names.length} Ready`);
    await sleep(100);
    missing = await ready();
  }
  if (missing.length > 0) {
    task.fail(`not Ready: ${missing.join(', ')}`);
    throw new ClusterStartError('node-pool', `nodes not Ready after ${NODES_READY_TIMEOUT_MS / 1000}s: ${missing.join(', ')}`, await tailFile(ctx.logFile('kwok')));
  }
  task.done(`${names.length}/${names.length} Ready`);
}

/**
 * Nodes made by an earlier version keep what kwok wrote then: give them the metrics path
 * annotation and kwok's address (where metrics-server finds their kubelet), once.
 */
async function upgradeNodes(kc: KubeConfig, wanted: KubernetesObject[]): Promise<ApiError | undefined> {
  const client = rawClient(kc);
  const list = await call(() => kc.makeApiClient(CoreV1Api).listNode());
  if (!list.ok) return list.error;
  const results = await Promise.all(
    list.value.items.map(async (node): Promise<ApiResult<unknown>> => {
      const name = node.metadata?.name ?? '';
      const spec = wanted.find((n) => n.metadata?.name === name);
      if (!spec) return { ok: true, value: undefined }; // not one of the pool's (the real node)
      const want = spec.metadata?.annotations?.[METRICS_PATH_ANNOTATION];
      const patches: ApiResult<unknown>[] = [];
      if (want !== undefined && node.metadata?.annotations?.[METRICS_PATH_ANNOTATION] !== want) {
        patches.push(await client.request('PATCH', `/api/v1/nodes/${name}`, { metadata: { annotations: { [METRICS_PATH_ANNOTATION]: want } } }, 'application/merge-patch+json'));
      }
      // Labels added by a later version (kubedojo.dev/node, the node's role).
      const missing = Object.entries(spec.metadata?.labels ?? {}).filter(([key, value]) => node.metadata?.labels?.[key] !== value);
      if (missing.length > 0) {
        patches.push(await client.request('PATCH', `/api/v1/nodes/${name}`, { metadata: { labels: Object.fromEntries(missing) } }, 'application/merge-patch+json'));
      }
      // kwok's stages keep a node's addresses once set, so an old one would stay for good.
      const addresses = node.status?.addresses ?? [];
      const internal = addresses.filter((a) => a.type === 'InternalIP');
      if (addresses.length > 0 && (internal.length !== 1 || internal[0]?.address !== KUBELET_ADDRESS)) {
        const others = addresses.filter((a) => a.type !== 'InternalIP');
        const body = { status: { addresses: [{ type: 'InternalIP', address: KUBELET_ADDRESS }, ...others] } };
        patches.push(await client.request('PATCH', `/api/v1/nodes/${name}/status`, body, 'application/merge-patch+json'));
      }
      return patches.find((r) => !r.ok) ?? { ok: true, value: undefined };
    }),
  );
  return firstError(results);
}

export async function writeKubeconfigs(dirs: ClusterDirs, pki: Pki, ports: Ports): Promise<void> {
  const server = `https://127.0.0.1:${ports.apiserver}`;
  const caData = await fs.readFile(pki.file('ca.crt'), 'utf8');
  const write = async (file: string, user: string, name: 'admin' | 'super-admin' | 'controller-manager' | 'scheduler' | 'kwok' | 'metrics-server') =>
    writeKubeconfig(file, {
      server,
      caData,
      user,
      clientCertificateData: await fs.readFile(pki.file(`${name}.crt`), 'utf8'),
      clientKeyData: await fs.readFile(pki.file(`${name}.key`), 'utf8'),
    });
  await Promise.all([
    write(dirs.adminKubeconfig, 'kubedojo-admin', 'admin'),
    write(kubeconfigFor(dirs, 'super-admin'), 'kubedojo-super-admin', 'super-admin'),
    write(kubeconfigFor(dirs, 'controller-manager'), 'kube-controller-manager', 'controller-manager'),
    write(kubeconfigFor(dirs, 'scheduler'), 'kube-scheduler', 'scheduler'),
    write(kubeconfigFor(dirs, 'kwok'), 'kwok', 'kwok'),
    write(kubeconfigFor(dirs, 'metrics-server'), 'metrics-server', 'metrics-server'),
  ]);
}

