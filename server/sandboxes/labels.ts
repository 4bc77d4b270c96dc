import type { V1Namespace } from '@kubernetes/client-node';
import { groupOf, priorityClassPrefixOf } from './names.ts';
import type { SandboxSize } from '../vocabulary.ts';
import type { Sandbox } from './types.ts';

/**
 * The label codec: every fact about a sandbox is a label or annotation on its namespace (the
 * cluster is the source of truth), so a restarted server reads them back from here.
 */

export const LABEL = {
  sandbox: 'kubedojo.dev/sandbox',
  id: 'kubedojo.dev/sandbox-id',
  learner: 'kubedojo.dev/learner',
  lesson: 'kubedojo.dev/lesson',
  workshop: 'kubedojo.dev/workshop',
  size: 'kubedojo.dev/size',
  pool: 'kubedojo.dev/pool',
  sandboxNamespace: 'kubedojo.dev/sandbox-namespace',
} as const;

export const ANNOTATION = {
  learnerName: 'kubedojo.dev/learner-name',
  lesson: 'kubedojo.dev/lesson',
  createdAt: 'kubedojo.dev/created-at',
  expiresAt: 'kubedojo.dev/expires-at',
  lastActivity: 'kubedojo.dev/last-activity',
  ready: 'kubedojo.dev/ready',
  /** Read by the scheduler's real-node plugin: "simulated" keeps the sandbox's Pods off the real node. */
  nodes: 'kubedojo.dev/nodes',
} as const;

/** The learner label of warm-pool sandboxes, and the workshop label of sandboxes outside one. */
export const POOL_LEARNER = 'pool';
export const NO_WORKSHOP = 'none';

/** Every sandbox namespace, pool included. */
export const SANDBOX_SELECTOR = `${LABEL.sandbox}=true`;

export function isoIn(minutes: number, from = Date.now()): string {
  return new Date(from + minutes * 60_000).toISOString();
}

export function isPool(ns: V1Namespace): boolean {
  return ns.metadata?.labels?.[LABEL.learner] === POOL_LEARNER;
}

/** A sandbox as its namespace describes it. */
export function sandboxOf(ns: V1Namespace): Sandbox {
  const labels = ns.metadata?.labels ?? {};
  const annotations = ns.metadata?.annotations ?? {};
  const name = ns.metadata?.name ?? '';
  const workshop = labels[LABEL.workshop];
  const state = ns.status?.phase === 'Terminating' || ns.metadata?.deletionTimestamp ? 'terminating' : annotations[ANNOTATION.ready] === 'true' ? 'ready' : 'creating';
  return {
    namespace: name,
    learnerKey: labels[LABEL.learner] ?? '',
    learnerName: annotations[ANNOTATION.learnerName] ?? '',
    lesson: annotations[ANNOTATION.lesson] ?? '',
    workshop: workshop && workshop !== NO_WORKSHOP ? workshop : null,
    size: (labels[LABEL.size] as SandboxSize | undefined) ?? 'small',
    nodes: annotations[ANNOTATION.nodes] === 'simulated' ? 'simulated' : 'auto',
    group: groupOf(name),
    priorityClassPrefix: priorityClassPrefixOf(name),
    createdAt: annotations[ANNOTATION.createdAt] ?? ns.metadata?.creationTimestamp?.toISOString() ?? '',
    expiresAt: annotations[ANNOTATION.expiresAt] ?? '',
    lastActivity: annotations[ANNOTATION.lastActivity] ?? annotations[ANNOTATION.createdAt] ?? '',
    state,
    resourceVersion: ns.metadata?.resourceVersion ?? '',
  };
}
