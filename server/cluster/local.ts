import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, KubeConfig, type KubernetesObject, type V1Node } from '@kubernetes/client-node';
import lockfile from 'proper-lockfile';
import { z } from 'zod';
import type { Config } from '../config.ts';
import { Conflict, Unavailable } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Progress } from '../progress.ts';
import { call, firstError, type ApiError, type ApiResult } from './api.ts';
import { applyObjects, createMissing, parseManifests, rawClient, readManifests } from './apply.ts';
import { ensureControlPlane, type ComponentResult, type ControlPlane } from './build.ts';
import { componentDefinitions, componentIds, kubeconfigFor, portNames, type ComponentDefinition, type ComponentId, type PortName, type Ports } from './components.ts';
import { probe } from './health.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { clusterDirs, sandboxesDir, type ClusterDirs } from './paths.ts';
import { ensurePki, type Pki } from './pki.ts';
import { freePort, isPortFree } from './ports.ts';
import { isAlive, spawnDetached, tailFile, terminate, type ProcessRecord } from './process.ts';

/**
 * The embedded cluster: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok
 * and metrics-server run as local processes that outlive the command that started them. Their
 * pids, ports and flags live in <data-dir>/cluster/state.json; `up` starts what is missing
 * (repairing a crashed component), `down` stops exactly what `up` started, and data survives both.
 */

const processSchema = z.object({
  pid: z.number().int(),
  startTime: z.number(),
  binary: z.string(),
  startedAt: z.string(),
  fingerprint: z.string(),
});
type StoredProcess = z.infer<typeof processSchema>;

const stateSchema = z.object({
  version: z.literal(1),
  desired: z.enum(['up', 'down']),
  // Partial: a newer version may add ports (metrics-server did); missing ones are picked anew.
  ports: z.partialRecord(z.enum(portNames), z.number().int()).optional(),
  processes: z.partialRecord(z.enum(componentIds), processSchema).default({}),
  kubernetesVersion: z.string().optional(),
});
type State = z.infer<typeof stateSchema>;

export const nodePoolFile = path.join(sandboxesDir, 'cluster', 'nodepool.yaml');
const bootstrapFile = path.join(sandboxesDir, 'cluster', 'bootstrap.yaml');
const metricsApiFile = path.join(sandboxesDir, 'cluster', 'metrics-api.yaml');
const kwokConfigFiles = [path.join(sandboxesDir, 'kwok', 'stages.yaml'), path.join(sandboxesDir, 'kwok', 'metrics.yaml')];
const kwokCrdsFile = path.join(sandboxesDir, 'kwok', 'crds.yaml');
const kwokUsageFile = path.join(sandboxesDir, 'kwok', 'usage.yaml');
/** Where kwok serves every node's kubelet endpoints; the nodes' InternalIP. */
const KUBELET_ADDRESS = '127.0.0.1';
const METRICS_APISERVICE = 'v1beta1.metrics.k8s.io';
const METRICS_PATH_ANNOTATION = 'metrics.k8s.io/resource-metrics-path';

/** Which component owns each port: a port held by our own live component is not "busy". */
const portOwner: Record<PortName, ComponentId> = {
  etcd: 'etcd',
  etcdPeer: 'etcd',
  etcdMetrics: 'etcd',
  apiserver: 'kube-apiserver',
  controllerManager: 'kube-controller-manager',
  scheduler: 'kube-scheduler',
  kwok: 'kwok',
  metricsServer: 'metrics-server',
};

const START_TIMEOUT_MS: Record<ComponentId, number> = {
  etcd: 30_000,
  'kube-apiserver': 120_000,
  'kube-controller-manager': 60_000,
  'kube-scheduler': 60_000,
  kwok: 60_000,
  'metrics-server': 60_000,
};
const NODES_READY_TIMEOUT_MS = 90_000;
const CRD_ESTABLISHED_TIMEOUT_MS = 30_000;
const METRICS_API_TIMEOUT_MS = 30_000;

