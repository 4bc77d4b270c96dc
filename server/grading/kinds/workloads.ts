import type { KubernetesObject, V1LabelSelector, V1Pod } from '@kubernetes/client-node';
import type { NamedTarget } from '../../checks/schema.ts';
import type { SandboxScope } from '../scope.ts';
import type { Outcome } from '../types.ts';
import { apiOutcome } from './common.ts';

/** A workload (Deployment, StatefulSet, Job, …) as its controller sees it, and its live Pods. */
export interface Workload {
  object: KubernetesObject & { spec?: { replicas?: number; selector?: V1LabelSelector; parallelism?: number; completions?: number } };
  selector: V1LabelSelector;
  /** The Pods it wants running now, where that is known. */
  desired: number | undefined;
  pods: V1Pod[];
}

export type LoadedWorkload = { ok: true; workload: Workload } | { ok: false; outcome: Outcome };

export async function loadWorkload(scope: SandboxScope, ref: NamedTarget): Promise<LoadedWorkload> {
  const found = await scope.get<Workload['object']>(ref, ref.name);
  if (!found.ok) return { ok: false, outcome: apiOutcome(found.error, `${ref.kind} ${ref.name}`) };
  const object = found.value;
  if (object === null) {
    return { ok: false, outcome: { status: 'failed', message: `${ref.kind} ${ref.name} was not found in ${scope.namespace}`, expected: `${ref.kind} ${ref.name}`, found: 'nothing by that name', settled: true } };
  }
  let selector: V1LabelSelector;
  if (ref.kind === 'Pod') selector = { matchLabels: object.metadata?.labels ?? {} };
  else if (object.spec?.selector) selector = object.spec.selector;
  else return { ok: false, outcome: { status: 'error', message: `${ref.kind} ${ref.name} has no Pod selector; the check needs a Deployment, StatefulSet, ReplicaSet, DaemonSet, Job or Pod` } };

  const pods = await scope.pods<V1Pod & KubernetesObject>(selector);
  if (!pods.ok) return { ok: false, outcome: apiOutcome(pods.error, `the Pods of ${ref.kind} ${ref.name}`) };
  const owned = ref.kind === 'Pod' ? pods.value.filter((p) => p.metadata?.name === ref.name) : pods.value;
  const desired = ref.kind === 'Job' ? (object.spec?.parallelism ?? 1) : ref.kind === 'Pod' ? 1 : object.spec?.replicas;
  return { ok: true, workload: { object, selector, desired, pods: owned } };
}

/** Why the scheduler has not placed a Pod, in its own words. */
export function pendingReason(pod: V1Pod): string {
  const condition = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  return condition?.message ?? condition?.reason ?? 'not scheduled yet';
}

/** The scheduler tried and found no node for the Pod. */
export function unschedulable(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable') ?? false;
}

export function isReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** Seconds a Pod has been Ready (0 when not ready). */
export function readyForSeconds(pod: V1Pod, now = Date.now()): number {
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True');
  if (!ready?.lastTransitionTime) return 0;
  return (now - new Date(ready.lastTransitionTime).getTime()) / 1000;
}

export function matchesLabels(labels: Record<string, string> | undefined, wanted: Record<string, string>): boolean {
  return Object.entries(wanted).every(([k, v]) => labels?.[k] === v);
}
