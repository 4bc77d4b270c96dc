import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../../logger.ts';
import type { Progress } from '../../progress.ts';
import { call, firstError } from '../api.ts';
import { applyObjects, parseManifests, rawClient } from '../apply.ts';
import { isReady } from '../bootstrap.ts';
import type { NodeBinaries } from '../build.ts';
import type { ComponentDefinition, ComponentId } from '../components.ts';
import { ensureOfflineImages, type BuiltImage } from '../images/builders.ts';
import { reimportRecorded } from '../images/records.ts';
import { ensureImported, embeddedRuntime } from '../images/runtime.ts';
import { writeKubeconfig } from '../kubeconfig.ts';
import { nodeDirs, sandboxesDir, type NodeDirs } from '../paths.ts';
import type { Pki } from '../pki.ts';
import { tailFile } from '../process.ts';
import type { State } from '../state.ts';
import { ClusterStartError, type StopResult, type Supervisor } from '../supervisor.ts';
import { nodeComponentDefinitions, nodeFiles, TOOLS, type NodeFiles } from './components.ts';
import { NODE_KIND_LABEL, NODE_NAME, REGISTRY_ANNOTATION, layoutFor, type NodeLayout } from './layout.ts';
import { ensureNodeNetwork, releaseSlot, removeNodeNetwork } from './network.ts';
import { probeRegistry } from './registry.ts';
import { NODE_DOWN_GRAPH, NODE_UP_GRAPH, type NodeDownStep, type NodeUpStep } from './start-plan.ts';
import { containerdConfig, cniConfig, corefile, kubeletConfig, kubeProxyConfig, usableNameservers } from './render.ts';
import { ensureCgroupRoot, killShims, removeAllPods, removeCgroupRoot, unmountAll } from './teardown.ts';

/**
 * The real node's life: `up` makes its network, writes its configuration, then starts its
 * processes, loads the offline images and waits until the node is Ready along NODE_UP_GRAPH
 * (start-plan.ts); `down` stops them along NODE_DOWN_GRAPH and takes away every container,
 * mount, interface, rule and cgroup it made.
 */

const realNodeFile = path.join(sandboxesDir, 'cluster', 'real-node.yaml');
const NODE_READY_TIMEOUT_MS = 120_000;
/** Where the node sits for the scheduling lessons' zone-aware rules. */
export const REAL_NODE_ZONE = 'zone-a';

export interface RealNodeUpOptions {
  state: State;
  supervisor: Supervisor;
  pki: Pki;
  /** The admin's client, for the node's objects and labels. */
  kc: KubeConfig;
  apiPort: number;
  binaries: NodeBinaries;
  kubectl: string;
  caData: string;
  /** Certificates of the node's clients (kubelet, kube-proxy, CoreDNS, NetworkPolicy agent). */
  clientCert: (name: 'kubelet' | 'kube-proxy' | 'coredns' | 'kube-network-policies') => Promise<{ cert: string; key: string }>;
}

export interface RealNodeReport {
  node: string;
  address: string;
  registry: 'online' | 'offline';
  images: { name: string; size: number }[];
}

export class RealNode {
  readonly dirs: NodeDirs;
  private readonly options: { dataDir: string; cacheDir: string; go: string; env: Readonly<Record<string, string>>; logger: Logger; progress: Progress };

  constructor(options: RealNode['options']) {
    this.options = options;
    this.dirs = nodeDirs(options.dataDir);
  }

  get files(): NodeFiles {
    return nodeFiles(this.dirs);
  }

  /** The node's component definitions for a slot (also what `status` probes). */
  definitions(layout: NodeLayout, apiPort: number, binaries: NodeBinaries, pki: Pki): ComponentDefinition[] {
    return nodeComponentDefinitions({
      layout,
      dirs: this.dirs,
      files: this.files,
      pki,
      apiPort,
      binaries,
      labels: { [NODE_KIND_LABEL]: 'real', 'topology.kubernetes.io/zone': REAL_NODE_ZONE, 'topology.kubernetes.io/region': 'local' },
    });
  }

