import fs from 'node:fs/promises';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { Progress } from '../progress.ts';
import { applyBootstrap, ensureMetricsApi, ensureNodePool, writeKubeconfigs } from './bootstrap.ts';
import { ensureControlPlane, type ControlPlane, type NodeBinaries } from './build.ts';
import { componentDefinitions, componentIds, controlPlaneIds, kubeconfigFor, nodeComponentIds, schedulerConfig, schedulerConfigFile, type ComponentDefinition, type ComponentId, type Ports } from './components.ts';
import { probe } from './health.ts';
import { layoutFor, NODE_NAME, type NodeLayout } from './node/layout.ts';
import { claimSlot } from './node/network.ts';
import { RealNode, type RealNodeReport } from './node/real-node.ts';
import { decideRealNode, missingForRealNode } from './node/support.ts';
import { clusterDirs, sandboxesDir, type ClusterDirs } from './paths.ts';
import { ensurePki, nodeLeaves, type Pki } from './pki.ts';
import { resolvePorts } from './ports-plan.ts';
import { CLUSTER_GRAPH, isControlPlaneProcess, type StartStep } from './start-plan.ts';
import type { ClusterStatus, ComponentStatus, DownReport, UpReport } from './reports.ts';
import { isAlive, tailFile } from './process.ts';
import { StateFile, type State } from './state.ts';
import { ClusterStartError, componentEnv, stampOf, Supervisor } from './supervisor.ts';

/**
 * The embedded cluster: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok and
 * metrics-server run as local processes that outlive the command that started them, and, as
 * root, a real node (server/cluster/node/) beside kwok's simulated ones. `up` starts what is
 * missing (repairing a crashed component), `down` stops exactly what `up` started, and data
 * survives both.
 */

export { ClusterStartError } from './supervisor.ts';
export { nodePoolFile } from './bootstrap.ts';
export type { ControlPlane };
export type { ClusterStatus, ComponentState, ComponentStatus, DownReport, UpReport } from './reports.ts';

const kwokConfigFiles = [path.join(sandboxesDir, 'kwok', 'stages.yaml'), path.join(sandboxesDir, 'kwok', 'metrics.yaml')];
const NODE_CERTS = new Set(['kubelet', 'kubelet-serving', 'kube-proxy', 'coredns', 'kube-network-policies'].map((n) => `${n}.crt`));

export interface LocalClusterOptions {
  dataDir: string;
  cacheDir: string;
  go: string;
  env: Readonly<Record<string, string>>;
  /** 0 picks a free port (and keeps it across restarts while it stays free). */
  apiPort: number;
  etcdUnsafeNoFsync: boolean;
  realNode: 'auto' | 'on' | 'off';
  root: boolean;
  logger: Logger;
  progress: Progress;
}

export class LocalCluster {
  readonly dirs: ClusterDirs;
  private readonly options: LocalClusterOptions;
  private readonly log: Logger;
  private readonly store: StateFile;
  private readonly node: RealNode;

  constructor(options: LocalClusterOptions) {
    this.options = options;
    this.dirs = clusterDirs(options.dataDir);
    this.log = options.logger.child({ component: 'local-cluster' });
    this.store = new StateFile(this.dirs, this.log);
    this.node = new RealNode({ dataDir: options.dataDir, cacheDir: options.cacheDir, go: options.go, env: options.env, logger: options.logger, progress: options.progress });
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
    const release = await this.store.lock(this.options.progress);
    try {
      return await this.upLocked(started);
    } finally {
      await release();
    }
  }

  /** Whether this `up` brings a real node, and if not, the one plain sentence why. */
  private async realNodePlan(): Promise<{ wanted: boolean; note: string | undefined }> {
    const { realNode, root } = this.options;
    const decision = decideRealNode(realNode, root, realNode !== 'off' && root ? await missingForRealNode() : []);
    if ('error' in decision) throw new ClusterStartError('real-node', decision.error);
    return { wanted: decision.wanted, note: decision.wanted ? undefined : decision.note };
  }

