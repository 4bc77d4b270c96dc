import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, makeInformer, type Informer, type KubeConfig, type ObjectCache, type V1Namespace } from '@kubernetes/client-node';
import { call } from '../cluster/api.ts';
import { rawClient } from '../cluster/apply.ts';
import type { ClusterConnection } from '../cluster/connection.ts';
import { NotFound, Unavailable } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { LABEL, POOL_LEARNER, SANDBOX_SELECTOR, sandboxOf } from './labels.ts';
import { learnerKey } from './names.ts';
import type { Sandbox } from './types.ts';

type Watch = Informer<V1Namespace> & ObjectCache<V1Namespace>;

/** How long our own writes are shown over the watch's view: it catches up within milliseconds. */
const OVERLAY_MS = 5_000;
/** client-node stops a watch that failed; it is started again after this. */
const RECONNECT_MS = 5_000;

/**
 * Reading sandboxes: from the API, or, once `watch()` runs, from a watch of every sandbox
 * namespace (caps and lookups then cost no round trip) with our own recent writes laid over it
 * until the watch has seen them (read-your-writes).
 */
export class SandboxStore {
  private readonly cluster: ClusterConnection;
  private readonly log: Logger;
  /** The watch, from `watch()` until `unwatch()`. */
  private watcher: Watch | undefined;
  /** The watch while its cache is complete: set once it has listed, unset while it reconnects. */
  private synced: Watch | undefined;
  /** Counts the watch's errors: one during a (re)connect means its cache is not complete. */
  private failures = 0;
  private retry: NodeJS.Timeout | undefined;
  private readonly recent = new Map<string, { ns: V1Namespace | null; at: number }>();

  constructor(deps: { cluster: ClusterConnection; logger: Logger }) {
    this.cluster = deps.cluster;
    this.log = deps.logger;
  }

  kc(): KubeConfig {
    const kc = this.cluster.kubeConfig();
    if (!kc.ok) throw new Unavailable(`the cluster is not reachable: ${kc.error.message}`);
    return kc.value;
  }

  core(): CoreV1Api {
    return this.kc().makeApiClient(CoreV1Api);
  }

  async listNamespaces(selector: string): Promise<V1Namespace[]> {
    const result = await call(() => this.core().listNamespace({ labelSelector: selector }));
    if (!result.ok) throw new Unavailable(`could not list sandboxes: ${result.error.message}`);
    return result.value.items;
  }

  /** Sandbox namespaces matching `keep`: from the watch when it runs, else from the API. */
  async namespaces(keep: (labels: Record<string, string>) => boolean): Promise<V1Namespace[]> {
    let all: V1Namespace[];
    if (this.synced) {
      const byName = new Map(this.synced.list().map((n) => [n.metadata?.name ?? '', n]));
      const now = Date.now();
      for (const [name, entry] of this.recent) {
        if (now - entry.at > OVERLAY_MS) this.recent.delete(name);
        else if (entry.ns) byName.set(name, entry.ns);
        else byName.delete(name);
      }
      all = [...byName.values()];
    } else {
      all = await this.listNamespaces(SANDBOX_SELECTOR);
    }
    return all.filter((n) => keep(n.metadata?.labels ?? {}));
  }

  /** Notes a write of ours (null: a delete) for reads until the watch reports it. */
  remember(ns: V1Namespace | null, name: string): void {
    if (this.watcher) this.recent.set(name, { ns, at: Date.now() });
  }

  /** Every sandbox a learner holds (not the warm pool). */
  async list(filter: { learnerId?: string; workshop?: string } = {}): Promise<Sandbox[]> {
    let selector = `${SANDBOX_SELECTOR},${LABEL.learner}!=${POOL_LEARNER}`;
    if (filter.learnerId !== undefined) selector += `,${LABEL.learner}=${learnerKey(filter.learnerId)}`;
    if (filter.workshop !== undefined) selector += `,${LABEL.workshop}=${filter.workshop}`;
    return (await this.listNamespaces(selector)).map(sandboxOf).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async get(namespace: string): Promise<Sandbox> {
    const result = await call(() => this.core().readNamespace({ name: namespace }));
    if (!result.ok) {
      if (result.error.kind === 'not-found') throw new NotFound(`there is no sandbox ${namespace}`);
      throw new Unavailable(`could not read sandbox ${namespace}: ${result.error.message}`);
    }
    const labels = result.value.metadata?.labels ?? {};
    if (labels[LABEL.sandbox] !== 'true' || labels[LABEL.learner] === POOL_LEARNER) throw new NotFound(`there is no sandbox ${namespace}`);
    return sandboxOf(result.value);
  }

  /** A sandbox, only if it belongs to this learner: anyone else gets the same "not found". */
  async getOwned(namespace: string, learnerId: string): Promise<Sandbox> {
    const sandbox = await this.get(namespace);
    if (sandbox.learnerKey !== learnerKey(learnerId)) throw new NotFound(`there is no sandbox ${namespace}`);
    return sandbox;
  }

  async annotate(kc: KubeConfig, namespace: string, annotations: Record<string, string>): Promise<Sandbox> {
    const patched = await rawClient(kc).mergePatch({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, annotations } });
    if (!patched.ok) {
      if (patched.error.kind === 'not-found') throw new NotFound(`there is no sandbox ${namespace}`);
      throw new Unavailable(`could not update sandbox ${namespace}: ${patched.error.message}`);
    }
    this.remember(patched.value, namespace);
    return sandboxOf(patched.value);
  }

  async waitGone(namespace: string, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let delay = 50;
    while (Date.now() < deadline) {
      const result = await call(() => this.core().readNamespace({ name: namespace }));
      if (!result.ok && result.error.kind === 'not-found') return;
      await sleep(delay);
      delay = Math.min(delay * 2, 500);
    }
    throw new Unavailable(`sandbox ${namespace} is still being deleted after ${timeoutMs / 1000}s`);
  }

  /** Starts the watch; resolves once it has listed every sandbox namespace. */
  async watch(): Promise<void> {
    if (this.watcher) return;
    const kc = this.kc();
    const core = kc.makeApiClient(CoreV1Api);
    const watcher = makeInformer<V1Namespace>(kc, '/api/v1/namespaces', () => core.listNamespace({ labelSelector: SANDBOX_SELECTOR }), SANDBOX_SELECTOR);
    watcher.on('error', (error: unknown) => {
      this.failures += 1;
      this.reconnectLater(watcher, error);
    });
    this.watcher = watcher;
    try {
      await this.connect(watcher);
    } catch (error) {
      this.unwatch();
      throw error;
    }
  }

  private async connect(watcher: Watch): Promise<void> {
    const failures = this.failures;
    await watcher.start();
    // Stopped while it connected: the watch request it just opened must go too.
    if (this.watcher !== watcher) await watcher.stop();
    else if (this.failures === failures) this.synced = watcher;
  }

  private reconnectLater(watcher: Watch, error: unknown): void {
    if (this.watcher !== watcher) return;
    // Until it has listed again its cache may miss changes: reads go to the API meanwhile.
    this.synced = undefined;
    this.log.warn({ err: error }, `the sandbox watch failed; reconnecting in ${RECONNECT_MS / 1000} s`);
    clearTimeout(this.retry);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.connect(watcher).catch((again: unknown) => {
        this.reconnectLater(watcher, again);
      });
    }, RECONNECT_MS);
    this.retry.unref();
  }

  unwatch(): void {
    clearTimeout(this.retry);
    this.retry = undefined;
    const watcher = this.watcher;
    this.watcher = undefined;
    this.synced = undefined;
    this.recent.clear();
    if (watcher) void watcher.stop();
  }
}
