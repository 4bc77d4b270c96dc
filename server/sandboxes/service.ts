import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ApiextensionsV1Api,
  CoreV1Api,
  RbacAuthorizationV1Api,
  SchedulingV1Api,
  makeInformer,
  type Informer,
  type KubeConfig,
  type ObjectCache,
  type KubernetesObject,
  type V1Namespace,
} from '@kubernetes/client-node';
import { call, firstError, type ApiError } from '../cluster/api.ts';
import { applyObjects, rawClient } from '../cluster/apply.ts';
import type { ClusterConnection } from '../cluster/connection.ts';
import { whoAmI, type Subject } from '../cluster/identity.ts';
import { Conflict, NotFound, Unavailable } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { fillPlaceholdersDeep } from '../lessons/placeholders.ts';
import { clusterEndpoint, requestToken, writeLearnerKubeconfig, type ClusterEndpoint, type LearnerToken } from './credentials.ts';
import { KeyedLock } from './keyed-lock.ts';
import { groupOf, learnerKey, lessonKey, poolNamespace, priorityClassPrefixOf, sandboxNamespace, GROUP_SUFFIX } from './names.ts';
import { DEFAULT_FENCES, ensureClusterPolicies, verifyClusterPolicies } from './policies.ts';
import { RealNodeCache } from './nodes.ts';
import { loadTemplates, renderSandbox, type SandboxNodes, type SandboxSize } from './template.ts';

/**
 * Sandboxes: a namespace per (learner, lesson) with quota, limits, RBAC, isolation and a
 * short-lived learner token. The cluster is the source of truth: every fact about a sandbox is
 * a label or annotation on its namespace, so a restarted server simply lists them again.
 */

const L = {
  sandbox: 'kubedojo.dev/sandbox',
  id: 'kubedojo.dev/sandbox-id',
  learner: 'kubedojo.dev/learner',
  lesson: 'kubedojo.dev/lesson',
  workshop: 'kubedojo.dev/workshop',
  size: 'kubedojo.dev/size',
  pool: 'kubedojo.dev/pool',
  sandboxNamespace: 'kubedojo.dev/sandbox-namespace',
} as const;
const A = {
  learnerName: 'kubedojo.dev/learner-name',
  lesson: 'kubedojo.dev/lesson',
  createdAt: 'kubedojo.dev/created-at',
  expiresAt: 'kubedojo.dev/expires-at',
  lastActivity: 'kubedojo.dev/last-activity',
  ready: 'kubedojo.dev/ready',
  /** Read by the scheduler's real-node plugin: "simulated" keeps the sandbox's Pods off the real node. */
  nodes: 'kubedojo.dev/nodes',
} as const;
const POOL_LEARNER = 'pool';
const NO_WORKSHOP = 'none';

export interface SandboxSettings {
  ttlMinutes: number;
  idleMinutes: number;
  maxPerLearner: number;
  capacity: number;
  warmPool: number;
  warmPoolSize: SandboxSize;
  /** Where learner kubeconfigs are written: <dataDir>/sandboxes/<namespace>/kubeconfig. */
  dataDir: string;
  reapIntervalSeconds: number;
  /** A namespace that never became ready this long after creation is a failed create's leftover. */
  leftoverAfterSeconds?: number;
  /** The admission policies' parameters (DEFAULT_FENCES when unset). */
  domain?: string;
  learnerPriorityMax?: number;
  /** LoadBalancer Services per sandbox, whatever its size (0 when unset: they can cost money). */
  loadBalancers?: number;
  /** Install the learner roles and admission policies (default), or only verify an operator did (policies.ts). */
  policies?: 'install' | 'verify';
}

export interface LabSetup {
  size: SandboxSize;
  /** Where its Pods run when the cluster has a real node (see SANDBOX_NODES). */
  nodes: SandboxNodes;
  /** Objects applied into a new or reset sandbox, with ${namespace}, ${group}, ${priorityClassPrefix} unfilled. */
  setup: KubernetesObject[];
  /** Starter files for the learner's home (placeholders unfilled). */
  files: { path: string; content: string }[];
}