  async up(layout: NodeLayout, o: RealNodeUpOptions): Promise<RealNodeReport> {
    const { progress } = this.options;
    const task = progress.begin('preparing the real node');
    const registry = await probeRegistry();
    const network = await ensureNodeNetwork(layout, { apiPort: o.apiPort, egress: registry === 'online' });
    // The forwarding setting from before the first up is what `down` puts back.
    const forwardingWas = network.hostForwardingWas ?? o.state.node?.hostForwardingWas;
    o.state.node = { slot: layout.slot, serviceRoute: network.serviceRoute, ...(forwardingWas === undefined ? {} : { hostForwardingWas: forwardingWas }) };
    await ensureCgroupRoot(layout.cgroupRoot);
    task.update('offline images');
    const images = await ensureOfflineImages({ cacheDir: this.options.cacheDir, env: this.options.env, go: this.options.go, kubectl: o.kubectl, progress, logger: this.options.logger });
    const pause = images.find((i) => i.id === 'pause');
    if (!pause) throw new ClusterStartError('real-node', 'the pause image was not built');
    await this.writeFiles(layout, o, pause.name, registry);
    task.done(`${layout.nodeIp}, registries ${registry}`);

    const defs = new Map(this.definitions(layout, o.apiPort, o.binaries, o.pki).map((d) => [d.id, d]));
    const ensure = async (id: ComponentId) => {
      const def = defs.get(id);
      if (!def) throw new Error(`no definition for ${id}`);
      await o.supervisor.ensure(def);
    };
    const applyNodeObjects = async () => {
      const text = (await fs.readFile(realNodeFile, 'utf8')).replaceAll('${nodeIp}', layout.nodeIp);
      const applied = firstError(await applyObjects(o.kc, parseManifests(text, realNodeFile)));
      if (applied) throw new ClusterStartError('real-node', `could not apply the real node's objects: ${applied.message}`);
    };
    const steps: Record<NodeUpStep, () => Promise<void>> = {
      'api-bridge': () => ensure('api-bridge'),
      'api-bridge-node': () => ensure('api-bridge-node'),
      containerd: () => ensure('containerd'),
      images: () => this.loadImages(images),
      'node-objects': applyNodeObjects,
      'kube-network-policies': () => ensure('kube-network-policies'),
      kubelet: () => ensure('kubelet'),
      'kube-proxy': () => ensure('kube-proxy'),
      coredns: () => ensure('coredns'),
      ready: () => this.waitReady(o.kc, registry),
    };
    await NODE_UP_GRAPH.start((step) => steps[step]());
    return { node: NODE_NAME, address: layout.nodeIp, registry, images: images.map((i) => ({ name: i.name, size: i.size })) };
  }

  private async loadImages(images: BuiltImage[]): Promise<void> {
    const task = this.options.progress.begin('loading offline images into the runtime');
    const rt = embeddedRuntime(this.options.dataDir);
    const result = await ensureImported(rt, images, this.options.logger);
    const again = await reimportRecorded(rt, this.options.dataDir, this.options.logger);
    task.done(`${images.length} built${result.imported.length > 0 ? `, ${result.imported.length} loaded` : ''}${again.imported.length > 0 ? `, ${again.imported.length} re-imported` : ''}`);
  }

  private async writeFiles(layout: NodeLayout, o: RealNodeUpOptions, pauseImage: string, registry: 'online' | 'offline'): Promise<void> {
    const { dirs, files } = this;
    for (const dir of [dirs.root, path.dirname(files.kubeletConfig), dirs.cniConf, dirs.cniIpam, dirs.kubeletRoot, dirs.podLogs, dirs.containerdRoot, dirs.containerdState]) {
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    }
    // Inside the node the API bridge listens on the node's loopback too: the API server's
    // certificate is valid for 127.0.0.1, so kubeconfigs keep that address.
    const server = `https://127.0.0.1:${o.apiPort}`;
    const kubeconfig = async (file: string, user: string, name: Parameters<RealNodeUpOptions['clientCert']>[0]) => {
      const pair = await o.clientCert(name);
      await writeKubeconfig(file, { server, caData: o.caData, user, clientCertificateData: pair.cert, clientKeyData: pair.key });
    };
    const hostResolv = await fs.readFile('/etc/resolv.conf', 'utf8').catch(() => '');
    const upstreams = registry === 'online' ? usableNameservers(hostResolv) : [];
    const resolvConf = path.join(dirs.root, 'config', 'resolv.conf');
    // Unchanged files are left alone: kube-proxy exits when its configuration file is written.
    const write = async (file: string, text: string) => {
      if ((await fs.readFile(file, 'utf8').catch(() => undefined)) === text) return;
      await fs.writeFile(`${file}.tmp`, text, { mode: 0o600 });
      await fs.rename(`${file}.tmp`, file);
    };
    await Promise.all([
      kubeconfig(files.kubeletKubeconfig, NODE_NAME, 'kubelet'),
      kubeconfig(files.kubeProxyKubeconfig, 'kube-proxy', 'kube-proxy'),
      kubeconfig(files.corednsKubeconfig, 'coredns', 'coredns'),
      kubeconfig(files.networkPoliciesKubeconfig, 'kube-network-policies', 'kube-network-policies'),
      write(files.containerdConfig, containerdConfig(dirs, { pauseImage, runc: TOOLS.runc, cniBinDir: TOOLS.cniBinDir })),
      write(path.join(dirs.cniConf, '10-kubedojo.conflist'), cniConfig(layout, dirs)),
      // Pods with dnsPolicy Default resolve like the node: the host's reachable resolvers.
      write(resolvConf, upstreams.length > 0 ? upstreams.map((ns) => `nameserver ${ns}\n`).join('') : '# offline: no upstream resolver\n'),
      write(
        files.kubeletConfig,
        kubeletConfig(layout, dirs, { kubeconfig: files.kubeletKubeconfig, clientCa: o.pki.file('ca.crt'), servingCert: o.pki.file('kubelet-serving.crt'), servingKey: o.pki.file('kubelet-serving.key'), resolvConf }),
      ),
      write(files.kubeProxyConfig, kubeProxyConfig(layout, files.kubeProxyKubeconfig)),
      write(files.corefile, corefile(layout, { kubeconfig: files.corednsKubeconfig, upstreams })),
    ]);
  }

