import { randomBytes } from 'node:crypto';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { rawClient } from '../cluster/apply.ts';
import { Unavailable } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { SandboxBuilder } from './builder.ts';
import { requestToken, type LearnerToken } from './credentials.ts';
import { ANNOTATION, isoIn, LABEL, NO_WORKSHOP, POOL_LEARNER, SANDBOX_SELECTOR, sandboxOf } from './labels.ts';
import { poolNamespace } from './names.ts';
import type { SandboxStore } from './store.ts';
import type { SandboxSize } from '../vocabulary.ts';
import type { Sandbox, SandboxOwner, SandboxSettings } from './types.ts';

interface PoolEntry {
  namespace: string;
  size: SandboxSize;
  /** Claims are conditional on it: two servers can never hand out the same pool sandbox. */
  resourceVersion: string;
}

/** A pool sandbox is kept a week; the reaper leaves pool sandboxes alone until then. */
const POOL_TTL_MINUTES = 7 * 24 * 60;

/**
 * Sandboxes made before anyone asks, so a learner's first sandbox is one relabel away: kept at
 * --warm-pool (and raised by workshops before they start), claimed with optimistic concurrency.
 */
export class WarmPool {
  private readonly store: SandboxStore;
  private readonly builder: SandboxBuilder;
  private readonly settings: SandboxSettings;
  private readonly log: Logger;
  private readonly entries: PoolEntry[] = [];
  private filling: Promise<void> | undefined;
  /** One more fill after the one under way, for the targets asked meanwhile (most per size). */
  private following: Promise<void> | undefined;
  private readonly wanted = new Map<SandboxSize, number>();
  private stopped = false;

  constructor(deps: { store: SandboxStore; builder: SandboxBuilder; settings: SandboxSettings; logger: Logger }) {
    this.store = deps.store;
    this.builder = deps.builder;
    this.settings = deps.settings;
    this.log = deps.logger;
  }

  get size(): number {
    return this.entries.length;
  }

  sizeOf(size: SandboxSize): number {
    return this.entries.filter((e) => e.size === size).length;
  }

  /** Takes a pool sandbox of this size by relabelling it (one write, with optimistic concurrency). */
  async claim(kc: KubeConfig, size: SandboxSize, owner: SandboxOwner): Promise<{ sandbox: Sandbox; token: LearnerToken } | undefined> {
    const objects = rawClient(kc);
    let synced = false;
    for (;;) {
      let index = this.entries.findIndex((entry) => entry.size === size);
      // A replica that does not fill the pool (the leader does) takes it from the watch, once a claim.
      if (index < 0 && this.stopped && !synced) {
        synced = true;
        await this.sync().catch(() => undefined);
        index = this.entries.findIndex((entry) => entry.size === size);
      }
      if (index < 0) return undefined;
      const [entry] = this.entries.splice(index, 1);
      if (!entry) return undefined;
      const { namespace, resourceVersion } = entry;
      const now = new Date().toISOString();
      const expiresAt = isoIn(this.settings.ttlMinutes);
      // The relabel and the learner's token are independent: one round trip for both.
      const [patched, token] = await Promise.all([
        objects.mergePatch({
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: {
            name: namespace,
            resourceVersion,
            labels: { [LABEL.learner]: owner.learnerKey, [LABEL.lesson]: owner.lessonKey, [LABEL.workshop]: owner.workshop, [LABEL.pool]: null },
            annotations: {
              [ANNOTATION.learnerName]: owner.learnerName,
              [ANNOTATION.lesson]: owner.lesson,
              [ANNOTATION.createdAt]: now,
              [ANNOTATION.lastActivity]: now,
              [ANNOTATION.expiresAt]: expiresAt,
              [ANNOTATION.nodes]: owner.nodes,
            },
          },
        } as unknown as KubernetesObject),
        requestToken(kc, namespace, new Date(expiresAt)),
      ]);
      if (patched.ok && token.ok) {
        this.store.remember(patched.value, namespace);
        return { sandbox: sandboxOf(patched.value), token: token.value };
      }
      if (!patched.ok) this.log.warn({ namespace, error: patched.error.message }, 'could not claim a pool sandbox; trying the next');
      else if (!token.ok) throw new Unavailable(`could not issue the learner's credentials for ${namespace}: ${token.error.message}`);
    }
  }

  /** Changes how many pool sandboxes are kept ready (workshops raise it before they start). */
  setTarget(target: number): void {
    this.settings.warmPool = target;
    void this.fill();
  }