export interface Sandbox {
  namespace: string;
  learnerKey: string;
  learnerName: string;
  lesson: string;
  workshop: string | null;
  size: SandboxSize;
  /** Where its Pods run when the cluster has a real node (the lab's choice). */
  nodes: SandboxNodes;
  group: string;
  priorityClassPrefix: string;
  createdAt: string;
  expiresAt: string;
  lastActivity: string;
  state: 'ready' | 'creating' | 'terminating';
  /** Of the namespace object, as last read. */
  resourceVersion: string;
}

export interface SandboxAccess {
  sandbox: Sandbox;
  /** Path of the learner's kubeconfig (mode 0600). */
  kubeconfig: string;
  tokenExpiresAt: string;
  /** Whether this call made it (false: it existed, or came from the warm pool). */
  created: boolean;
  fromPool: boolean;
}

export interface CreateRequest {
  learnerId: string;
  learnerName?: string | undefined;
  lesson: string;
  size?: SandboxSize | undefined;
  workshop?: string | undefined;
}

export type SandboxEvent = { type: 'created' | 'deleted' | 'reset' | 'extended'; namespace: string; reason?: string };

interface PoolEntry {
  namespace: string;
  size: SandboxSize;
  /** Claims are conditional on it: two servers can never hand out the same pool sandbox. */
  resourceVersion: string;
}

function isoIn(minutes: number, from = Date.now()): string {
  return new Date(from + minutes * 60_000).toISOString();
}

function describe(error: ApiError): string {
  return error.message;
}

export class SandboxService extends EventEmitter<{ event: [SandboxEvent] }> {
  private readonly cluster: ClusterConnection;
  private readonly settings: SandboxSettings;
  private readonly log: Logger;
  private readonly labs: (lesson: string) => Promise<LabSetup | undefined>;
  private readonly locks = new KeyedLock();
  private readonly pool: PoolEntry[] = [];
  private filling: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private policiesInstalled = false;
  /** The platform's own identity, bound in each sandbox to the learner's custom-resources Role. */
  private platform: Subject | undefined;
  /** A watch of every sandbox namespace, once started: reads for caps and lookups stay local. */
  private informer: (Informer<V1Namespace> & ObjectCache<V1Namespace>) | undefined;
  /** Our own writes, shown until the watch has caught up with them. */
  private readonly recent = new Map<string, { ns: V1Namespace | null; at: number }>();
  /** Tokens issued while building, handed to the caller once (saves a round trip). */
  private readonly issued = new Map<string, LearnerToken>();

  constructor(deps: { cluster: ClusterConnection; settings: SandboxSettings; logger: Logger; labs?: (lesson: string) => Promise<LabSetup | undefined> }) {
    super();
    this.cluster = deps.cluster;
    this.settings = deps.settings;
    this.log = deps.logger.child({ component: 'sandboxes' });
    this.labs = deps.labs ?? (() => Promise.resolve(undefined));
  }

  private readonly realNodes = new RealNodeCache();

  private kc(): KubeConfig {
    const kc = this.cluster.kubeConfig();
    if (!kc.ok) throw new Unavailable(`the cluster is not reachable: ${kc.error.message}`);
    return kc.value;
  }

  private core(): CoreV1Api {
    return this.kc().makeApiClient(CoreV1Api);
  }

  kubeconfigPath(namespace: string): string {
    return path.join(this.settings.dataDir, 'sandboxes', namespace, 'kubeconfig');
  }

  // ---- reading -------------------------------------------------------------------------

