import { setTimeout as sleep } from 'node:timers/promises';
import type { KubernetesObject, V2HorizontalPodAutoscaler, V2HPAScalingRules, V2MetricSpec } from '@kubernetes/client-node';
import { sameQuantity } from '../quantity.ts';
import type { CheckOf, HpaMetricExpectation, ScalingRulesExpectation } from '../../checks/schema.ts';
import type { CheckContext, CheckEvaluator, Outcome } from '../types.ts';
import { apiOutcome } from './common.ts';

type K = KubernetesObject;
type Hpa = V2HorizontalPodAutoscaler & K;
const HPA = { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler' };

/** What the HPA controller uses when `behavior` leaves a direction out (autoscaling/v2 defaults). */
const DEFAULT_RULES: Record<'scaleUp' | 'scaleDown', Required<ScalingRulesExpectation>> = {
  scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }, { type: 'Pods', value: 4, periodSeconds: 15 }] },
  scaleDown: { stabilizationWindowSeconds: 300, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] },
};

type Policy = { type: 'Pods' | 'Percent'; value: number; periodSeconds: number };

/**
 * How many replicas a direction's policies let the controller add (or remove) in one period,
 * starting from `replicas`: the HPA controller's own arithmetic (ceil for percentages), with
 * Max taking the most permissive policy and Min the least.
 */
export function allowedChange(direction: 'scaleUp' | 'scaleDown', rules: { selectPolicy: string; policies: Policy[] }, replicas: number): number {
  if (rules.selectPolicy === 'Disabled' || rules.policies.length === 0) return 0;
  const changes = rules.policies.map((p) => {
    if (p.type === 'Pods') return p.value;
    const factor = direction === 'scaleUp' ? 1 + p.value / 100 : 1 - p.value / 100;
    const proposed = Math.ceil(replicas * factor);
    return Math.abs(proposed - replicas);
  });
  return rules.selectPolicy === 'Min' ? Math.min(...changes) : Math.max(...changes);
}

function effectiveRules(direction: 'scaleUp' | 'scaleDown', rules: V2HPAScalingRules | undefined): { stabilizationWindowSeconds: number; selectPolicy: string; policies: Policy[] } {
  const defaults = DEFAULT_RULES[direction];
  return {
    stabilizationWindowSeconds: rules?.stabilizationWindowSeconds ?? defaults.stabilizationWindowSeconds,
    selectPolicy: rules?.selectPolicy ?? defaults.selectPolicy,
    policies: rules?.policies && rules.policies.length > 0 ? rules.policies.map((p) => ({ type: p.type as Policy['type'], value: p.value, periodSeconds: p.periodSeconds })) : defaults.policies,
  };
}

/**
 * Compares a direction's scaling rules by what they allow, not how they are written: for
 * every replica count between min and max, the change allowed per period must be the same.
 * Policies over different periods are compared as written.
 */
function compareRules(direction: 'scaleUp' | 'scaleDown', expected: ScalingRulesExpectation, actual: V2HPAScalingRules | undefined, range: [number, number]): string | undefined {
  const mine = effectiveRules(direction, actual);
  if (expected.stabilizationWindowSeconds !== undefined && mine.stabilizationWindowSeconds !== expected.stabilizationWindowSeconds) {
    return `behavior.${direction}.stabilizationWindowSeconds is ${mine.stabilizationWindowSeconds}, expected ${expected.stabilizationWindowSeconds}`;
  }
  const wanted = { selectPolicy: expected.selectPolicy ?? 'Max', policies: expected.policies ?? DEFAULT_RULES[direction].policies };
  if (expected.policies === undefined && expected.selectPolicy === undefined) return undefined;
  const periods = new Set([...wanted.policies, ...mine.policies].map((p) => p.periodSeconds));
  const describe = (r: { selectPolicy: string; policies: Policy[] }) =>
    `${r.policies.map((p) => `${p.type === 'Percent' ? `${p.value}%` : `${p.value} Pods`} per ${p.periodSeconds}s`).join(' and ')}${r.policies.length > 1 ? ` (${r.selectPolicy})` : ''}${r.selectPolicy === 'Disabled' ? ' (Disabled)' : ''}`;
  if (periods.size > 1) {
    const key = (p: Policy) => `${p.type}/${p.value}/${p.periodSeconds}`;
    const a = new Set(wanted.policies.map(key));
    const b = new Set(mine.policies.map(key));
    const same = a.size === b.size && [...a].every((k) => b.has(k)) && (a.size <= 1 || wanted.selectPolicy === mine.selectPolicy);
    return same ? undefined : `behavior.${direction} allows ${describe(mine)}, expected ${describe(wanted)}`;
  }
  for (let replicas = Math.max(1, range[0]); replicas <= Math.max(range[0], range[1]); replicas += 1) {
    const want = allowedChange(direction, wanted, replicas);
    const got = allowedChange(direction, mine, replicas);
    if (want !== got) {
      return `behavior.${direction} allows ${direction === 'scaleUp' ? 'adding' : 'removing'} ${got} Pods per period at ${replicas} replicas, expected ${want}: ${describe(mine)} instead of ${describe(wanted)}`;
    }
  }
  return undefined;
}

