import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import os from 'node:os';
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from '../logger.ts';
import { call, type ApiError, type ApiResult } from './api.ts';

/**
 * Leader election on a coordination.k8s.io Lease, so that work which must run once per cluster
 * (the reaper, the warm pool, the score queue…) runs on one replica. The rules are client-go's:
 * a candidate takes the Lease over only when it has seen the same record (resourceVersion) for a
 * whole lease duration by its own clock, so the replicas' clocks never have to agree; a leader
 * that cannot renew within the renew deadline (shorter than the duration) stops leading before
 * anyone may take over; a leader that closes releases the Lease (no holder) so another takes
 * it at its next try. Every write is conditional on the resourceVersion that was read.
 */

export const LEASE_NAME = 'kubedojo-leader';

export interface LeaseRecord {
  /** '' once released. */
  holder: string;
  durationSeconds: number;
  transitions: number;
  acquireTime: string | undefined;
  resourceVersion: string;
}

/** When this replica first saw the record it holds now (record changes restart the wait). */
export interface Observation {
  resourceVersion: string;
  atMs: number;
}

export type LeaseDecision =
  | { action: 'create' }
  | { action: 'renew' }
  | { action: 'take-over'; from: string }
  | { action: 'wait'; holder: string; expiresAtMs: number };

export interface LeaseTimings {
  /** How long a record must stay unchanged before another replica may take the Lease. */
  durationMs: number;
  /** How often the leader renews. */
  renewMs: number;
  /** A leader that has not renewed for this long stops leading (must be below durationMs). */
  renewDeadlineMs: number;
  /** How often a follower tries. */
  retryMs: number;
}

export const DEFAULT_TIMINGS: LeaseTimings = { durationMs: 15_000, renewMs: 5_000, renewDeadlineMs: 10_000, retryMs: 2_000 };

/** The observation after reading `record` at `now`: unchanged records keep their first sighting. */
export function observe(previous: Observation | undefined, record: LeaseRecord, now: number): Observation {
  return previous?.resourceVersion === record.resourceVersion ? previous : { resourceVersion: record.resourceVersion, atMs: now };
}

/** What to do with the Lease as read (undefined: there is none). */
export function decide(record: LeaseRecord | undefined, observation: Observation | undefined, me: string, now: number): LeaseDecision {
  if (!record) return { action: 'create' };
  if (record.holder === me) return { action: 'renew' };
  if (record.holder === '') return { action: 'take-over', from: '' };
  const seen = observation?.resourceVersion === record.resourceVersion ? observation.atMs : now;
  const expiresAtMs = seen + record.durationSeconds * 1000;
  if (now >= expiresAtMs) return { action: 'take-over', from: record.holder };
  return { action: 'wait', holder: record.holder, expiresAtMs };
}

/** A leader whose last renewal is this old stops leading: another may take over soon. */
export function mustStepDown(lastRenewMs: number, now: number, renewDeadlineMs: number): boolean {
  return now - lastRenewMs >= renewDeadlineMs;
}

/** This replica's identity: the host name (a Pod's name) and a random suffix, unique per process. */
export function leaseIdentity(host = os.hostname()): string {
  return `${host.slice(0, 200)}-${randomBytes(4).toString('hex')}`;
}

/** Where the Lease lives: the namespace of the configuration's context (a pod's own namespace in-cluster), else kube-system. */
export function leaseNamespace(kc: KubeConfig): string {
  return kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'kube-system';
}

function recordOf(lease: V1Lease): LeaseRecord {
  const acquired = lease.spec?.acquireTime as unknown;
  return {
    holder: lease.spec?.holderIdentity ?? '',
    durationSeconds: lease.spec?.leaseDurationSeconds ?? 15,
    transitions: lease.spec?.leaseTransitions ?? 0,
    // The client leaves MicroTime as the string the server sent.
    acquireTime: typeof acquired === 'string' ? acquired : acquired instanceof Date ? acquired.toISOString() : undefined,
    resourceVersion: lease.metadata?.resourceVersion ?? '',
  };
}

export interface ElectorOptions {
  kubeConfig: () => ApiResult<KubeConfig>;
  namespace: string;
  name: string;
  identity: string;
  timings?: Partial<LeaseTimings>;
  now?: () => number;
  logger: Logger;
}

/**
 * Takes part in the election until `close`. `leading` is emitted with true when this replica
 * becomes the leader and with false when it stops (lost, could not renew, or closed).
 */
export class LeaderElector extends EventEmitter<{ leading: [boolean] }> {
  readonly identity: string;
  readonly namespace: string;
  readonly name: string;
  private readonly options: ElectorOptions;
  private readonly timings: LeaseTimings;
  private readonly now: () => number;
  private readonly log: Logger;
  private leader = false;
  private observation: Observation | undefined;
  private lastRenewMs = 0;
  /** The resourceVersion of our own last write, for the release. */
  private ownVersion: string | undefined;
  private transitions = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private closed = false;
  private lastProblem = '';