export interface LocalClusterOptions {
  dataDir: string;
  cacheDir: string;
  go: string;
  env: Readonly<Record<string, string>>;
  /** 0 picks a free port (and keeps it across restarts while it stays free). */
  apiPort: number;
  etcdUnsafeNoFsync: boolean;
  logger: Logger;
  progress: Progress;
}

export type ComponentState = 'running' | 'unhealthy' | 'crashed' | 'stopped';

export interface ComponentStatus {
  id: ComponentId;
  state: ComponentState;
  pid: number | null;
  port: number | null;
  detail: string | null;
  log: string;
  /** The end of the log when the component is not healthy. */
  lastLines: string[];
}

export interface ClusterStatus {
  state: 'running' | 'degraded' | 'stopped' | 'not-created';
  server: string | null;
  kubeconfig: string;
  kubernetesVersion: string | null;
  components: ComponentStatus[];
}

export interface UpReport {
  alreadyRunning: boolean;
  started: ComponentId[];
  /** Components that had crashed and were started again. */
  repaired: ComponentId[];
  server: string;
  kubeconfig: string;
  durationMs: number;
  build: ComponentResult[];
  notes: string[];
}

export interface DownReport {
  stopped: { id: ComponentId; result: 'stopped' | 'killed' | 'not-running' }[];
}

export class ClusterStartError extends Error {
  readonly component: ComponentId | 'node-pool';
  readonly lastLines: string[];
  constructor(component: ComponentId | 'node-pool', message: string, lastLines: string[] = []) {
    super(lastLines.length > 0 ? `${message}\nLast lines of its log:\n  ${lastLines.join('\n  ')}` : message);
    this.name = 'ClusterStartError';
    this.component = component;
    this.lastLines = lastLines;
  }
}

export class LocalCluster {
  readonly dirs: ClusterDirs;
  private readonly options: LocalClusterOptions;
  private readonly log: Logger;
  private stateWrites: Promise<void> = Promise.resolve();

  constructor(options: LocalClusterOptions) {
    this.options = options;
    this.dirs = clusterDirs(options.dataDir);
    this.log = options.logger.child({ component: 'local-cluster' });
  }

  get kubeconfigPath(): string {
    return this.dirs.adminKubeconfig;
  }

  logFile(id: ComponentId): string {
    return path.join(this.dirs.logs, `${id}.log`);
  }

  /** Starts (or repairs) the cluster and returns once the API is healthy and the nodes Ready. */
  async up(): Promise<UpReport> {
    const started = Date.now();
    await fs.mkdir(this.dirs.root, { recursive: true, mode: 0o700 });
    const release = await this.lock();
    try {
      return await this.upLocked(started);
    } finally {
      await release();
    }
  }