function metricKey(metric: { type: string; name: string }): string {
  return `${metric.type}/${metric.name}`;
}

function actualMetric(spec: V2MetricSpec): { type: string; name: string; averageUtilization?: number | undefined; averageValue?: string | undefined; value?: string | undefined } {
  const target = spec.resource?.target ?? spec.containerResource?.target ?? spec.pods?.target ?? spec.object?.target ?? spec.external?.target;
  const name = spec.resource?.name ?? spec.containerResource?.name ?? spec.pods?.metric.name ?? spec.object?.metric.name ?? spec.external?.metric.name ?? '';
  return { type: spec.type, name, averageUtilization: target?.averageUtilization, averageValue: target?.averageValue, value: target?.value };
}

function compareMetrics(expected: HpaMetricExpectation[], actual: V2MetricSpec[]): string | undefined {
  const mine = new Map(actual.map((m) => { const a = actualMetric(m); return [metricKey(a), a]; }));
  const describe = (m: { type: string; name: string; averageUtilization?: number | undefined; averageValue?: string | undefined; value?: string | undefined }) =>
    `${m.type} ${m.name} ${m.averageUtilization !== undefined ? `${m.averageUtilization}% utilization` : m.averageValue !== undefined ? `average ${m.averageValue}` : `value ${m.value ?? '?'}`}`;
  const wantedKeys = new Set<string>();
  for (const e of expected) {
    const key = metricKey({ type: e.type, name: e.resource ?? e.metric ?? '' });
    wantedKeys.add(key);
    const got = mine.get(key);
    const wanted = { type: e.type, name: e.resource ?? e.metric ?? '', averageUtilization: e.averageUtilization, averageValue: e.averageValue, value: e.value };
    if (!got) return `no ${e.type} metric for ${wanted.name}; expected ${describe(wanted)}`;
    const same =
      (e.averageUtilization === undefined || got.averageUtilization === e.averageUtilization) &&
      (e.averageValue === undefined || (got.averageValue !== undefined && sameQuantity(got.averageValue, e.averageValue))) &&
      (e.value === undefined || (got.value !== undefined && sameQuantity(got.value, e.value)));
    if (!same) return `the ${wanted.name} metric targets ${describe(got)}, expected ${describe(wanted)}`;
  }
  const extra = [...mine.values()].filter((m) => !wantedKeys.has(metricKey(m)));
  if (extra.length > 0) return `extra metrics change when it scales: ${extra.map(describe).join(', ')}`;
  return undefined;
}

function compareSpec(expect: NonNullable<CheckOf<'autoscaler'>['expect']>, hpa: Hpa): string[] {
  const spec = hpa.spec;
  const problems: string[] = [];
  if (expect.target) {
    const ref = spec.scaleTargetRef;
    const group = (v: string | undefined) => (v ?? '').split('/').slice(0, -1).join('/');
    if (ref.kind !== expect.target.kind || ref.name !== expect.target.name || (expect.target.apiVersion !== undefined && group(ref.apiVersion) !== group(expect.target.apiVersion))) {
      problems.push(`it scales ${ref.kind} ${ref.name}, expected ${expect.target.kind} ${expect.target.name}`);
    }
  }
  const min = spec.minReplicas ?? 1;
  if (expect.minReplicas !== undefined && min !== expect.minReplicas) problems.push(`minReplicas is ${min}, expected ${expect.minReplicas}`);
  if (expect.maxReplicas !== undefined && spec.maxReplicas !== expect.maxReplicas) problems.push(`maxReplicas is ${spec.maxReplicas}, expected ${expect.maxReplicas}`);
  if (expect.metrics) {
    const problem = compareMetrics(expect.metrics, spec.metrics ?? []);
    if (problem) problems.push(problem);
  }
  const range: [number, number] = [expect.minReplicas ?? min, expect.maxReplicas ?? spec.maxReplicas];
  for (const direction of ['scaleUp', 'scaleDown'] as const) {
    const rules = expect.behavior?.[direction];
    if (!rules) continue;
    const problem = compareRules(direction, rules, spec.behavior?.[direction], range);
    if (problem) problems.push(problem);
  }
  return problems;
}

type Scaled = KubernetesObject & { spec?: { replicas?: number; selector?: { matchLabels?: Record<string, string> } }; status?: { replicas?: number } };