  /** Tops the pool up to its configured size; concurrent callers share one fill. */
  fill(target = this.settings.warmPool, size = this.settings.warmPoolSize): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (!this.filling) {
      this.filling = this.make(target, size).finally(() => {
        this.filling = undefined;
      });
      return this.filling;
    }
    // A fill under way may aim lower or at another size (the configured pool while a workshop
    // asks for its seats): what is asked meanwhile is topped up in one more fill after it.
    this.wanted.set(size, Math.max(this.wanted.get(size) ?? 0, target));
    this.following ??= this.filling.then(async () => {
      this.following = undefined;
      const wanted = [...this.wanted];
      this.wanted.clear();
      for (const [s, t] of wanted) await this.fill(t, s);
    });
    return this.following;
  }

  private async make(target: number, size: SandboxSize): Promise<void> {
    const kc = this.store.kc();
    await this.builder.ensurePolicies(kc);
    // Other replicas claim pool sandboxes too: count what is really left.
    await this.forgetClaimed().catch(() => undefined);
    const missing = target - this.sizeOf(size);
    const made = await Promise.allSettled(
      Array.from({ length: Math.max(0, missing) }, async () => {
        const sandbox = await this.builder.build(kc, {
          namespace: poolNamespace(randomBytes(6).toString('hex')),
          size,
          nodes: 'auto',
          learnerKey: POOL_LEARNER,
          learnerName: '',
          lesson: '',
          lessonKey: 'none',
          workshop: NO_WORKSHOP,
          expiresAt: isoIn(POOL_TTL_MINUTES),
          pool: true,
        });
        // A claim's look at the watch may have listed it already.
        if (!this.entries.some((e) => e.namespace === sandbox.namespace)) this.entries.push({ namespace: sandbox.namespace, size, resourceVersion: sandbox.resourceVersion });
      }),
    );
    const failed = made.filter((m) => m.status === 'rejected');
    if (failed.length > 0) this.log.warn({ failed: failed.length }, 'some warm-pool sandboxes could not be made');
  }

  /**
   * Deletes warm-pool sandboxes of a size beyond `keep` (plus the configured --warm-pool for its
   * size): what a workshop that ended left ready for seats nobody will take. Returns their names.
   */
  async trim(size: SandboxSize, keep: number): Promise<string[]> {
    await this.filling;
    const base = size === this.settings.warmPoolSize ? this.settings.warmPool : 0;
    const extra = this.entries.filter((e) => e.size === size).slice(keep + base);
    const kc = this.store.kc();
    for (const entry of extra) this.entries.splice(this.entries.indexOf(entry), 1);
    await Promise.all(extra.map((e) => this.builder.remove(kc, e.namespace)));
    return extra.map((e) => e.namespace);
  }

  /** Takes over the ready pool sandboxes in the cluster (another run of the server made them). */
  async adopt(): Promise<void> {
    const found = await this.store.listNamespaces(`${SANDBOX_SELECTOR},${LABEL.learner}=${POOL_LEARNER},${LABEL.pool}=available`);
    for (const ns of found) {
      const sandbox = sandboxOf(ns);
      if (sandbox.state === 'ready' && !this.entries.some((e) => e.namespace === sandbox.namespace)) {
        this.entries.push({ namespace: sandbox.namespace, size: sandbox.size, resourceVersion: sandbox.resourceVersion });
      }
    }
  }

  /** Ready pool sandboxes still marked available, as the cluster has them now (the sandbox watch, or a listing). */
  private async available(): Promise<PoolEntry[]> {
    const found = await this.store.namespaces((l) => l[LABEL.learner] === POOL_LEARNER && l[LABEL.pool] === 'available');
    return found
      .map(sandboxOf)
      .filter((s) => s.state === 'ready')
      .map((s) => ({ namespace: s.namespace, size: s.size, resourceVersion: s.resourceVersion }));
  }

  /** Takes the cluster's pool as it is now, current resourceVersions included (a replica that fills none). */
  async sync(): Promise<void> {
    const ready = await this.available();
    this.entries.splice(0, this.entries.length, ...ready);
  }

  /** Drops the entries another replica has claimed since (they are no longer available). */
  async forgetClaimed(): Promise<void> {
    const live = new Set((await this.available()).map((e) => e.namespace));
    for (const entry of [...this.entries]) if (!live.has(entry.namespace)) this.entries.splice(this.entries.indexOf(entry), 1);
  }

  /** Fills may run again (after `stop`). */
  resume(): void {
    this.stopped = false;
  }

  /** No new fills; one under way finishes. */
  stop(): void {
    this.stopped = true;
  }
}