  private async upLocked(startedAt: number): Promise<UpReport> {
    const { progress } = this.options;
    const controlPlane = await ensureControlPlane({
      cacheDir: this.options.cacheDir,
      go: this.options.go,
      env: this.options.env,
      progress,
      logger: this.options.logger,
    });
    const notes: string[] = [];
    const { pki, created, replaced } = await ensurePki(this.dirs.pki);
    if (created.length > 0) this.log.info({ created }, 'created certificates and keys');
    if (replaced) notes.push(`the cluster's certificates could not be read and were made anew (the old ones are beside ${this.dirs.pki})`);
    await Promise.all([this.dirs.etcdData, this.dirs.logs, this.dirs.config].map((d) => fs.mkdir(d, { recursive: true, mode: 0o700 })));

    const state = await this.readState();
    // Components read their certificates at start: new or renewed ones mean a restart.
    const pkiStamp = await stampOf(pki.dir);
    const ports = await this.resolvePorts(state, notes);
    await this.writeKubeconfigs(pki, ports);
    const definitions = componentDefinitions({
      binaries: controlPlane.binaries,
      pki,
      dirs: this.dirs,
      ports,
      etcdUnsafeNoFsync: this.options.etcdUnsafeNoFsync,
      kwokConfigFiles,
    });
    state.ports = ports;
    state.kubernetesVersion = controlPlane.versions.kubernetes;

    const startedIds: ComponentId[] = [];
    const repaired: ComponentId[] = [];
    const byId = new Map(definitions.map((d) => [d.id, d]));
    const get = (id: ComponentId): ComponentDefinition => {
      const def = byId.get(id);
      if (!def) throw new Error(`no definition for ${id}`);
      return def;
    };

    const ensure = async (id: ComponentId): Promise<void> => {
      const def = get(id);
      const fingerprint = fingerprintOf(def, ports, pkiStamp, await contentStamp(def.configFiles ?? []));
      const record = state.processes[id];
      if (record && (await isAlive(record))) {
        if (record.fingerprint === fingerprint) {
          await this.waitHealthy(def, record);
          return;
        }
        this.log.info({ id }, `restarting ${id}: its version or flags changed`);
        await terminate(record);
      } else if (record && state.desired === 'up') {
        repaired.push(id);
        notes.push(`${id} had stopped (pid ${record.pid}); started it again`);
      }
      const task = progress.begin(`starting ${id}`);
      try {
        const spawned = await spawnDetached({
          binary: def.binary,
          args: def.args,
          logFile: this.logFile(id),
          env: componentEnv(this.options.env, this.dirs.root),
          cwd: this.dirs.root,
        });
        const stored: StoredProcess = { ...spawned, fingerprint };
        state.processes[id] = stored;
        state.desired = 'up';
        await this.writeState(state);
        await this.waitHealthy(def, stored);
        startedIds.push(id);
        task.done(`pid ${spawned.pid}, 127.0.0.1:${def.port}`);
      } catch (error) {
        task.fail(error instanceof Error ? error.message.split('\n')[0] ?? '' : String(error));
        throw error;
      }
    };

    await ensure('etcd');
    await ensure('kube-apiserver');
    const kc = this.kubeConfig(path.join(this.dirs.config, 'super-admin.kubeconfig'));
    await Promise.all([
      ensure('kube-controller-manager'),
      ensure('kube-scheduler'),
      (async () => {
        // Cheap and idempotent, so always: it also restores a deleted binding. kwok's and
        // metrics-server's RBAC and kwok's usage objects must exist before they start, or they
        // back off and the nodes and metrics come late.
        await this.applyBootstrap(kc);
        // The nodes and the metrics API come up side by side (each waits on its own process).
        await Promise.all([
          (async () => {
            await ensure('kwok');
            await this.ensureNodePool(kc, startedIds.length > 0);
          })(),
          (async () => {
            await ensure('metrics-server');
            await this.ensureMetricsApi(kc, pki, ports, state.processes['metrics-server']);
          })(),
        ]);
      })(),
    ]);
    state.desired = 'up';
    await this.writeState(state);

    const server = `https://127.0.0.1:${ports.apiserver}`;
    return {
      alreadyRunning: startedIds.length === 0,
      started: startedIds,
      repaired,
      server,
      kubeconfig: this.dirs.adminKubeconfig,
      durationMs: Date.now() - startedAt,
      build: controlPlane.components,
      notes,
    };
  }

  /** Stops every process `up` started (and nothing else), keeping all data. */
  async down(): Promise<DownReport> {
    await fs.mkdir(this.dirs.root, { recursive: true, mode: 0o700 });
    const release = await this.lock();
    try {
      const state = await this.readState();
      const stopped: DownReport['stopped'] = [];
      for (const id of [...componentIds].reverse()) {
        const record = state.processes[id];
        const result = record ? await terminate(record) : 'not-running';
        stopped.push({ id, result });
        // Forgotten only once the process is gone, so a failed down can be retried.
        if (record) state.processes = Object.fromEntries(Object.entries(state.processes).filter(([key]) => key !== id));
      }
      state.desired = 'down';
      await this.writeState(state);
      return { stopped };
    } finally {
      await release();
    }
  }