  /** Waits until the kubelet registered the node Ready, then gives it its role and registry access. */
  private async waitReady(kc: KubeConfig, registry: 'online' | 'offline'): Promise<void> {
    const task = this.options.progress.begin(`waiting for ${NODE_NAME} to be Ready`);
    const core = kc.makeApiClient(CoreV1Api);
    const deadline = Date.now() + NODE_READY_TIMEOUT_MS;
    let last = 'not registered yet';
    for (;;) {
      const node = await call(() => core.readNode({ name: NODE_NAME }));
      if (node.ok) {
        const ready = node.value.status?.conditions?.find((c) => c.type === 'Ready');
        last = ready ? `${ready.reason ?? ''}: ${ready.message ?? ''}` : 'no Ready condition yet';
        if (isReady(node.value)) break;
      }
      if (Date.now() > deadline) {
        task.fail(last);
        throw new ClusterStartError('kubelet', `${NODE_NAME} did not become Ready within ${NODE_READY_TIMEOUT_MS / 1000}s: ${last}`, await tailFile(path.join(this.options.dataDir, 'cluster', 'logs', 'kubelet.log')));
      }
      await sleep(200);
    }
    // The kubelet may not set role labels itself (NodeRestriction): the platform does.
    const patched = await rawClient(kc).request(
      'PATCH',
      `/api/v1/nodes/${NODE_NAME}`,
      { metadata: { labels: { 'node-role.kubernetes.io/real': '' }, annotations: { [REGISTRY_ANNOTATION]: registry } } },
      'application/merge-patch+json',
    );
    if (!patched.ok) throw new ClusterStartError('real-node', `could not label ${NODE_NAME}: ${patched.error.message}`);
    task.done('Ready');
  }

  /**
   * Stops the node's processes (the kubelet first, so nothing restarts), its Pods through the
   * runtime, then everything it made on the machine. Returns what could not be removed.
   */
  async down(state: State, supervisor: Supervisor, crictl: string | undefined, defs: ComponentDefinition[]): Promise<{ stopped: { id: ComponentId; result: StopResult }[]; leftovers: string[] }> {
    const problems: string[] = [];
    const stopped: { id: ComponentId; result: StopResult }[] = [];
    const byId = new Map(defs.map((d) => [d.id, d]));
    const stop = async (id: ComponentId) => {
      stopped.push({ id, result: await supervisor.stop(byId.get(id) ?? { id }) });
    };
    const layout = state.node ? layoutFor(state.node.slot) : undefined;
    const node = state.node;
    const steps: Record<NodeDownStep, () => Promise<void>> = {
      kubelet: () => stop('kubelet'),
      'kube-proxy': () => stop('kube-proxy'),
      coredns: () => stop('coredns'),
      pods: async () => {
        if (!crictl || !state.processes.containerd) return;
        const removed = await removeAllPods(crictl, this.dirs.containerdSocket);
        if (!removed.ok) problems.push(`removing the Pods through the runtime: ${removed.detail}`);
      },
      'kube-network-policies': () => stop('kube-network-policies'),
      containerd: () => stop('containerd'),
      shims: async () => {
        await killShims(this.dirs.containerdSocket);
      },
      'api-bridge-node': () => stop('api-bridge-node'),
      'api-bridge': () => stop('api-bridge'),
      mounts: async () => {
        problems.push(...(await unmountAll(this.dirs)));
      },
      network: async () => {
        if (!layout || !node) return;
        await removeNodeNetwork(layout, node);
        await releaseSlot(layout.slot, path.join(this.options.dataDir, 'cluster'));
        problems.push(...(await removeCgroupRoot(layout.cgroupRoot)).map((dir) => `cgroup ${dir} is still in use`));
      },
    };
    // Going down goes on past a step that fails: what it could not remove is reported.
    await NODE_DOWN_GRAPH.start(async (step) => {
      try {
        await steps[step]();
      } catch (error) {
        problems.push(`${step}: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
    delete state.node;
    return { stopped, leftovers: problems };
  }
}
