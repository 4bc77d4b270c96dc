import { ApiextensionsV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { call } from '../cluster/api.ts';
import type { Logger } from '../logger.ts';
import type { SandboxBuilder } from './builder.ts';
import { isPool, LABEL, SANDBOX_SELECTOR, sandboxOf } from './labels.ts';
import { GROUP_SUFFIX } from './names.ts';
import type { SandboxStore } from './store.ts';
import type { Sandbox, SandboxEvent, SandboxSettings } from './types.ts';

export interface Reaped {
  namespace: string;
  reason: string;
}

/** Why a sandbox should go now, or undefined to keep it. Pool sandboxes neither expire nor idle. */
export function reapReason(sandbox: Sandbox, pool: boolean, createdMs: number, settings: Pick<SandboxSettings, 'idleMinutes' | 'leftoverAfterSeconds'>, now: number): string | undefined {
  if (sandbox.state === 'terminating') return undefined;
  if (sandbox.state === 'creating' && now - createdMs > (settings.leftoverAfterSeconds ?? 120) * 1000) return 'left over from a failed create';
  if (!pool && sandbox.expiresAt && new Date(sandbox.expiresAt).getTime() <= now) return 'expired';
  if (!pool && sandbox.lastActivity && now - new Date(sandbox.lastActivity).getTime() > settings.idleMinutes * 60_000) return 'idle';
  return undefined;
}

/**
 * Deletes expired, idle and half-made sandboxes, and the cluster-scoped objects (bindings, CRDs)
 * whose sandbox namespace no longer exists; on a timer once started.
 */
export class Reaper {
  private readonly store: SandboxStore;
  private readonly builder: SandboxBuilder;
  private readonly settings: SandboxSettings;
  private readonly log: Logger;
  private readonly emit: (event: SandboxEvent) => void;
  private timer: NodeJS.Timeout | undefined;

  constructor(deps: { store: SandboxStore; builder: SandboxBuilder; settings: SandboxSettings; logger: Logger; emit: (event: SandboxEvent) => void }) {
    this.store = deps.store;
    this.builder = deps.builder;
    this.settings = deps.settings;
    this.log = deps.logger;
    this.emit = deps.emit;
  }

  async reap(now = Date.now()): Promise<Reaped[]> {
    const kc = this.store.kc();
    const reaped: Reaped[] = [];
    const namespaces = await this.store.listNamespaces(SANDBOX_SELECTOR);
    const live = new Set(namespaces.map((n) => n.metadata?.name ?? ''));
    for (const ns of namespaces) {
      const sandbox = sandboxOf(ns);
      const created = new Date(ns.metadata?.creationTimestamp ?? now).getTime();
      const reason = reapReason(sandbox, isPool(ns), created, this.settings, now);
      if (!reason) continue;
      await this.builder.remove(kc, sandbox.namespace);
      reaped.push({ namespace: sandbox.namespace, reason });
      this.emit({ type: 'deleted', namespace: sandbox.namespace, reason });
    }
    // Cluster-scoped leftovers whose sandbox namespace no longer exists.
    const bindings = await call(() => kc.makeApiClient(RbacAuthorizationV1Api).listClusterRoleBinding({ labelSelector: LABEL.sandboxNamespace }));
    if (bindings.ok) {
      for (const binding of bindings.value.items) {
        const owner = binding.metadata?.labels?.[LABEL.sandboxNamespace] ?? '';
        if (!live.has(owner)) await this.builder.removeClusterObjects(kc, owner);
      }
    }
    const crds = await call(() => kc.makeApiClient(ApiextensionsV1Api).listCustomResourceDefinition());
    if (crds.ok) {
      for (const crd of crds.value.items) {
        const group = crd.spec.group;
        if (!group.endsWith(`.${GROUP_SUFFIX}`)) continue;
        const owner = group.slice(0, -GROUP_SUFFIX.length - 1);
        if (!live.has(owner)) await this.builder.removeClusterObjects(kc, owner);
      }
    }
    if (reaped.length > 0) this.log.info({ reaped }, `reaped ${reaped.length} sandboxes`);
    return reaped;
  }

  /** Reaps every --reap-interval seconds (0: never) until `stop`, then runs `after` (the pool's top-up). */
  start(after: () => Promise<void> = () => Promise.resolve()): void {
    if (this.timer || this.settings.reapIntervalSeconds <= 0) return;
    this.timer = setInterval(() => {
      this.reap()
        .then(after)
        .catch((error: unknown) => {
          this.log.warn({ err: error }, 'reaping sandboxes failed');
        });
    }, this.settings.reapIntervalSeconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
