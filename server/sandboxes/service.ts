import { EventEmitter } from 'node:events';
import type { KubeConfig } from '@kubernetes/client-node';
import type { ClusterConnection } from '../cluster/connection.ts';
import { Conflict, Unavailable } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { SandboxBuilder } from './builder.ts';
import { Credentials } from './credentials.ts';
import { KeyedLock } from './keyed-lock.ts';
import { ANNOTATION, isoIn, LABEL, NO_WORKSHOP, POOL_LEARNER, sandboxOf } from './labels.ts';
import { learnerKey, lessonKey, sandboxNamespace } from './names.ts';
import { RealNodeCache } from './nodes.ts';
import { Reaper, type Reaped } from './reaper.ts';
import { SandboxStore } from './store.ts';
import type { SandboxSize } from '../vocabulary.ts';
import type { CreateRequest, LabSetup, Sandbox, SandboxAccess, SandboxEvent, SandboxSettings } from './types.ts';
import { WarmPool } from './warm-pool.ts';

export type { CreateRequest, LabSetup, Sandbox, SandboxAccess, SandboxEvent, SandboxSettings } from './types.ts';

/**
 * Sandboxes: a namespace per (learner, lesson) with quota, limits, RBAC, isolation and a
 * short-lived learner token. The cluster is the source of truth: every fact about a sandbox is
 * a label or annotation on its namespace (labels.ts), so a restarted server simply lists them
 * again. This is the facade the platform uses; the work is done by the store (reads and the
 * namespace watch), the builder, the warm pool, the reaper and the learners' credentials.
 */
export class SandboxService extends EventEmitter<{ event: [SandboxEvent] }> {
  private readonly settings: SandboxSettings;
  private readonly log: Logger;
  private readonly labs: (lesson: string) => Promise<LabSetup | undefined>;
  private readonly locks = new KeyedLock();
  private readonly store: SandboxStore;
  private readonly credentials: Credentials;
  private readonly builder: SandboxBuilder;
  private readonly pool: WarmPool;
  private readonly reaper: Reaper;
  private readonly realNodes = new RealNodeCache();
  /** Counts `stop`s: a start still under way when stopped undoes what it began. */
  private stops = 0;

  constructor(deps: { cluster: ClusterConnection; settings: SandboxSettings; logger: Logger; labs?: (lesson: string) => Promise<LabSetup | undefined> }) {
    super();
    this.settings = deps.settings;
    this.log = deps.logger.child({ component: 'sandboxes' });
    this.labs = deps.labs ?? (() => Promise.resolve(undefined));
    const logger = this.log;
    this.store = new SandboxStore({ cluster: deps.cluster, logger });
    this.credentials = new Credentials(deps.settings.dataDir);
    this.builder = new SandboxBuilder({ store: this.store, credentials: this.credentials, settings: deps.settings, logger });
    this.pool = new WarmPool({ store: this.store, builder: this.builder, settings: deps.settings, logger });
    this.reaper = new Reaper({ store: this.store, builder: this.builder, settings: deps.settings, logger, emit: (event) => this.emit('event', event) });
  }

  private kc(): KubeConfig {
    return this.store.kc();
  }

  kubeconfigPath(namespace: string): string {
    return this.credentials.kubeconfigPath(namespace);
  }

  // ---- reading -------------------------------------------------------------------------

  /** Every sandbox a learner holds (not the warm pool). */
  list(filter: { learnerId?: string; workshop?: string } = {}): Promise<Sandbox[]> {
    return this.store.list(filter);
  }

  get(namespace: string): Promise<Sandbox> {
    return this.store.get(namespace);
  }

  /** A sandbox, only if it belongs to this learner: anyone else gets the same "not found". */
  getOwned(namespace: string, learnerId: string): Promise<Sandbox> {
    return this.store.getOwned(namespace, learnerId);
  }

  // ---- creating ------------------------------------------------------------------------