  private toSandbox(ns: V1Namespace): Sandbox {
    const labels = ns.metadata?.labels ?? {};
    const annotations = ns.metadata?.annotations ?? {};
    const name = ns.metadata?.name ?? '';
    const workshop = labels[L.workshop];
    const state = ns.status?.phase === 'Terminating' || ns.metadata?.deletionTimestamp ? 'terminating' : annotations[A.ready] === 'true' ? 'ready' : 'creating';
    return {
      namespace: name,
      learnerKey: labels[L.learner] ?? '',
      learnerName: annotations[A.learnerName] ?? '',
      lesson: annotations[A.lesson] ?? '',
      workshop: workshop && workshop !== NO_WORKSHOP ? workshop : null,
      size: (labels[L.size] as SandboxSize | undefined) ?? 'small',
      nodes: annotations[A.nodes] === 'simulated' ? 'simulated' : 'auto',
      group: groupOf(name),
      priorityClassPrefix: priorityClassPrefixOf(name),
      createdAt: annotations[A.createdAt] ?? ns.metadata?.creationTimestamp?.toISOString() ?? '',
      expiresAt: annotations[A.expiresAt] ?? '',
      lastActivity: annotations[A.lastActivity] ?? annotations[A.createdAt] ?? '',
      state,
      resourceVersion: ns.metadata?.resourceVersion ?? '',
    };
  }

  private async listNamespaces(selector: string): Promise<V1Namespace[]> {
    const result = await call(() => this.core().listNamespace({ labelSelector: selector }));
    if (!result.ok) throw new Unavailable(`could not list sandboxes: ${describe(result.error)}`);
    return result.value.items;
  }

  /** Sandbox namespaces matching `keep`: from the watch when it runs, else from the API. */
  private async sandboxNamespaces(keep: (labels: Record<string, string>) => boolean): Promise<V1Namespace[]> {
    let all: V1Namespace[];
    if (this.informer) {
      const byName = new Map(this.informer.list().map((n) => [n.metadata?.name ?? '', n]));
      const now = Date.now();
      for (const [name, entry] of this.recent) {
        if (now - entry.at > 5_000) this.recent.delete(name);
        else if (entry.ns) byName.set(name, entry.ns);
        else byName.delete(name);
      }
      all = [...byName.values()];
    } else {
      all = await this.listNamespaces(`${L.sandbox}=true`);
    }
    return all.filter((n) => keep(n.metadata?.labels ?? {}));
  }

  private remember(ns: V1Namespace | null, name: string): void {
    if (this.informer) this.recent.set(name, { ns, at: Date.now() });
  }