  private async upLocked(startedAt: number): Promise<UpReport> {
    const { progress } = this.options;
    const plan = await this.realNodePlan();
    const notes: string[] = plan.note ? [plan.note] : [];
    const controlPlane = await ensureControlPlane({ cacheDir: this.options.cacheDir, go: this.options.go, env: this.options.env, progress, logger: this.options.logger, withNode: plan.wanted });
    const state = await this.store.read();
    let layout: NodeLayout | undefined;
    if (plan.wanted) {
      const slot = await claimSlot(state.node?.slot, this.dirs.root);
      if (slot === undefined) throw new ClusterStartError('real-node', 'every real-node slot on this machine is taken by other kubedojo clusters; stop one with "kubedojo cluster down"');
      layout = layoutFor(slot);
    }
    const { pki, created, replaced } = await ensurePki(this.dirs.pki, true, layout ? nodeLeaves(NODE_NAME, layout.nodeIp) : []);
    if (created.length > 0) this.log.info({ created }, 'created certificates and keys');
    if (replaced) notes.push(`the cluster's certificates could not be read and were made anew (the old ones are beside ${this.dirs.pki})`);
    await Promise.all([this.dirs.etcdData, this.dirs.logs, this.dirs.config].map((d) => fs.mkdir(d, { recursive: true, mode: 0o700 })));

    // Components read their certificates at start: new or renewed ones mean a restart. The real
    // node's own certificates restart only the node.
    const pkiStamp = await stampOf(pki.dir, (name) => !NODE_CERTS.has(name));
    const ports = await resolvePorts(state, this.options.apiPort, notes);
    await writeKubeconfigs(this.dirs, pki, ports);
    await fs.writeFile(schedulerConfigFile(this.dirs), schedulerConfig(this.dirs), { mode: 0o600 });
    const definitions = componentDefinitions({
      binaries: controlPlane.binaries,
      pki,
      dirs: this.dirs,
      ports,
      etcdUnsafeNoFsync: this.options.etcdUnsafeNoFsync,
      kwokConfigFiles,
      nodeIp: layout?.nodeIp,
    });
    state.ports = ports;
    state.kubernetesVersion = controlPlane.versions.kubernetes;

    const supervisor = new Supervisor({ state, store: this.store, logsDir: this.dirs.logs, cwd: this.dirs.root, env: componentEnv(this.options.env, this.dirs.root), pkiStamp, progress, logger: this.log });
    const byId = new Map(definitions.map((d) => [d.id, d]));
    const ensure = (id: ComponentId) => {
      const def = byId.get(id);
      if (!def) throw new Error(`no definition for ${id}`);
      return supervisor.ensure(def);
    };
    const logFile = (id: ComponentId) => this.logFile(id);
    let admin: KubeConfig | undefined;
    const kc = () => (admin ??= this.kubeConfig(kubeconfigFor(this.dirs, 'super-admin')));
    let realNode: RealNodeReport | null = null;
    const steps: Record<StartStep, () => Promise<void>> = {
      etcd: () => ensure('etcd'),
      'kube-apiserver': () => ensure('kube-apiserver'),
      'kube-controller-manager': () => ensure('kube-controller-manager'),
      'kube-scheduler': () => ensure('kube-scheduler'),
      bootstrap: () => applyBootstrap(kc()),
      kwok: () => ensure('kwok'),
      'node-pool': () => ensureNodePool({ progress, logFile }, kc(), supervisor.started.length > 0),
      'metrics-server': () => ensure('metrics-server'),
      'metrics-api': () => ensureMetricsApi({ progress, logFile }, kc(), pki, ports, state.processes['metrics-server']),
      'real-node': async () => {
        realNode = await this.realNodeUp({ state, supervisor, layout, controlPlane, pki, ports, notes });
      },
    };
    await CLUSTER_GRAPH.start((step) => steps[step]());
    state.desired = 'up';
    await this.store.write(state);

    return {
      alreadyRunning: supervisor.started.length === 0,
      started: supervisor.started,
      repaired: supervisor.repaired,
      server: `https://127.0.0.1:${ports.apiserver}`,
      kubeconfig: this.dirs.adminKubeconfig,
      durationMs: Date.now() - startedAt,
      build: controlPlane.components,
      realNode,
      notes: [...notes, ...supervisor.notes],
    };
  }

  /** Brings the real node up when this `up` wants one; takes it away cleanly when it was on and is not wanted now. */
  private async realNodeUp(o: { state: State; supervisor: Supervisor; layout: NodeLayout | undefined; controlPlane: ControlPlane; pki: Pki; ports: Ports; notes: string[] }): Promise<RealNodeReport | null> {
    const { state, supervisor, layout, controlPlane, pki, ports } = o;
    if (layout && controlPlane.node) {
      const nodeSupervisor = new Supervisor({ state, store: this.store, logsDir: this.dirs.logs, cwd: this.dirs.root, env: componentEnv(this.options.env, this.dirs.root), pkiStamp: await stampOf(pki.dir), progress: this.options.progress, logger: this.log });
      const report = await this.node.up(layout, {
        state,
        supervisor: nodeSupervisor,
        pki,
        kc: this.kubeConfig(this.dirs.adminKubeconfig),
        apiPort: ports.apiserver,
        binaries: controlPlane.node,
        kubectl: controlPlane.binaries.kubectl,
        caData: await fs.readFile(pki.file('ca.crt'), 'utf8'),
        clientCert: async (name) => ({ cert: await fs.readFile(pki.file(`${name}.crt`), 'utf8'), key: await fs.readFile(pki.file(`${name}.key`), 'utf8') }),
      });
      supervisor.started.push(...nodeSupervisor.started);
      supervisor.repaired.push(...nodeSupervisor.repaired);
      supervisor.notes.push(...nodeSupervisor.notes);
      state.node = { ...state.node, slot: layout.slot, crictl: controlPlane.node.crictl };
      return report;
    }
    if (state.node) {
      const { leftovers } = await this.node.down(state, supervisor, state.node.crictl, this.nodeDefinitions(state, ports, pki));
      o.notes.push('the real node is off now (--real-node off, or not root): it was stopped and removed', ...leftovers.map((l) => `the real node left behind: ${l}`));
    }
    return null;
  }