  async status(): Promise<ClusterStatus> {
    const exists = await fs
      .access(this.dirs.state)
      .then(() => true)
      .catch(() => false);
    const state = await this.readState();
    const ports = state.ports;
    const components = await Promise.all(
      componentIds.map(async (id): Promise<ComponentStatus> => {
        const record = state.processes[id];
        const port = ports ? ports[mainPort(id)] : undefined;
        const log = this.logFile(id);
        const base = { id, pid: record?.pid ?? null, port: port ?? null, log };
        if (!record) return { ...base, state: 'stopped', detail: null, lastLines: [] };
        if (!(await isAlive(record))) {
          return { ...base, state: 'crashed', detail: `pid ${record.pid} is not running`, lastLines: await tailFile(log) };
        }
        if (!ports || port === undefined) return { ...base, state: 'unhealthy', detail: 'no port recorded', lastLines: [] };
        // Only this component's own ports matter to its health check.
        const check = this.healthCheckOf(id, ports as Ports);
        const result = await probe(check);
        if (result.healthy) return { ...base, state: 'running', detail: null, lastLines: [] };
        return { ...base, state: 'unhealthy', detail: result.reason, lastLines: await tailFile(log) };
      }),
    );
    const running = components.filter((c) => c.state === 'running').length;
    let overall: ClusterStatus['state'];
    if (!exists) overall = 'not-created';
    else if (running === components.length) overall = 'running';
    else if (running === 0 && components.every((c) => c.state === 'stopped')) overall = 'stopped';
    else overall = 'degraded';
    return {
      state: overall,
      server: ports?.apiserver !== undefined ? `https://127.0.0.1:${ports.apiserver}` : null,
      kubeconfig: this.dirs.adminKubeconfig,
      kubernetesVersion: state.kubernetesVersion ?? null,
      components,
    };
  }

  private healthCheckOf(id: ComponentId, ports: Ports) {
    const pki: Pki = { dir: this.dirs.pki, file: (name) => path.join(this.dirs.pki, name) };
    const none = '';
    const defs = componentDefinitions({
      binaries: { etcd: none, kubeApiserver: none, kubeControllerManager: none, kubeScheduler: none, kubectl: none, kwok: none, metricsServer: none },
      pki,
      dirs: this.dirs,
      ports,
      etcdUnsafeNoFsync: false,
      kwokConfigFiles,
    });
    const def = defs.find((d) => d.id === id);
    if (!def) throw new Error(`no definition for ${id}`);
    return def.health;
  }