  /** Every sandbox a learner holds (not the warm pool). */
  async list(filter: { learnerId?: string; workshop?: string } = {}): Promise<Sandbox[]> {
    let selector = `${L.sandbox}=true,${L.learner}!=${POOL_LEARNER}`;
    if (filter.learnerId !== undefined) selector += `,${L.learner}=${learnerKey(filter.learnerId)}`;
    if (filter.workshop !== undefined) selector += `,${L.workshop}=${filter.workshop}`;
    return (await this.listNamespaces(selector)).map((n) => this.toSandbox(n)).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async get(namespace: string): Promise<Sandbox> {
    const result = await call(() => this.core().readNamespace({ name: namespace }));
    if (!result.ok) {
      if (result.error.kind === 'not-found') throw new NotFound(`there is no sandbox ${namespace}`);
      throw new Unavailable(`could not read sandbox ${namespace}: ${describe(result.error)}`);
    }
    const labels = result.value.metadata?.labels ?? {};
    if (labels[L.sandbox] !== 'true' || labels[L.learner] === POOL_LEARNER) throw new NotFound(`there is no sandbox ${namespace}`);
    return this.toSandbox(result.value);
  }

  /** A sandbox, only if it belongs to this learner: anyone else gets the same "not found". */
  async getOwned(namespace: string, learnerId: string): Promise<Sandbox> {
    const sandbox = await this.get(namespace);
    if (sandbox.learnerKey !== learnerKey(learnerId)) throw new NotFound(`there is no sandbox ${namespace}`);
    return sandbox;
  }

  // ---- creating ------------------------------------------------------------------------

  private async ensurePolicies(kc: KubeConfig): Promise<void> {
    if (this.policiesInstalled) return;
    const fences = { learnerPriorityMax: this.settings.learnerPriorityMax ?? DEFAULT_FENCES.learnerPriorityMax, sandboxDomain: this.settings.domain ?? DEFAULT_FENCES.sandboxDomain };
    await (this.settings.policies === 'verify' ? verifyClusterPolicies(kc, fences) : ensureClusterPolicies(kc, fences));
    const me = await whoAmI(kc);
    if (!me.ok) this.log.warn({ error: me.error.message }, "could not tell the platform's own identity (SelfSubjectReview): checks on learners' custom resources need cluster-wide rights");
    this.platform = me.ok ? me.value.subject : undefined;
    this.policiesInstalled = true;
  }

  /** The learner's sandbox for a lesson: the existing one, one from the warm pool, or a new one. */
  async create(request: CreateRequest): Promise<SandboxAccess> {
    const key = learnerKey(request.learnerId);
    const lesson = lessonKey(request.lesson);
    return this.locks.run(`${key}/${lesson}`, async () => {
      const kc = this.kc();
      await this.ensurePolicies(kc);
      const mine = (await this.sandboxNamespaces((l) => l[L.learner] === key)).map((n) => this.toSandbox(n));
      const existing = mine.find((s) => s.lesson === request.lesson && s.state !== 'terminating');
      if (existing) return this.access(kc, existing, false, false);
      const terminating = mine.find((s) => s.lesson === request.lesson);
      if (terminating) await this.waitGone(terminating.namespace);

      const held = mine.filter((s) => s.state !== 'terminating').length;
      if (held >= this.settings.maxPerLearner) {
        throw new Conflict(
          `${request.learnerName ?? request.learnerId} already has ${held} sandboxes, the most one learner may hold (${this.settings.maxPerLearner}); delete one first`,
          { sandboxes: mine.map((s) => s.namespace) },
        );
      }
      const all = await this.sandboxNamespaces((l) => l[L.learner] !== POOL_LEARNER);
      if (all.length >= this.settings.capacity) {
        throw new Unavailable(`the cluster holds ${all.length} sandboxes, its capacity (${this.settings.capacity}); try again when others have finished`);
      }

      const lab = await this.labs(request.lesson);
      const size = request.size ?? lab?.size ?? 'small';
      const meta = {
        nodes: lab?.nodes ?? 'auto',
        learnerKey: key,
        learnerName: request.learnerName ?? request.learnerId,
        lesson: request.lesson,
        lessonKey: lesson,
        workshop: request.workshop ?? NO_WORKSHOP,
      };
      const claimed = await this.claim(kc, size, meta);
      const sandbox = claimed?.sandbox ?? (await this.build(kc, { namespace: sandboxNamespace(request.learnerId, request.lesson, request.learnerName), size, ...meta, expiresAt: isoIn(this.settings.ttlMinutes) }));
      await this.applySetup(kc, sandbox, lab);
      this.emit('event', { type: 'created', namespace: sandbox.namespace });
      void this.fillPool();
      return this.access(kc, sandbox, claimed === undefined, claimed !== undefined, undefined, claimed?.token);
    });
  }

  private async access(kc: KubeConfig, sandbox: Sandbox, created: boolean, fromPool: boolean, endpoint?: ClusterEndpoint, issued?: LearnerToken): Promise<SandboxAccess> {
    let token = issued ?? this.issued.get(sandbox.namespace);
    this.issued.delete(sandbox.namespace);
    if (!token) {
      const requested = await requestToken(kc, sandbox.namespace, new Date(sandbox.expiresAt));
      if (!requested.ok) throw new Unavailable(`could not issue the learner's credentials for ${sandbox.namespace}: ${describe(requested.error)}`);
      token = requested.value;
    }
    const file = this.kubeconfigPath(sandbox.namespace);
    await writeLearnerKubeconfig(file, endpoint ?? (await clusterEndpoint(kc)), sandbox.namespace, token.token);
    return { sandbox, kubeconfig: file, tokenExpiresAt: token.expiresAt, created, fromPool };
  }

  /** Creates every object of a sandbox; on any failure removes what it made and says why. */
  private async build(
    kc: KubeConfig,
    spec: { namespace: string; size: SandboxSize; nodes: SandboxNodes; learnerKey: string; learnerName: string; lesson: string; lessonKey: string; workshop: string; expiresAt: string; pool?: boolean },
  ): Promise<Sandbox> {
    const createdAt = new Date().toISOString();
    const [namespaceObject, ...rest] = renderSandbox({
      namespace: spec.namespace,
      sandboxId: spec.namespace,
      learnerKey: spec.learnerKey,
      learnerName: spec.learnerName,
      lesson: spec.lesson,
      lessonKey: spec.lessonKey,
      workshop: spec.workshop,
      size: spec.size,
      nodes: spec.nodes,
      createdAt,
      expiresAt: spec.expiresAt,
    }, loadTemplates(), { 'services.loadbalancers': String(this.settings.loadBalancers ?? 0) }, this.platform);
    if (!namespaceObject) throw new Error('the sandbox template has no namespace');
    if (spec.pool) (namespaceObject.metadata as { labels: Record<string, string> }).labels[L.pool] = 'available';
    const objects = rawClient(kc);
    const made = await objects.create(namespaceObject);
    if (!made.ok) {
      if (made.error.kind === 'conflict') throw new Conflict(`sandbox ${spec.namespace} is being created by another request; try again`);
      throw new Unavailable(`could not create sandbox ${spec.namespace}: ${describe(made.error)}`);
    }
    try {
      const failed = firstError(await applyObjects(kc, rest));
      if (failed) throw new Unavailable(`could not create sandbox ${spec.namespace}: ${describe(failed)}`);
      // Marking it ready and issuing the learner's token are independent: one round trip.
      const [ready, token] = await Promise.all([
        objects.mergePatch({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: spec.namespace, annotations: { [A.ready]: 'true' } } }),
        spec.pool ? Promise.resolve(undefined) : requestToken(kc, spec.namespace, new Date(spec.expiresAt)),
      ]);
      if (!ready.ok) throw new Unavailable(`could not create sandbox ${spec.namespace}: ${describe(ready.error)}`);
      if (token && !token.ok) throw new Unavailable(`could not issue the learner's credentials for ${spec.namespace}: ${describe(token.error)}`);
      this.remember(ready.value, spec.namespace);
      const sandbox = this.toSandbox(ready.value);
      if (token?.ok) this.issued.set(spec.namespace, token.value);
      return sandbox;
    } catch (error) {
      // Leave nothing half-made behind: the namespace takes its contents with it.
      await this.removeClusterObjects(kc, spec.namespace).catch(() => undefined);
      await call(() => this.core().deleteNamespace({ name: spec.namespace }));
      this.log.warn({ namespace: spec.namespace, err: error }, 'sandbox creation failed; removed what was made');
      throw error;
    }
  }

