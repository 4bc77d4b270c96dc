import type { CoreV1Event, KubernetesObject, V1PriorityClass, V1ReplicaSet } from '@kubernetes/client-node';
import { summarizeMismatches, expectedSide, foundSide, partialMatch } from '../match.ts';
import type { CheckOf } from '../../checks/schema.ts';
import type { CheckContext, CheckEvaluator, Outcome } from '../types.ts';
import { apiOutcome, plural } from './common.ts';
import { loadWorkload } from './workloads.ts';

type K = KubernetesObject;

/**
 * Why Pods of a workload were not created: the ReplicaSet's ReplicaFailure condition or the
 * FailedCreate events, which carry the API's own refusal ("exceeded quota: …", "maximum cpu
 * usage per Container is 200m …").
 */
async function creationFailure(ctx: CheckContext, kind: string, name: string): Promise<string | undefined> {
  if (kind === 'Deployment') {
    const sets = await ctx.scope.list<V1ReplicaSet & K>({ apiVersion: 'apps/v1', kind: 'ReplicaSet' });
    if (sets.ok) {
      const mine = sets.value.filter((rs) => rs.metadata?.ownerReferences?.some((o) => o.kind === 'Deployment' && o.name === name));
      for (const rs of mine) {
        const failure = rs.status?.conditions?.find((c) => c.type === 'ReplicaFailure' && c.status === 'True');
        if (failure?.message) return failure.message;
      }
    }
  }
  const events = await ctx.scope.list<CoreV1Event & K>({ apiVersion: 'v1', kind: 'Event' }, undefined, 'reason=FailedCreate');
  if (!events.ok) return undefined;
  const related = events.value
    .filter((e) => e.involvedObject.name === name || (e.involvedObject.name ?? '').startsWith(`${name}-`))
    .sort((a, b) => String(b.lastTimestamp ?? b.eventTime ?? '').localeCompare(String(a.lastTimestamp ?? a.eventTime ?? '')));
  return related[0]?.message;
}

async function workloadAdmitted(check: CheckOf<'resources'>, ctx: CheckContext): Promise<Outcome | undefined> {
  if (!check.workload || !check.expect) return undefined;
  const loaded = await loadWorkload(ctx.scope, check.workload);
  if (!loaded.ok) return loaded.outcome;
  const { workload } = loaded;
  const what = `${check.workload.kind} ${check.workload.name}`;
  const { expect } = check;
  if (expect.allPodsCreated === true) {
    const desired = workload.desired ?? 0;
    if (workload.pods.length < desired) {
      const reason = await creationFailure(ctx, check.workload.kind, check.workload.name);
      return {
        status: 'failed',
        message: `${what} has ${workload.pods.length} of ${desired} Pods${reason ? `; the API refused the others: ${reason}` : ''}`,
        expected: `${plural(desired, 'Pod')} admitted`,
        found: reason ?? `${plural(workload.pods.length, 'Pod')} so far`,
        // A refusal by quota or LimitRange repeats until the learner changes something.
        settled: reason !== undefined,
      };
    }
  }
  for (const pod of workload.pods) {
    if (expect.priority !== undefined && pod.spec?.priority !== expect.priority) {
      return {
        status: 'failed',
        message: `Pod ${pod.metadata?.name ?? ''} runs with priority ${pod.spec?.priority ?? 0}${pod.spec?.priorityClassName ? ` (class ${pod.spec.priorityClassName})` : ' (no PriorityClass)'}`,
        expected: `priority ${expect.priority}`,
        found: `priority ${pod.spec?.priority ?? 0}`,
        settled: true,
      };
    }
    if (expect.qosClass !== undefined && pod.status?.qosClass !== expect.qosClass) {
      return { status: 'failed', message: `Pod ${pod.metadata?.name ?? ''} has QoS class ${pod.status?.qosClass ?? '(none yet)'}`, expected: expect.qosClass, found: pod.status?.qosClass ?? '(none)', settled: pod.status?.qosClass !== undefined };
    }
  }
  return undefined;
}

async function priorityClassHolds(check: CheckOf<'resources'>, ctx: CheckContext): Promise<Outcome | undefined> {
  const spec = check.priorityClass;
  if (!spec) return undefined;
  const found = await ctx.scope.get<V1PriorityClass & K>({ apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass' }, spec.name);
  if (!found.ok) return apiOutcome(found.error, `PriorityClass ${spec.name}`);
  if (found.value === null) {
    return { status: 'failed', message: `PriorityClass ${spec.name} was not found (PriorityClasses are cluster-wide: yours must start with ${ctx.scope.identity.priorityClassPrefix})`, settled: true };
  }
  const value: number = found.value.value ?? 0;
  if (spec.value !== undefined && value !== spec.value) return { status: 'failed', message: `PriorityClass ${spec.name} has value ${value}`, expected: `value: ${spec.value}`, found: `value: ${value}`, settled: true };
  if (spec.valueBelow !== undefined && value >= spec.valueBelow) {
    return { status: 'failed', message: `PriorityClass ${spec.name} has value ${value}, in the range reserved for system classes`, expected: `a value below ${spec.valueBelow}`, found: `value: ${value}`, settled: true };
  }
  return undefined;
}

async function admissionHolds(check: CheckOf<'resources'>, ctx: CheckContext): Promise<Outcome | undefined> {
  const spec = check.admission;
  if (!spec) return undefined;
  const result = await ctx.scope.dryRunCreate({ apiVersion: 'v1', kind: 'Pod', ...spec.pod });
  if (result.ok) {
    if (!spec.admitted) return { status: 'failed', message: `a Pod that should be refused by admission was accepted`, expected: `refused${spec.messageContains ? ` (…${spec.messageContains}…)` : ''}`, found: 'admitted', settled: true };
    const mismatches = spec.expect ? partialMatch(spec.expect, result.value) : [];
    if (mismatches.length > 0) {
      return { status: 'failed', message: `an admitted Pod: ${summarizeMismatches(mismatches)}`, expected: expectedSide(mismatches), found: foundSide(mismatches), settled: true };
    }
    return undefined;
  }
  if (result.error.kind !== 'forbidden' && result.error.kind !== 'invalid') return apiOutcome(result.error, 'a dry run of a probe Pod');
  if (spec.admitted) return { status: 'failed', message: `a Pod that fits was refused: ${result.error.message}`, expected: 'admitted', found: result.error.message, settled: true };
  if (spec.messageContains && !result.error.message.includes(spec.messageContains)) {
    return { status: 'failed', message: `a Pod was refused, but not for the expected reason: ${result.error.message}`, expected: `a refusal mentioning "${spec.messageContains}"`, found: result.error.message, settled: true };
  }
  return undefined;
}

/** `resources`: ResourceQuota, LimitRange and PriorityClass as they act on real and probe Pods. */
export const resourcesCheck: CheckEvaluator<'resources'> = async (check, ctx) => {
  for (const part of [priorityClassHolds, workloadAdmitted, admissionHolds]) {
    const outcome = await part(check, ctx);
    if (outcome) return outcome;
  }
  const parts = [
    check.workload ? `${check.workload.kind} ${check.workload.name} admitted as asked` : undefined,
    check.priorityClass ? `PriorityClass ${check.priorityClass.name} as asked` : undefined,
    check.admission ? `a probe Pod ${check.admission.admitted ? 'admitted' : 'refused'} as expected` : undefined,
  ].filter(Boolean);
  return { status: 'passed', message: parts.join('; ') };
};