  /** The learner's sandbox for a lesson: the existing one, one from the warm pool, or a new one. */
  async create(request: CreateRequest): Promise<SandboxAccess> {
    const key = learnerKey(request.learnerId);
    const lesson = lessonKey(request.lesson);
    return this.locks.run(`${key}/${lesson}`, async () => {
      const kc = this.kc();
      await this.builder.ensurePolicies(kc);
      const mine = (await this.store.namespaces((l) => l[LABEL.learner] === key)).map(sandboxOf);
      const existing = mine.find((s) => s.lesson === request.lesson && s.state !== 'terminating');
      if (existing) return this.credentials.access(kc, existing, { created: false, fromPool: false });
      const terminating = mine.find((s) => s.lesson === request.lesson);
      if (terminating) await this.store.waitGone(terminating.namespace);

      const held = mine.filter((s) => s.state !== 'terminating').length;
      if (held >= this.settings.maxPerLearner) {
        throw new Conflict(
          `${request.learnerName ?? request.learnerId} already has ${held} sandboxes, the most one learner may hold (${this.settings.maxPerLearner}); delete one first`,
          { sandboxes: mine.map((s) => s.namespace) },
        );
      }
      const all = await this.store.namespaces((l) => l[LABEL.learner] !== POOL_LEARNER);
      if (all.length >= this.settings.capacity) {
        throw new Unavailable(`the cluster holds ${all.length} sandboxes, its capacity (${this.settings.capacity}); try again when others have finished`);
      }

      const lab = await this.labs(request.lesson);
      const size = request.size ?? lab?.size ?? 'small';
      const owner = {
        nodes: lab?.nodes ?? 'auto',
        learnerKey: key,
        learnerName: request.learnerName ?? request.learnerId,
        lesson: request.lesson,
        lessonKey: lesson,
        workshop: request.workshop ?? NO_WORKSHOP,
      };
      const claimed = await this.pool.claim(kc, size, owner);
      const sandbox = claimed?.sandbox ?? (await this.builder.build(kc, { namespace: sandboxNamespace(request.learnerId, request.lesson, request.learnerName), size, ...owner, expiresAt: isoIn(this.settings.ttlMinutes) }));
      await this.builder.applySetup(kc, sandbox, lab);
      this.emit('event', { type: 'created', namespace: sandbox.namespace });
      void this.pool.fill();
      return this.credentials.access(kc, sandbox, { created: claimed === undefined, fromPool: claimed !== undefined, token: claimed?.token });
    });
  }

  // ---- the warm pool -------------------------------------------------------------------

  /** Changes how many pool sandboxes are kept ready (workshops raise it before they start). */
  setWarmPool(target: number): void {
    this.pool.setTarget(target);
  }

  get poolSize(): number {
    return this.pool.size;
  }

  poolSizeOf(size: SandboxSize): number {
    return this.pool.sizeOf(size);
  }

  /** Tops the pool up to its configured size; concurrent callers share one fill. */
  fillPool(target?: number, size?: SandboxSize): Promise<void> {
    return this.pool.fill(target, size);
  }

  /** Deletes the pool sandboxes of a size beyond `keep` plus --warm-pool (see WarmPool.trim). */
  trimPool(size: SandboxSize, keep: number): Promise<string[]> {
    return this.pool.trim(size, keep);
  }

  // ---- changing ------------------------------------------------------------------------

  async extend(namespace: string, minutes: number): Promise<SandboxAccess> {
    const kc = this.kc();
    const sandbox = await this.get(namespace);
    const base = Math.max(Date.now(), new Date(sandbox.expiresAt).getTime() || Date.now());
    const expiresAt = new Date(Math.min(base + minutes * 60_000, Date.now() + 24 * 60 * 60_000)).toISOString();
    const updated = await this.store.annotate(kc, namespace, { [ANNOTATION.expiresAt]: expiresAt, [ANNOTATION.lastActivity]: new Date().toISOString() });
    this.emit('event', { type: 'extended', namespace });
    // A fresh token that lives as long as the extended sandbox.
    return this.credentials.access(kc, updated, { created: false, fromPool: false });
  }

  /** The learner kubeconfig of a sandbox, issuing a fresh token when the file is missing. */
  async kubeconfigFor(namespace: string): Promise<string> {
    const file = await this.credentials.existing(namespace);
    if (file) return file;
    const sandbox = await this.get(namespace);
    return (await this.credentials.access(this.kc(), sandbox, { created: false, fromPool: false })).kubeconfig;
  }