  private async applySetup(kc: KubeConfig, sandbox: Sandbox, lab: LabSetup | undefined): Promise<void> {
    if (!lab || lab.setup.length === 0) return;
    const values = { namespace: sandbox.namespace, group: sandbox.group, priorityClassPrefix: sandbox.priorityClassPrefix };
    const objects = lab.setup.map((o) => {
      // Plain JSON (lab files are parsed YAML): no class instances to lose.
      const filled = fillPlaceholdersDeep(o, values) as Record<string, unknown> & { metadata?: Record<string, unknown> };
      return { ...filled, metadata: { ...(filled.metadata ?? {}), namespace: sandbox.namespace } };
    });
    const failed = firstError(await applyObjects(kc, objects));
    if (failed) throw new Unavailable(`sandbox ${sandbox.namespace} was made, but the lab's setup objects could not be applied: ${describe(failed)}`);
  }

  // ---- the warm pool -------------------------------------------------------------------

  /** Takes a pool sandbox of this size by relabelling it (one write, with optimistic concurrency). */
  private async claim(
    kc: KubeConfig,
    size: SandboxSize,
    meta: { nodes: SandboxNodes; learnerKey: string; learnerName: string; lesson: string; lessonKey: string; workshop: string },
  ): Promise<{ sandbox: Sandbox; token: LearnerToken } | undefined> {
    const objects = rawClient(kc);
    for (;;) {
      const index = this.pool.findIndex((entry) => entry.size === size);
      if (index < 0) return undefined;
      const [entry] = this.pool.splice(index, 1);
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
              labels: { [L.learner]: meta.learnerKey, [L.lesson]: meta.lessonKey, [L.workshop]: meta.workshop, [L.pool]: null },
              annotations: {
                [A.learnerName]: meta.learnerName,
                [A.lesson]: meta.lesson,
                [A.createdAt]: now,
                [A.lastActivity]: now,
                [A.expiresAt]: expiresAt,
                [A.nodes]: meta.nodes,
              },
            },
          } as unknown as KubernetesObject),
        requestToken(kc, namespace, new Date(expiresAt)),
      ]);
      if (patched.ok && token.ok) {
        this.remember(patched.value, namespace);
        return { sandbox: this.toSandbox(patched.value), token: token.value };
      }
      if (!patched.ok) this.log.warn({ namespace, error: patched.error.message }, 'could not claim a pool sandbox; trying the next');
      else if (!token.ok) throw new Unavailable(`could not issue the learner's credentials for ${namespace}: ${describe(token.error)}`);
      continue;
    }
  }

  /** Changes how many pool sandboxes are kept ready (workshops raise it before they start). */
  setWarmPool(target: number): void {
    this.settings.warmPool = target;
    void this.fillPool();
  }

  get poolSize(): number {
    return this.pool.length;
  }

  poolSizeOf(size: SandboxSize): number {
    return this.pool.filter((e) => e.size === size).length;
  }

  /** Tops the pool up to its configured size; concurrent callers share one fill. */
  fillPool(target = this.settings.warmPool, size = this.settings.warmPoolSize): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.filling ??= this.fill(target, size).finally(() => {
      this.filling = undefined;
    });
    return this.filling;
  }

  private async fill(target: number, size: SandboxSize): Promise<void> {
    const kc = this.kc();
    await this.ensurePolicies(kc);
    const missing = target - this.pool.filter((e) => e.size === size).length;
    const made = await Promise.allSettled(
      Array.from({ length: Math.max(0, missing) }, async () => {
        const namespace = poolNamespace(randomBytes(6).toString('hex'));
        const sandbox = await this.build(kc, {
          namespace,
          size,
          nodes: 'auto',
          learnerKey: POOL_LEARNER,
          learnerName: '',
          lesson: '',
          lessonKey: 'none',
          workshop: NO_WORKSHOP,
          expiresAt: isoIn(7 * 24 * 60),
          pool: true,
        });
        this.pool.push({ namespace: sandbox.namespace, size, resourceVersion: sandbox.resourceVersion });
      }),
    );
    const failed = made.filter((m) => m.status === 'rejected');
    if (failed.length > 0) this.log.warn({ failed: failed.length }, 'some warm-pool sandboxes could not be made');
  }

  // ---- changing ------------------------------------------------------------------------

  async extend(namespace: string, minutes: number): Promise<SandboxAccess> {
    const kc = this.kc();
    const sandbox = await this.get(namespace);
    const base = Math.max(Date.now(), new Date(sandbox.expiresAt).getTime() || Date.now());
    const expiresAt = new Date(Math.min(base + minutes * 60_000, Date.now() + 24 * 60 * 60_000)).toISOString();
    const updated = await this.annotate(kc, namespace, { [A.expiresAt]: expiresAt, [A.lastActivity]: new Date().toISOString() });
    this.emit('event', { type: 'extended', namespace });
    // A fresh token that lives as long as the extended sandbox.
    return this.access(kc, updated, false, false);
  }

  /** The learner kubeconfig of a sandbox, issuing a fresh token when the file is missing. */
  async kubeconfigFor(namespace: string): Promise<string> {
    const file = this.kubeconfigPath(namespace);
    try {
      await fs.access(file);
      return file;
    } catch {
      const sandbox = await this.get(namespace);
      return (await this.access(this.kc(), sandbox, false, false)).kubeconfig;
    }
  }

  /** Records activity (terminal input, checks), which keeps the idle reaper away. */
  async touch(namespace: string): Promise<void> {
    await this.annotate(this.kc(), namespace, { [A.lastActivity]: new Date().toISOString() });
  }

  private async annotate(kc: KubeConfig, namespace: string, annotations: Record<string, string>): Promise<Sandbox> {
    const patched = await rawClient(kc).mergePatch({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, annotations } });
    if (!patched.ok) {
      if (patched.error.kind === 'not-found') throw new NotFound(`there is no sandbox ${namespace}`);
      throw new Unavailable(`could not update sandbox ${namespace}: ${describe(patched.error)}`);
    }
    this.remember(patched.value, namespace);
    return this.toSandbox(patched.value);
  }

  /** Deletes and recreates the sandbox under the same name, lab setup applied again. */
  async reset(namespace: string): Promise<SandboxAccess> {
    const old = await this.get(namespace);
    return this.locks.run(`${old.learnerKey}/${lessonKey(old.lesson)}`, async () => {
      const kc = this.kc();
      await this.ensurePolicies(kc);
      await this.remove(kc, namespace);
      await this.waitGone(namespace);
      const lab = await this.labs(old.lesson);
      const sandbox = await this.build(kc, {
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
      await this.applySetup(kc, sandbox, lab);
      this.emit('event', { type: 'reset', namespace });
      return this.access(kc, sandbox, true, false);
    });
  }

  /** Deletes the sandbox and the learner's cluster-scoped objects; waits until it is gone. */
  async delete(namespace: string, options: { wait?: boolean; reason?: string } = {}): Promise<void> {
    await this.get(namespace);
    const kc = this.kc();
    await this.remove(kc, namespace);
    if (options.wait ?? true) await this.waitGone(namespace);
    this.emit('event', { type: 'deleted', namespace, ...(options.reason ? { reason: options.reason } : {}) });
  }

  private async remove(kc: KubeConfig, namespace: string): Promise<void> {
    const deleted = await call(() => this.core().deleteNamespace({ name: namespace, propagationPolicy: 'Background' }));
    if (!deleted.ok && deleted.error.kind !== 'not-found') throw new Unavailable(`could not delete sandbox ${namespace}: ${describe(deleted.error)}`);
    if (deleted.ok) this.remember(deleted.value as unknown as V1Namespace, namespace);
    await this.removeClusterObjects(kc, namespace);
    await fs.rm(path.dirname(this.kubeconfigPath(namespace)), { recursive: true, force: true });
  }

  /** The ClusterRoleBinding, CRDs and PriorityClasses that belong to a sandbox namespace. */
  private async removeClusterObjects(kc: KubeConfig, namespace: string): Promise<void> {
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    const crds = kc.makeApiClient(ApiextensionsV1Api);
    const scheduling = kc.makeApiClient(SchedulingV1Api);
    const group = groupOf(namespace);
    const prefix = priorityClassPrefixOf(namespace);
    const [crdList, pcList] = await Promise.all([call(() => crds.listCustomResourceDefinition()), call(() => scheduling.listPriorityClass())]);
    const jobs: Promise<unknown>[] = [call(() => rbac.deleteClusterRoleBinding({ name: `kubedojo:sandbox:${namespace}` }))];
    if (crdList.ok) for (const crd of crdList.value.items) if (crd.spec.group === group) jobs.push(call(() => crds.deleteCustomResourceDefinition({ name: crd.metadata?.name ?? '' })));
    if (pcList.ok) for (const pc of pcList.value.items) if (pc.metadata?.name?.startsWith(prefix)) jobs.push(call(() => scheduling.deletePriorityClass({ name: pc.metadata?.name ?? '' })));
    await Promise.all(jobs);
  }

  private async waitGone(namespace: string, timeoutMs = 120_000): Promise<void> {
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

  // ---- reaping and adoption ------------------------------------------------------------

  /** Deletes expired, idle and half-made sandboxes and orphaned cluster objects. */
  async reap(now = Date.now()): Promise<{ namespace: string; reason: string }[]> {
    const kc = this.kc();
    const reaped: { namespace: string; reason: string }[] = [];
    const namespaces = await this.listNamespaces(`${L.sandbox}=true`);
    const live = new Set(namespaces.map((n) => n.metadata?.name ?? ''));
    for (const ns of namespaces) {
      const sandbox = this.toSandbox(ns);
      const isPool = ns.metadata?.labels?.[L.learner] === POOL_LEARNER;
      const created = new Date(ns.metadata?.creationTimestamp ?? now).getTime();
      let reason: string | undefined;
      if (sandbox.state === 'terminating') continue;
      if (sandbox.state === 'creating' && now - created > (this.settings.leftoverAfterSeconds ?? 120) * 1000) reason = 'left over from a failed create';
      else if (!isPool && sandbox.expiresAt && new Date(sandbox.expiresAt).getTime() <= now) reason = 'expired';
      else if (!isPool && sandbox.lastActivity && now - new Date(sandbox.lastActivity).getTime() > this.settings.idleMinutes * 60_000) reason = 'idle';
      if (!reason) continue;
      await this.remove(kc, sandbox.namespace);
      reaped.push({ namespace: sandbox.namespace, reason });
      this.emit('event', { type: 'deleted', namespace: sandbox.namespace, reason });
    }
    // Cluster-scoped leftovers whose sandbox namespace no longer exists.
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    const bindings = await call(() => rbac.listClusterRoleBinding({ labelSelector: L.sandboxNamespace }));
    if (bindings.ok) {
      for (const binding of bindings.value.items) {
        const owner = binding.metadata?.labels?.[L.sandboxNamespace] ?? '';
        if (!live.has(owner)) await this.removeClusterObjects(kc, owner);
      }
    }
    const crds = await call(() => kc.makeApiClient(ApiextensionsV1Api).listCustomResourceDefinition());
    if (crds.ok) {
      for (const crd of crds.value.items) {
        const group = crd.spec.group;
        if (!group.endsWith(`.${GROUP_SUFFIX}`)) continue;
        const owner = group.slice(0, -GROUP_SUFFIX.length - 1);
        if (!live.has(owner)) await this.removeClusterObjects(kc, owner);
      }
    }
    if (reaped.length > 0) this.log.info({ reaped }, `reaped ${reaped.length} sandboxes`);
    return reaped;
  }

  /** On server start: install policies, reap what expired or was left half-made, adopt the pool. */
  async start(): Promise<void> {
    this.stopped = false;
    const kc = this.kc();
    await this.ensurePolicies(kc);
    if (!this.informer) {
      const selector = `${L.sandbox}=true`;
      const core = kc.makeApiClient(CoreV1Api);
      const informer = makeInformer<V1Namespace>(kc, '/api/v1/namespaces', () => core.listNamespace({ labelSelector: selector }), selector);
      informer.on('error', (error: unknown) => {
        if (!this.stopped) this.log.warn({ err: error }, 'the sandbox watch failed; it reconnects');
      });
      await informer.start();
      this.informer = informer;
    }
    await this.reap();
    const pool = await this.listNamespaces(`${L.sandbox}=true,${L.learner}=${POOL_LEARNER},${L.pool}=available`);
    for (const ns of pool) {
      const sandbox = this.toSandbox(ns);
      if (sandbox.state === 'ready' && !this.pool.some((e) => e.namespace === sandbox.namespace)) {
        this.pool.push({ namespace: sandbox.namespace, size: sandbox.size, resourceVersion: sandbox.resourceVersion });
      }
    }
    void this.fillPool();
    if (this.settings.reapIntervalSeconds > 0) {
      this.timer = setInterval(() => {
        this.reap().catch((error: unknown) => {
          this.log.warn({ err: error }, 'reaping sandboxes failed');
        });
      }, this.settings.reapIntervalSeconds * 1000);
      this.timer.unref();
    }
  }

  /** The cluster's real node, if it has one (the lesson page says where Pods run). */
  realNode(): Promise<string | null> {
    return this.realNodes.get(() => this.kc());
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    const informer = this.informer;
    this.informer = undefined;
    if (informer) void informer.stop();
  }
}