/** Simulates load on the target's Pods and waits for the real HPA controller to scale it. */
async function loadTest(load: NonNullable<CheckOf<'autoscaler'>['load']>, hpa: Hpa, ctx: CheckContext): Promise<Outcome> {
  if (!ctx.usage) return { status: 'error', message: 'this cluster cannot simulate Pod usage (it needs the embedded cluster with kwok and metrics-server), so the load test cannot run here' };
  if (!(await ctx.scope.metricsAvailable())) return { status: 'error', message: 'the metrics API (metrics.k8s.io) does not answer on this cluster, so no HPA can act on load' };
  const ref = hpa.spec.scaleTargetRef;
  const apiVersion = ref.apiVersion ?? 'apps/v1';
  const target = await ctx.scope.get<Scaled>({ apiVersion, kind: ref.kind }, ref.name);
  if (!target.ok) return apiOutcome(target.error, `${ref.kind} ${ref.name}`);
  if (target.value === null) return { status: 'failed', message: `the HPA's target ${ref.kind} ${ref.name} does not exist`, settled: true };
  const selector = target.value.spec?.selector?.matchLabels;
  if (!selector || Object.keys(selector).length === 0) return { status: 'error', message: `${ref.kind} ${ref.name} selects its Pods with matchExpressions only; the load simulation needs matchLabels` };

  const before = target.value.spec?.replicas ?? 1;
  const usage = { ...(load.cpu !== undefined ? { cpu: load.cpu } : {}), ...(load.memory !== undefined ? { memory: load.memory } : {}) };
  const set = await ctx.usage.set(ctx.scope.namespace, selector, usage);
  if (!set.ok) return { status: 'error', message: `could not simulate load: ${set.error.message}` };
  const started = Date.now();
  const until = Math.min(ctx.deadline, started + load.withinSeconds * 1000);
  let replicas = before;
  let latest: Hpa | null = hpa;
  try {
    while (Date.now() < until && !ctx.signal.aborted) {
      const now = await ctx.scope.get<Scaled>({ apiVersion, kind: ref.kind }, ref.name);
      if (now.ok && now.value) replicas = now.value.spec?.replicas ?? replicas;
      if (replicas >= load.expectReplicasAtLeast) {
        const seconds = Math.round((Date.now() - started) / 1000);
        return { status: 'passed', message: `under ${Object.entries(usage).map(([k, v]) => `${v} ${k}`).join(' and ')} per Pod, ${hpa.metadata?.name ?? 'the HPA'} scaled ${ref.kind} ${ref.name} from ${before} to ${replicas} replicas in ${seconds} s` };
      }
      const fresh = await ctx.scope.get<Hpa>(HPA, hpa.metadata?.name ?? '');
      if (fresh.ok) latest = fresh.value;
      await sleep(1000, undefined, { signal: ctx.signal }).catch(() => undefined);
    }
  } finally {
    await ctx.usage.clear(ctx.scope.namespace, selector);
  }
  const conditions = (latest?.status?.conditions ?? []).filter((c) => c.status !== 'True' || c.type === 'ScalingLimited').map((c) => `${c.type}: ${c.message ?? c.reason ?? ''}`);
  const current = latest?.status?.currentMetrics?.map((m) => `${m.resource?.name ?? m.type} ${m.resource?.current.averageUtilization ?? '?'}%`).join(', ');
  return {
    status: 'failed',
    message: `${ref.kind} ${ref.name} stayed at ${replicas} replicas for ${load.withinSeconds} s of simulated load${conditions.length > 0 ? `; the HPA reports ${conditions.join('; ')}` : ''}`,
    expected: `at least ${load.expectReplicasAtLeast} replicas within ${load.withinSeconds} s`,
    found: `${replicas} replicas${current ? `; current metrics ${current}` : ''}`,
    final: true,
  };
}

/**
 * `autoscaler`: a HorizontalPodAutoscaler (v2) compared by meaning (defaults applied, metrics
 * in any order, scaling policies by what they allow), and, with `load`, by behaviour: simulated
 * usage on the target's Pods must make the real HPA controller scale it in time.
 */
export const autoscalerCheck: CheckEvaluator<'autoscaler'> = async (check, ctx) => {
  const found = await ctx.scope.get<Hpa>(HPA, check.hpa);
  if (!found.ok) return apiOutcome(found.error, `HorizontalPodAutoscaler ${check.hpa}`);
  const hpa = found.value;
  if (hpa === null) return { status: 'failed', message: `HorizontalPodAutoscaler ${check.hpa} was not found (autoscaling/v2)`, settled: true };
  if (check.expect) {
    const problems = compareSpec(check.expect, hpa);
    if (problems.length > 0) return { status: 'failed', message: `HPA ${check.hpa}: ${problems.join('; ')}`, found: problems.join('; '), settled: true };
  }
  if (check.load) return loadTest(check.load, hpa, ctx);
  return { status: 'passed', message: `HPA ${check.hpa} scales ${hpa.spec.scaleTargetRef.kind} ${hpa.spec.scaleTargetRef.name} between ${hpa.spec.minReplicas ?? 1} and ${hpa.spec.maxReplicas} replicas as asked` };
};