  constructor(options: ElectorOptions) {
    super();
    this.options = options;
    this.identity = options.identity;
    this.namespace = options.namespace;
    this.name = options.name;
    this.timings = { ...DEFAULT_TIMINGS, ...options.timings };
    this.now = options.now ?? Date.now;
    this.log = options.logger.child({ component: 'leader', lease: `${options.namespace}/${options.name}`, identity: options.identity });
  }

  get isLeader(): boolean {
    return this.leader;
  }

  /** Read through a call: `close` may set it while a round awaits the API. */
  private isClosed(): boolean {
    return this.closed;
  }

  /** Tries at once, then on the renew (leader) or retry (follower) period. */
  start(): void {
    if (this.closed || this.timer) return;
    this.next(0);
  }

  private next(delay: number): void {
    if (this.isClosed()) return;
    this.timer = setTimeout(() => {
      this.running = this.round().finally(() => {
        this.next(this.leader ? this.timings.renewMs : this.timings.retryMs);
      });
    }, delay);
    this.timer.unref();
  }

  /** One try: read the Lease, then create, renew, take over or wait. Exposed for tests. */
  async round(): Promise<void> {
    const kc = this.options.kubeConfig();
    if (!kc.ok) {
      this.failed(kc.error);
      return;
    }
    const api = kc.value.makeApiClient(CoordinationV1Api);
    const read = await call(() => api.readNamespacedLease({ name: this.name, namespace: this.namespace }));
    if (this.isClosed()) return;
    if (!read.ok && read.error.kind !== 'not-found') {
      this.failed(read.error);
      return;
    }
    const now = this.now();
    const record = read.ok ? recordOf(read.value) : undefined;
    if (record) this.observation = observe(this.observation, record, now);
    const decision = decide(record, this.observation, this.identity, now);
    if (decision.action === 'wait') {
      this.lastProblem = '';
      this.follow(`${decision.holder} holds the lease`, 'warn');
      return;
    }
    const spec = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.timings.durationMs / 1000),
      renewTime: new V1MicroTime(now),
      acquireTime: decision.action === 'renew' && record?.acquireTime ? new V1MicroTime(record.acquireTime) : new V1MicroTime(now),
      leaseTransitions: (record?.transitions ?? 0) + (decision.action === 'take-over' ? 1 : 0),
    };
    const metadata = { name: this.name, namespace: this.namespace, ...(record ? { resourceVersion: record.resourceVersion } : {}) };
    const written = record
      ? await call(() => api.replaceNamespacedLease({ name: this.name, namespace: this.namespace, body: { metadata, spec } }))
      : await call(() => api.createNamespacedLease({ namespace: this.namespace, body: { metadata, spec } }));
    if (this.isClosed()) return;
    if (!written.ok) {
      // Someone else wrote first (a conflict): read again next time.
      this.failed(written.error);
      return;
    }
    this.lastProblem = '';
    this.ownVersion = written.value.metadata?.resourceVersion;
    this.transitions = spec.leaseTransitions;
    this.lastRenewMs = now;
    if (!this.leader) {
      this.leader = true;
      this.log.info({ action: decision.action, ...(decision.action === 'take-over' ? { from: decision.from } : {}) }, 'this replica leads: it runs the once-per-cluster work');
      this.emit('leading', true);
    }
  }

  private failed(error: ApiError): void {
    if (error.message !== this.lastProblem) {
      this.lastProblem = error.message;
      this.log.warn({ error: error.message, kind: error.kind }, `could not ${this.leader ? 'renew' : 'acquire'} the leader lease`);
    }
    if (this.leader && mustStepDown(this.lastRenewMs, this.now(), this.timings.renewDeadlineMs)) this.follow('the lease could not be renewed in time', 'warn');
  }

  private follow(why: string, level: 'warn' | 'info'): void {
    if (!this.leader) return;
    this.leader = false;
    this.log[level]({ why }, 'this replica no longer leads');
    this.emit('leading', false);
  }

  /**
   * Stops taking part. A leader releases the Lease (no holder, conditional on its own last
   * write) so another replica takes it at its next try instead of after the lease duration.
   * Whoever runs the leader's work stops it before calling this.
   */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.running;
    const wasLeader = this.leader;
    this.follow('it is closing', 'info');
    if (!wasLeader || this.ownVersion === undefined) return;
    const kc = this.options.kubeConfig();
    if (!kc.ok) return;
    const api = kc.value.makeApiClient(CoordinationV1Api);
    const now = new V1MicroTime(this.now());
    const released = await call(() =>
      api.replaceNamespacedLease({
        name: this.name,
        namespace: this.namespace,
        body: { metadata: { name: this.name, namespace: this.namespace, resourceVersion: this.ownVersion }, spec: { holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now, leaseTransitions: this.transitions } },
      }),
    );
    if (released.ok) this.log.info('released the leader lease');
    else this.log.warn({ error: released.error.message }, 'could not release the leader lease; another replica takes it once it expires');
  }
}