  private kubeConfig(file: string): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromFile(file);
    return kc;
  }

  private async waitHealthy(def: ComponentDefinition, record: ProcessRecord): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS[def.id];
    let last = '';
    let delay = 50;
    while (Date.now() < deadline) {
      if (!(await isAlive(record))) {
        // Give the log a moment to be flushed by the dying process.
        await sleep(100);
        const lines = await tailFile(this.logFile(def.id));
        const busy = lines.some((l) => /address already in use/i.test(l));
        throw new ClusterStartError(
          def.id,
          busy
            ? `${def.id} could not listen on 127.0.0.1:${def.port}: the port is in use by another program. Run "kubedojo cluster up" again to pick free ports.`
            : `${def.id} exited while starting (log: ${this.logFile(def.id)})`,
          lines,
        );
      }
      const result = await probe(def.health);
      if (result.healthy) return;
      last = result.reason;
      await sleep(delay);
      delay = Math.min(delay * 2, 400);
    }
    throw new ClusterStartError(def.id, `${def.id} did not become healthy within ${START_TIMEOUT_MS[def.id] / 1000}s: ${last}`, await tailFile(this.logFile(def.id)));
  }

  private async applyBootstrap(kc: KubeConfig): Promise<void> {
    const objects = [...(await readManifests(bootstrapFile)), ...(await readManifests(kwokCrdsFile))];
    const failed = firstError(await applyObjects(kc, objects));
    if (failed) throw new Unavailable(`could not apply the cluster's bootstrap objects: ${failed.message}`);
    // kwok reads pods' usage from a ClusterResourceUsage: its CRD must serve before the
    // object can be made. Created only when missing: server/cluster/usage.ts owns it after.
    await this.waitCrdsEstablished(kc, objects.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata?.name ?? ''));
    const usage = firstError(await createMissing(kc, await readManifests(kwokUsageFile)));
    if (usage) throw new Unavailable(`could not create kwok's simulated usage object: ${usage.message}`);
  }

  private async waitCrdsEstablished(kc: KubeConfig, names: string[]): Promise<void> {
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
  private async ensureMetricsApi(kc: KubeConfig, pki: Pki, ports: Ports, record: StoredProcess | undefined): Promise<void> {
    const caBundle = (await fs.readFile(pki.file('ca.crt'))).toString('base64');
    const text = (await fs.readFile(metricsApiFile, 'utf8'))
      .replaceAll('${port}', String(ports.metricsServer))
      .replaceAll('${caBundle}', caBundle)
      .replaceAll('${started}', record ? `${record.pid}-${record.startTime}` : '');
    const objects = parseManifests(text, metricsApiFile);
    const task = this.options.progress.begin('serving metrics.k8s.io');
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
          await tailFile(this.logFile('metrics-server')),
        );
      }
      await sleep(100);
    }
  }

  private async ensureNodePool(kc: KubeConfig, changed: boolean): Promise<void> {
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
    const task = this.options.progress.begin(`waiting for ${names.length} nodes to be Ready`);
    const failed = firstError(await createMissing(kc, nodes)) ?? (await this.upgradeNodes(kc, nodes));
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
      throw new ClusterStartError('node-pool', `nodes not Ready after ${NODES_READY_TIMEOUT_MS / 1000}s: ${missing.join(', ')}`, await tailFile(this.logFile('kwok')));
    }
    task.done(`${names.length}/${names.length} Ready`);
  }

  /**
   * Nodes made by an earlier version keep what kwok wrote then: give them the metrics path
   * annotation and kwok's address (where metrics-server finds their kubelet), once.
   */
  private async upgradeNodes(kc: KubeConfig, wanted: KubernetesObject[]): Promise<ApiError | undefined> {
    const client = rawClient(kc);
    const list = await call(() => kc.makeApiClient(CoreV1Api).listNode());
    if (!list.ok) return list.error;
    const results = await Promise.all(
      list.value.items.map(async (node): Promise<ApiResult<unknown>> => {
        const name = node.metadata?.name ?? '';
        const want = wanted.find((n) => n.metadata?.name === name)?.metadata?.annotations?.[METRICS_PATH_ANNOTATION];
        const patches: ApiResult<unknown>[] = [];
        if (want !== undefined && node.metadata?.annotations?.[METRICS_PATH_ANNOTATION] !== want) {
          patches.push(await client.request('PATCH', `/api/v1/nodes/${name}`, { metadata: { annotations: { [METRICS_PATH_ANNOTATION]: want } } }, 'application/merge-patch+json'));
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

  private async writeKubeconfigs(pki: Pki, ports: Ports): Promise<void> {
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
      write(this.dirs.adminKubeconfig, 'kubedojo-admin', 'admin'),
      write(kubeconfigFor(this.dirs, 'super-admin'), 'kubedojo-super-admin', 'super-admin'),
      write(kubeconfigFor(this.dirs, 'controller-manager'), 'kube-controller-manager', 'controller-manager'),
      write(kubeconfigFor(this.dirs, 'scheduler'), 'kube-scheduler', 'scheduler'),
      write(kubeconfigFor(this.dirs, 'kwok'), 'kwok', 'kwok'),
      write(kubeconfigFor(this.dirs, 'metrics-server'), 'metrics-server', 'metrics-server'),
    ]);
  }

  /** Keeps last time's ports while they are free (so kubeconfigs stay valid), else picks new ones. */
  private async resolvePorts(state: State, notes: string[]): Promise<Ports> {
    const chosen: Partial<Ports> = {};
    const used = new Set<number>();
    for (const name of portNames) {
      const explicit = name === 'apiserver' && this.options.apiPort > 0 ? this.options.apiPort : undefined;
      const previous = state.ports?.[name];
      const wanted = explicit ?? previous;
      if (wanted !== undefined && !used.has(wanted)) {
        const owner = state.processes[portOwner[name]];
        const ownedByUs = owner !== undefined && (await isAlive(owner)) && previous === wanted;
        if (ownedByUs || (await isPortFree(wanted))) {
          chosen[name] = wanted;
          used.add(wanted);
          continue;
        }
        if (explicit !== undefined) {
          throw new Conflict(
            `Port ${explicit} on 127.0.0.1 is already in use by another program, so the API server cannot listen there. ` +
              'Choose another with --api-port (or KUBEDOJO_API_PORT), or leave it out to pick a free port.',
          );
        }
        notes.push(`port ${wanted} (${name}) is now used by another program; moved to a free port`);
      }
      const port = await freePort(used);
      chosen[name] = port;
      used.add(port);
    }
    return chosen as Ports;
  }

  private async readState(): Promise<State> {
    let raw: string;
    try {
      raw = await fs.readFile(this.dirs.state, 'utf8');
    } catch {
      return { version: 1, desired: 'down', processes: {} };
    }
    const parsed = stateSchema.safeParse(safeJson(raw));
    if (!parsed.success) {
      // A damaged state file loses only pids and ports; etcd's data is elsewhere and kept.
      this.log.warn({ file: this.dirs.state }, 'cluster state file is damaged; starting from a clean state');
      return { version: 1, desired: 'down', processes: {} };
    }
    return parsed.data;
  }

  /** Writes are chained: components start in parallel and each records itself. */
  private writeState(state: State): Promise<void> {
    const text = `${JSON.stringify(state, null, 2)}\n`;
    const write = async () => {
      const tmp = `${this.dirs.state}.tmp-${process.pid}`;
      await fs.writeFile(tmp, text, { mode: 0o600 });
      await fs.rename(tmp, this.dirs.state);
    };
    this.stateWrites = this.stateWrites.then(write, write);
    return this.stateWrites;
  }

  /** One kubedojo at a time changes the cluster; a second one waits and says so. */
  private async lock(): Promise<() => Promise<void>> {
    const options = { lockfilePath: this.dirs.lock, stale: 15_000, update: 5_000, realpath: false };
    let waiting: ReturnType<Progress['begin']> | undefined;
    const deadline = Date.now() + 20 * 60_000;
    for (;;) {
      try {
        const release = await lockfile.lock(this.dirs.root, options);
        waiting?.done();
        return release;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ELOCKED' || Date.now() > deadline) throw error;
        waiting ??= this.options.progress.begin('waiting for another kubedojo command that is changing the cluster');
        await sleep(500);
      }
    }
  }
}

function mainPort(id: ComponentId): PortName {
  switch (id) {
    case 'etcd':
      return 'etcd';
    case 'kube-apiserver':
      return 'apiserver';
    case 'kube-controller-manager':
      return 'controllerManager';
    case 'kube-scheduler':
      return 'scheduler';
    case 'kwok':
      return 'kwok';
    case 'metrics-server':
      return 'metricsServer';
  }
}

function fingerprintOf(def: ComponentDefinition, ports: Ports, pkiStamp: string, configStamp: string): string {
  return createHash('sha256').update(JSON.stringify([def.binary, def.args, ports, pkiStamp, configStamp])).digest('hex').slice(0, 16);
}

async function contentStamp(files: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const file of files) hash.update(await fs.readFile(file));
  return hash.digest('hex').slice(0, 16);
}

async function stampOf(dir: string): Promise<string> {
  const hash = createHash('sha256');
  for (const name of (await fs.readdir(dir)).filter((n) => n.endsWith('.crt') || n === 'sa.pub').sort()) hash.update(await fs.readFile(path.join(dir, name)));
  return hash.digest('hex').slice(0, 16);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isReady(node: V1Node): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** Components get a small, fixed environment: nothing of the caller's (no KUBECONFIG, no tokens). */
function componentEnv(env: Readonly<Record<string, string>>, home: string): Record<string, string> {
  return { PATH: env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: home, TMPDIR: env.TMPDIR ?? '/tmp', LANG: 'C.UTF-8' };
}

export type { ControlPlane };

/** The embedded cluster as the settings describe it. */
export function localClusterFromConfig(config: Config, logger: Logger, progress: Progress): LocalCluster {
  return new LocalCluster({
    dataDir: config.dataDir,
    cacheDir: config.cacheDir,
    go: config.go,
    env: config.env,
    apiPort: config.cluster.apiPort,
    etcdUnsafeNoFsync: config.cluster.etcdUnsafeNoFsync,
    logger,
    progress,
  });
}
