import type { KubernetesObject, V1Deployment, V1Job, V1PersistentVolumeClaim, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import type { SandboxScope } from './scope.ts';

type K = KubernetesObject;

/** Seconds the controllers' latest change must be past before their work counts as done. */
const SETTLE_SECONDS = 3;

function secondsSince(time: Date | string | undefined, now: number): number {
  return time === undefined ? Number.POSITIVE_INFINITY : (now - new Date(time).getTime()) / 1000;
}

function podQuiet(pod: V1Pod, now: number): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return true;
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (phase === 'Pending') return scheduled?.status === 'False' && scheduled.reason === 'Unschedulable';
  if (phase !== 'Running') return false;
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
  // Endpoints follow readiness a moment later.
  return ready !== undefined && secondsSince(ready.lastTransitionTime, now) >= SETTLE_SECONDS;
}

function deploymentQuiet(d: V1Deployment): boolean {
  const replicas = d.spec?.replicas ?? 1;
  const s = d.status;
  if (s === undefined || (s.observedGeneration ?? -1) < (d.metadata?.generation ?? 0)) return false;
  // A controller that cannot make its Pods (quota, LimitRange) has nothing more to do either.
  if (s.conditions?.some((c) => (c.type === 'ReplicaFailure' && c.status === 'True') || (c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded'))) return true;
  return (s.updatedReplicas ?? 0) === replicas && (s.replicas ?? 0) === replicas && (s.availableReplicas ?? 0) === replicas;
}

function statefulSetQuiet(s: V1StatefulSet): boolean {
  const replicas = s.spec?.replicas ?? 1;
  const st = s.status;
  if (st === undefined || (st.observedGeneration ?? -1) < (s.metadata?.generation ?? 0)) return false;
  return st.readyReplicas === replicas && st.replicas === replicas && st.currentRevision === st.updateRevision;
}

function jobQuiet(j: V1Job): boolean {
  if (j.status?.conditions?.some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')) return true;
  return (j.status?.active ?? 0) === 0 && j.status?.startTime !== undefined;
}

/**
 * Whether the controllers in the sandbox have finished reacting to what the learner did: every
 * Deployment and StatefulSet rolled out (or stuck on a refusal), Jobs done, claims bound, Pods
 * ready (or unschedulable) for a few seconds. Then a failing check on Pods, endpoints or status
 * will not fix itself, and the learner hears so at once instead of after the timeout.
 */
export function namespaceQuiet(scope: SandboxScope, now = Date.now()): Promise<boolean> {
  // The checks of a grade run in parallel and each asks while it waits: one answer serves them all for a moment.
  const recent = asked.get(scope);
  if (recent && now - recent.at < SHARE_MS) return recent.answer;
  const answer = quietNow(scope, now);
  asked.set(scope, { at: now, answer });
  return answer;
}

const SHARE_MS = 250;
const asked = new WeakMap<SandboxScope, { at: number; answer: Promise<boolean> }>();

async function quietNow(scope: SandboxScope, now: number): Promise<boolean> {
  const [deployments, statefulSets, jobs, pods, claims] = await Promise.all([
    scope.list<V1Deployment & K>({ apiVersion: 'apps/v1', kind: 'Deployment' }),
    scope.list<V1StatefulSet & K>({ apiVersion: 'apps/v1', kind: 'StatefulSet' }),
    scope.list<V1Job & K>({ apiVersion: 'batch/v1', kind: 'Job' }),
    scope.pods<V1Pod & K>(''),
    scope.list<V1PersistentVolumeClaim & K>({ apiVersion: 'v1', kind: 'PersistentVolumeClaim' }),
  ]);
  if (!deployments.ok || !statefulSets.ok || !jobs.ok || !pods.ok || !claims.ok) return false;
  return (
    deployments.value.every(deploymentQuiet) &&
    statefulSets.value.every(statefulSetQuiet) &&
    jobs.value.every(jobQuiet) &&
    claims.value.every((c) => c.status?.phase === 'Bound') &&
    pods.value.every((p) => podQuiet(p, now))
  );
}
