import type { V1Pod } from '@kubernetes/client-node';

/**
 * Whether the Pods of a namespace are still on their way somewhere. An operator's status often
 * waits on Pods (a Database is Ready when its StatefulSet's Pods are), and a Pod can take a
 * while between two writes of its own (scheduled, then its containers starting); a check that
 * fails once "nothing has changed for a while" must not count that as the operator being done.
 * A Pod that is stuck (it crashes, its image cannot be pulled, it cannot be scheduled) has
 * arrived: waiting longer would not change what the learner's operator did.
 */

/** Waiting reasons of a container that will not become ready by waiting. */
const STUCK = new Set(['CrashLoopBackOff', 'ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'CreateContainerConfigError', 'CreateContainerError', 'RunContainerError']);

function settled(pod: V1Pod): boolean {
  if (pod.metadata?.deletionTimestamp) return false;
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return true;
  const conditions = pod.status?.conditions ?? [];
  if (conditions.some((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable')) return true;
  const containers = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  if (containers.some((c) => STUCK.has(c.state?.waiting?.reason ?? ''))) return true;
  return phase === 'Running' && conditions.some((c) => c.type === 'Ready' && c.status === 'True');
}

/** A fingerprint of the Pods (name and resourceVersion) and whether any is still starting or stopping. */
export function podsInMotion(pods: readonly V1Pod[]): { fingerprint: string; starting: boolean } {
  const fingerprint = pods
    .map((p) => `${p.metadata?.name ?? ''}:${p.metadata?.resourceVersion ?? ''}`)
    .sort()
    .join(',');
  return { fingerprint, starting: pods.some((p) => !settled(p)) };
}