  /** The real node's definitions for status and down: paths of binaries do not matter there. */
  private nodeDefinitions(state: State, ports: Partial<Ports> | undefined, pki: Pki): ComponentDefinition[] {
    if (!state.node) return [];
    const none = '';
    const binaries: NodeBinaries = { kubelet: none, kubeProxy: none, coredns: none, kubeNetworkPolicies: none, crictl: none };
    return this.node.definitions(layoutFor(state.node.slot), ports?.apiserver ?? 0, binaries, pki);
  }

  private controlPlaneDefinitions(ports: Ports, nodeIp: string | undefined): ComponentDefinition[] {
    const none = '';
    return componentDefinitions({
      binaries: { etcd: none, kubeApiserver: none, kubeControllerManager: none, kubeScheduler: none, kubectl: none, kwok: none, metricsServer: none },
      pki: this.pki(),
      dirs: this.dirs,
      ports,
      etcdUnsafeNoFsync: false,
      kwokConfigFiles,
      nodeIp,
    });
  }

  private pki(): Pki {
    return { dir: this.dirs.pki, file: (name) => path.join(this.dirs.pki, name) };
  }

  /** Stops every process `up` started (and nothing else), keeping all data; the real node leaves nothing behind. */
  async down(): Promise<DownReport> {
    await fs.mkdir(this.dirs.root, { recursive: true, mode: 0o700 });
    const release = await this.store.lock(this.options.progress);
    try {
      const state = await this.store.read();
      const supervisor = new Supervisor({ state, store: this.store, logsDir: this.dirs.logs, cwd: this.dirs.root, env: {}, pkiStamp: '', progress: this.options.progress, logger: this.log });
      const stopped: DownReport['stopped'] = [];
      let leftovers: string[] = [];
      await CLUSTER_GRAPH.stop(async (step) => {
        if (step === 'real-node') {
          if (!state.node && !nodeComponentIds.some((id) => state.processes[id])) return;
          const node = await this.node.down(state, supervisor, state.node?.crictl, this.nodeDefinitions(state, state.ports, this.pki()));
          stopped.push(...node.stopped);
          leftovers = node.leftovers;
        } else if (isControlPlaneProcess(step)) {
          stopped.push({ id: step, result: await supervisor.stop({ id: step }) });
        } else {
          return;
        }
        // Forgotten only once the process is gone, so a failed down can be retried.
        await this.store.write(state);
      });
      state.desired = 'down';
      await this.store.write(state);
      return { stopped, leftovers };
    } finally {
      await release();
    }
  }

  async status(): Promise<ClusterStatus> {
    const exists = await this.store.exists();
    const state = await this.store.read();
    const ports = state.ports;
    const nodeIp = state.node ? layoutFor(state.node.slot).nodeIp : undefined;
    const defs = [...(ports && Object.keys(ports).length > 0 ? this.controlPlaneDefinitions(ports as Ports, nodeIp) : []), ...this.nodeDefinitions(state, ports, this.pki())];
    const ids: ComponentId[] = state.node ? [...componentIds] : [...controlPlaneIds];
    const components = await Promise.all(
      ids.map(async (id): Promise<ComponentStatus> => {
        const record = state.processes[id];
        const def = defs.find((d) => d.id === id);
        const log = this.logFile(id);
        const base = { id, pid: record?.pid ?? null, port: def?.port || null, where: def?.where ?? null, log };
        if (!record) return { ...base, state: 'stopped', detail: null, lastLines: [] };
        if (!(await isAlive(record))) return { ...base, state: 'crashed', detail: `pid ${record.pid} is not running`, lastLines: await tailFile(log) };
        if (!def) return { ...base, state: 'unhealthy', detail: 'no port recorded', lastLines: [] };
        const result = await probe(def.health);
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
      realNode: nodeIp ? { name: NODE_NAME, address: nodeIp } : null,
      components,
    };
  }

  private kubeConfig(file: string): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromFile(file);
    return kc;
  }
}

/** The embedded cluster as the settings describe it. */
export function localClusterFromConfig(config: Config, logger: Logger, progress: Progress): LocalCluster {
  return new LocalCluster({
    dataDir: config.dataDir,
    cacheDir: config.cacheDir,
    go: config.go,
    env: config.env,
    apiPort: config.cluster.apiPort,
    etcdUnsafeNoFsync: config.cluster.etcdUnsafeNoFsync,
    realNode: config.cluster.realNode,
    root: config.cluster.root,
    logger,
    progress,
  });
}