  /** Records activity (terminal input, checks), which keeps the idle reaper away. */
  async touch(namespace: string): Promise<void> {
    await this.store.annotate(this.kc(), namespace, { [ANNOTATION.lastActivity]: new Date().toISOString() });
  }

  /** Deletes and recreates the sandbox under the same name, lab setup applied again. */
  async reset(namespace: string): Promise<SandboxAccess> {
    const old = await this.get(namespace);
    return this.locks.run(`${old.learnerKey}/${lessonKey(old.lesson)}`, async () => {
      const kc = this.kc();
      await this.builder.ensurePolicies(kc);
      await this.builder.remove(kc, namespace);
      await this.store.waitGone(namespace);
      const lab = await this.labs(old.lesson);
      const sandbox = await this.builder.build(kc, {
        namespace,
        size: old.size,
        nodes: lab?.nodes ?? 'auto',
        learnerKey: old.learnerKey,
        learnerName: old.learnerName,
        lesson: old.lesson,
        lessonKey: lessonKey(old.lesson),
        workshop: old.workshop ?? NO_WORKSHOP,
        expiresAt: old.expiresAt && new Date(old.expiresAt).getTime() > Date.now() ? old.expiresAt : isoIn(this.settings.ttlMinutes),
      });
      await this.builder.applySetup(kc, sandbox, lab);
      this.emit('event', { type: 'reset', namespace });
      return this.credentials.access(kc, sandbox, { created: true, fromPool: false });
    });
  }

  /** Deletes the sandbox and the learner's cluster-scoped objects; waits until it is gone. */
  async delete(namespace: string, options: { wait?: boolean; reason?: string } = {}): Promise<void> {
    await this.get(namespace);
    await this.builder.remove(this.kc(), namespace);
    if (options.wait ?? true) await this.store.waitGone(namespace);
    this.emit('event', { type: 'deleted', namespace, ...(options.reason ? { reason: options.reason } : {}) });
  }

  // ---- reaping and adoption ------------------------------------------------------------

  /** Deletes expired, idle and half-made sandboxes and orphaned cluster objects. */
  reap(now = Date.now()): Promise<Reaped[]> {
    return this.reaper.reap(now);
  }

  /**
   * Alone (the CLI, tests): everything `open` and `lead` do. The platform calls them apart:
   * every replica opens, only the leader of the cluster leads (server/leader-duties.ts).
   */
  async start(): Promise<void> {
    const stops = this.stops;
    await this.open();
    if (this.stops !== stops) return;
    await this.reaper.reap();
    if (this.stops !== stops) {
      this.stop();
      return;
    }
    this.lead({ reapNow: false });
  }

  /** What every replica needs: policies in place, the watch, and the ready pool sandboxes to claim. */
  async open(): Promise<void> {
    const stops = this.stops;
    const steps = [() => this.builder.ensurePolicies(this.kc()), () => this.store.watch(), () => this.pool.adopt()];
    for (const step of steps) {
      await step();
      if (this.stops !== stops) {
        this.stop();
        return;
      }
    }
  }

  /**
   * The work done once per cluster: reap now (unless just done) and every --reap-interval, and
   * keep the warm pool filled (claims by other replicas are made up for at each reap).
   */
  lead(options: { reapNow?: boolean } = {}): void {
    this.pool.resume();
    this.reaper.start(() => this.pool.fill());
    if (options.reapNow ?? true) {
      this.reaper.reap().catch((error: unknown) => {
        this.log.warn({ err: error }, 'reaping sandboxes failed');
      });
    }
    // What the last leader made since this replica looked, then what is missing.
    this.pool
      .adopt()
      .catch(() => undefined)
      .then(() => this.pool.fill())
      .catch((error: unknown) => {
        this.log.warn({ err: error }, 'could not fill the warm pool');
      });
  }

  /** Stops the once-per-cluster work (another replica leads now); claims and reads go on. */
  follow(): void {
    this.pool.stop();
    this.reaper.stop();
  }

  /** The cluster's real node, if it has one (the lesson page says where Pods run). */
  realNode(): Promise<string | null> {
    return this.realNodes.get(() => this.kc());
  }

  stop(): void {
    this.stops += 1;
    this.pool.stop();
    this.reaper.stop();
    this.store.unwatch();
  }
}
