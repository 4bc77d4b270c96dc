import type { KubernetesObject, V1Node, V1Pod, V1Toleration } from '@kubernetes/client-node';
import type { CheckEvaluator, Outcome } from '../types.ts';
import { apiOutcome, plural } from './common.ts';
import { loadWorkload, pendingReason, unschedulable } from './workloads.ts';

const ZONE = 'topology.kubernetes.io/zone';

/** Whether a toleration tolerates a taint, by the rules the scheduler applies. */
export function tolerates(toleration: V1Toleration, taint: { key: string; value?: string | undefined; effect?: string | undefined }): boolean {
  if (toleration.effect && taint.effect && toleration.effect !== taint.effect) return false;
  if (toleration.effect && !taint.effect) return false;
  if (toleration.operator === 'Exists') return !toleration.key || toleration.key === taint.key;
  return toleration.key === taint.key && (toleration.value ?? '') === (taint.value ?? '');
}

function labelsMatch(labels: Record<string, string> | undefined, wanted: Record<string, string>): string | undefined {
  for (const [key, value] of Object.entries(wanted)) {
    const actual = labels?.[key];
    if (actual === undefined) return `has no ${key} label`;
    if (value !== '*' && actual !== value) return `has ${key}=${actual}`;
  }
  return undefined;
}

function describeLabels(wanted: Record<string, string>): string {
  return Object.entries(wanted)
    .map(([k, v]) => (v === '*' ? k : `${k}=${v}`))
    .join(', ');
}

/**
 * `scheduling`: where the real scheduler actually put the workload's Pods, judged against the
 * nodes' labels, not against the fields of the Pod spec, so every correct way of writing
 * affinity, selectors and tolerations passes and every wrong one shows where the Pods landed.
 */
export const schedulingCheck: CheckEvaluator<'scheduling'> = async (check, ctx) => {
  const loaded = await loadWorkload(ctx.scope, check.workload);
  if (!loaded.ok) return loaded.outcome;
  const { workload } = loaded;
  const what = `${check.workload.kind} ${check.workload.name}`;
  const expect = check.expect;
  const minPods = expect.minPods ?? 1;
  const bound = workload.pods.filter((p) => p.spec?.nodeName);
  const pending = workload.pods.filter((p) => !p.spec?.nodeName);
  // Placement is final once every Pod the workload wants is bound: only then is a wrong node a settled answer.
  const allPlaced = pending.length === 0 && (workload.desired === undefined || bound.length >= workload.desired);

  if (expect.tolerates !== undefined) {
    const taint = expect.tolerates;
    const untolerating = workload.pods.find((p) => !(p.spec?.tolerations ?? []).some((t) => tolerates(t, taint)));
    if (untolerating) {
      const shown = `${taint.key}${taint.value !== undefined ? `=${taint.value}` : ''}${taint.effect ? `:${taint.effect}` : ''}`;
      return {
        status: 'failed',
        message: `Pod ${untolerating.metadata?.name ?? ''} does not tolerate the taint ${shown}`,
        expected: `a toleration for ${shown}`,
        found: JSON.stringify(untolerating.spec?.tolerations?.filter((t) => !t.key?.startsWith('node.kubernetes.io/')) ?? []),
        settled: true,
      };
    }
  }

  if (bound.length < minPods) {
    const reason = pending[0] ? `; ${pending[0].metadata?.name ?? 'a Pod'} is pending: ${pendingReason(pending[0])}` : '';
    return {
      status: 'failed',
      message: `${plural(bound.length, 'Pod')} of ${what} bound to a node, expected at least ${minPods}${reason}`,
      expected: `at least ${plural(minPods, 'bound Pod')}`,
      found: `${bound.length} bound, ${pending.length} pending`,
      // The scheduler has tried and found no node: nothing changes until the learner does.
      settled: pending.length > 0 && pending.every(unschedulable),
    };
  }

  const nodes = await ctx.scope.list<V1Node & KubernetesObject>({ apiVersion: 'v1', kind: 'Node' });
  if (!nodes.ok) return apiOutcome(nodes.error, 'the nodes');
  const nodeByName = new Map(nodes.value.map((n) => [n.metadata?.name ?? '', n]));
  const nodeOf = (pod: V1Pod) => nodeByName.get(pod.spec?.nodeName ?? '');
  const placement = bound.map((p) => `${p.metadata?.name ?? ''} → ${p.spec?.nodeName ?? ''}`).join(', ');

  const fail = (message: string, expected: string): Outcome => ({ status: 'failed', message, expected, found: placement, settled: allPlaced });

  if (expect.nodeLabels !== undefined) {
    for (const pod of bound) {
      const problem = labelsMatch(nodeOf(pod)?.metadata?.labels, expect.nodeLabels);
      if (problem) return fail(`Pod ${pod.metadata?.name ?? ''} runs on ${pod.spec?.nodeName ?? ''}, which ${problem}`, `every Pod on a node labelled ${describeLabels(expect.nodeLabels)}`);
    }
  }
  if (expect.notOnNodeLabels !== undefined) {
    for (const pod of bound) {
      if (labelsMatch(nodeOf(pod)?.metadata?.labels, expect.notOnNodeLabels) === undefined) {
        return fail(`Pod ${pod.metadata?.name ?? ''} runs on ${pod.spec?.nodeName ?? ''}, a node labelled ${describeLabels(expect.notOnNodeLabels)}`, `no Pod on nodes labelled ${describeLabels(expect.notOnNodeLabels)}`);
      }
    }
  }
  if (expect.preferredZone !== undefined) {
    const zone = expect.preferredZone;
    if (!bound.some((p) => nodeOf(p)?.metadata?.labels?.[ZONE] === zone)) {
      const zones = bound.map((p) => nodeOf(p)?.metadata?.labels?.[ZONE] ?? '(no zone)');
      return fail(`no Pod of ${what} runs in ${zone}; they run in ${[...new Set(zones)].join(', ')}`, `at least one Pod in ${zone}`);
    }
  }
  if (expect.spreadBy !== undefined) {
    const key = expect.spreadBy;
    const seen = new Map<string, string>();
    for (const pod of bound) {
      const value = nodeOf(pod)?.metadata?.labels?.[key] ?? `(node ${pod.spec?.nodeName ?? ''} has no ${key})`;
      const other = seen.get(value);
      if (other !== undefined) return fail(`Pods ${other} and ${pod.metadata?.name ?? ''} share ${key}=${value}`, `no two Pods with the same ${key}`);
      seen.set(value, pod.metadata?.name ?? '');
    }
  }
  return { status: 'passed', message: `${what}: ${placement}` };
};
