import type { KubernetesObject, V1CronJob, V1EndpointSlice, V1Job, V1Pod, V1Service, V1StatefulSet } from '@kubernetes/client-node';
import { CronExpressionParser } from 'cron-parser';
import type { CheckOf } from '../../checks/schema.ts';
import type { SandboxScope } from '../scope.ts';
import type { CheckContext, CheckEvaluator, Outcome } from '../types.ts';
import { apiOutcome } from './common.ts';
import { isReady, matchesLabels, readyForSeconds } from './workloads.ts';

type K = KubernetesObject;
const SERVICE = { apiVersion: 'v1', kind: 'Service' };

/** The Pods behind a Service's ready endpoints, as the EndpointSlice controller published them. */
async function readyEndpointPods(scope: SandboxScope, service: string): Promise<{ ok: true; pods: V1Pod[]; endpoints: number } | { ok: false; outcome: Outcome }> {
  const slices = await scope.list<V1EndpointSlice & K>({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice' }, { matchLabels: { 'kubernetes.io/service-name': service } });
  if (!slices.ok) return { ok: false, outcome: apiOutcome(slices.error, `the endpoints of Service ${service}`) };
  const names = new Set<string>();
  let endpoints = 0;
  for (const slice of slices.value) {
    for (const endpoint of slice.endpoints ?? []) {
      if (endpoint.conditions?.ready === false) continue;
      endpoints += 1;
      if (endpoint.targetRef?.kind === 'Pod' && endpoint.targetRef.name) names.add(endpoint.targetRef.name);
    }
  }
  const pods = await scope.pods<V1Pod & K>('');
  if (!pods.ok) return { ok: false, outcome: apiOutcome(pods.error, 'the Pods') };
  return { ok: true, pods: pods.value.filter((p) => names.has(p.metadata?.name ?? '')), endpoints };
}

/** Traffic follows endpoints only once the Pods have been ready a moment: then a wrong split is the answer. */
async function podsSettled(scope: SandboxScope, selectors: Record<string, string>[]): Promise<boolean> {
  const pods = await scope.pods<V1Pod & K>('');
  if (!pods.ok) return false;
  const relevant = pods.value.filter((p) => selectors.some((s) => matchesLabels(p.metadata?.labels, s)));
  return relevant.length > 0 && relevant.every((p) => isReady(p) && readyForSeconds(p) >= 3);
}

function labelText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

async function canary(spec: NonNullable<CheckOf<'rollout'>['canary']>, ctx: CheckContext): Promise<Outcome> {
  const service = await ctx.scope.get<V1Service & K>(SERVICE, spec.service);
  if (!service.ok) return apiOutcome(service.error, `Service ${spec.service}`);
  if (service.value === null) return { status: 'failed', message: `Service ${spec.service} was not found`, settled: true };
  const endpoints = await readyEndpointPods(ctx.scope, spec.service);
  if (!endpoints.ok) return endpoints.outcome;
  const stable = endpoints.pods.filter((p) => matchesLabels(p.metadata?.labels, spec.stable.selector)).length;
  const canaryCount = endpoints.pods.filter((p) => matchesLabels(p.metadata?.labels, spec.canary.selector)).length;
  const other = endpoints.endpoints - stable - canaryCount;
  const want = spec.stable.replicas + spec.canary.replicas;
  const share = (n: number, total: number) => (total === 0 ? '0%' : `${Math.round((n / total) * 100)}%`);
  const found = `${endpoints.endpoints} ready endpoints: ${stable} stable (${labelText(spec.stable.selector)}), ${canaryCount} canary (${labelText(spec.canary.selector)})${other > 0 ? `, ${other} other` : ''}`;
  if (stable !== spec.stable.replicas || canaryCount !== spec.canary.replicas || other !== 0) {
    return {
      status: 'failed',
      message: `Service ${spec.service} sends ${share(canaryCount, endpoints.endpoints)} of connections to the canary; expected ${spec.canary.replicas} of ${want} endpoints (${share(spec.canary.replicas, want)})`,
      expected: `${want} ready endpoints: ${spec.stable.replicas} stable, ${spec.canary.replicas} canary`,
      found,
      settled: await podsSettled(ctx.scope, [spec.stable.selector, spec.canary.selector]),
    };
  }
  return { status: 'passed', message: `Service ${spec.service}: ${found}` };
}

async function blueGreen(spec: NonNullable<CheckOf<'rollout'>['blueGreen']>, ctx: CheckContext): Promise<Outcome> {
  const service = await ctx.scope.get<V1Service & K>(SERVICE, spec.service);
  if (!service.ok) return apiOutcome(service.error, `Service ${spec.service}`);
  if (service.value === null) return { status: 'failed', message: `Service ${spec.service} was not found`, settled: true };
  const endpoints = await readyEndpointPods(ctx.scope, spec.service);
  if (!endpoints.ok) return endpoints.outcome;
  const active = endpoints.pods.filter((p) => matchesLabels(p.metadata?.labels, spec.active.selector)).length;
  const idle = spec.idle ? endpoints.pods.filter((p) => matchesLabels(p.metadata?.labels, spec.idle?.selector ?? {})).length : 0;
  const found = `${endpoints.endpoints} ready endpoints: ${active} active (${labelText(spec.active.selector)})${spec.idle ? `, ${idle} idle (${labelText(spec.idle.selector)})` : ''}`;
  if (active !== spec.active.replicas || idle !== 0 || endpoints.endpoints !== active) {
    return {
      status: 'failed',
      message: `Service ${spec.service} should send every connection to the ${spec.active.replicas} active Pods and none elsewhere; its selector is ${labelText(service.value.spec?.selector ?? {}) || '(none)'}`,
      expected: `${spec.active.replicas} ready endpoints, all ${labelText(spec.active.selector)}`,
      found,
      settled: await podsSettled(ctx.scope, [spec.active.selector, ...(spec.idle ? [spec.idle.selector] : [])]),
    };
  }
  return { status: 'passed', message: `Service ${spec.service}: ${found}` };
}

async function statefulSet(spec: NonNullable<CheckOf<'rollout'>['statefulSet']>, ctx: CheckContext): Promise<Outcome> {
  const found = await ctx.scope.get<V1StatefulSet & K>({ apiVersion: 'apps/v1', kind: 'StatefulSet' }, spec.name);
  if (!found.ok) return apiOutcome(found.error, `StatefulSet ${spec.name}`);
  const sts = found.value;
  if (sts === null) return { status: 'failed', message: `StatefulSet ${spec.name} was not found`, settled: true };
  if (spec.replicas !== undefined && (sts.spec?.replicas ?? 1) !== spec.replicas) {
    return { status: 'failed', message: `StatefulSet ${spec.name} wants ${sts.spec?.replicas ?? 1} replicas`, expected: `spec.replicas: ${spec.replicas}`, found: `spec.replicas: ${sts.spec?.replicas ?? 1}`, settled: true };
  }
  const serviceName = sts.spec?.serviceName ?? '';
  if (spec.serviceName !== undefined && serviceName !== spec.serviceName) {
    return { status: 'failed', message: `StatefulSet ${spec.name} is governed by Service "${serviceName}"`, expected: `spec.serviceName: ${spec.serviceName}`, found: `spec.serviceName: ${serviceName || '(empty)'}`, settled: true };
  }
  if (spec.headless !== undefined || spec.serviceName !== undefined) {
    const service = await ctx.scope.get<V1Service & K>(SERVICE, serviceName);
    if (!service.ok) return apiOutcome(service.error, `Service ${serviceName}`);
    if (service.value === null) return { status: 'failed', message: `the governing Service "${serviceName}" of StatefulSet ${spec.name} does not exist`, expected: `a Service named ${serviceName}`, found: 'none', settled: true };
    const clusterIP = service.value.spec?.clusterIP ?? '';
    if (spec.headless === true && clusterIP !== 'None') {
      return { status: 'failed', message: `Service ${serviceName} is not headless, so the Pods get no stable DNS names`, expected: 'spec.clusterIP: None', found: `spec.clusterIP: ${clusterIP}`, settled: true };
    }
    const podLabels = sts.spec?.template.metadata?.labels ?? {};
    const selector = service.value.spec?.selector ?? {};
    if (Object.keys(selector).length === 0 || !matchesLabels(podLabels, selector)) {
      return { status: 'failed', message: `Service ${serviceName}'s selector ${labelText(selector) || '(none)'} does not select the StatefulSet's Pods (${labelText(podLabels)})`, settled: true };
    }
  }
  const wanted = sts.spec?.replicas ?? 1;
  const ready = sts.status?.readyReplicas ?? 0;
  if (ready < wanted) {
    return { status: 'failed', message: `StatefulSet ${spec.name} has ${ready} of ${wanted} replicas ready`, expected: `${wanted} ready replicas`, found: `${ready} ready`, settled: false };
  }
  return { status: 'passed', message: `StatefulSet ${spec.name}: ${ready} ready replicas behind ${spec.headless ? 'headless ' : ''}Service ${serviceName}` };
}

async function job(spec: NonNullable<CheckOf<'rollout'>['job']>, ctx: CheckContext): Promise<Outcome> {
  const found = await ctx.scope.get<V1Job & K>({ apiVersion: 'batch/v1', kind: 'Job' }, spec.name);
  if (!found.ok) return apiOutcome(found.error, `Job ${spec.name}`);
  const object = found.value;
  if (object === null) return { status: 'failed', message: `Job ${spec.name} was not found`, settled: true };
  const completions = object.spec?.completions ?? 1;
  const parallelism = object.spec?.parallelism ?? 1;
  if (spec.completions !== undefined && completions !== spec.completions) {
    return { status: 'failed', message: `Job ${spec.name} needs ${completions} completions`, expected: `completions: ${spec.completions}`, found: `completions: ${completions}`, settled: true };
  }
  if (spec.parallelism !== undefined && parallelism !== spec.parallelism) {
    return { status: 'failed', message: `Job ${spec.name} runs ${parallelism} Pods at once`, expected: `parallelism: ${spec.parallelism}`, found: `parallelism: ${parallelism}`, settled: true };
  }
  if (spec.succeeded === true) {
    const done = object.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') ?? false;
    const failed = object.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
    if (failed) return { status: 'failed', message: `Job ${spec.name} failed: ${failed.message ?? failed.reason ?? ''}`, settled: true };
    if (!done) return { status: 'failed', message: `Job ${spec.name} has ${object.status?.succeeded ?? 0} of ${completions} completions`, settled: false };
  }
  return { status: 'passed', message: `Job ${spec.name}: ${completions} completions, parallelism ${parallelism}` };
}

/** The next fire times of a schedule from two starting points, for comparing schedules by meaning. */
function fireTimes(schedule: string, timeZone: string): string[] | undefined {
  const times: string[] = [];
  try {
    for (const start of ['2026-01-01T00:00:00Z', '2027-02-26T12:00:00Z']) {
      const expression = CronExpressionParser.parse(schedule, { currentDate: new Date(start), tz: timeZone });
      for (let i = 0; i < 400; i += 1) times.push(expression.next().toISOString() ?? '');
    }
  } catch {
    return undefined;
  }
  return times;
}

export function sameSchedule(a: string, b: string, timeZone = 'UTC'): boolean {
  if (a.trim() === b.trim()) return true;
  const x = fireTimes(a, timeZone);
  const y = fireTimes(b, timeZone);
  return x !== undefined && y !== undefined && x.every((t, i) => t === y[i]);
}

async function cronJob(spec: NonNullable<CheckOf<'rollout'>['cronJob']>, ctx: CheckContext): Promise<Outcome> {
  const found = await ctx.scope.get<V1CronJob & K>({ apiVersion: 'batch/v1', kind: 'CronJob' }, spec.name);
  if (!found.ok) return apiOutcome(found.error, `CronJob ${spec.name}`);
  const object = found.value;
  if (object === null) return { status: 'failed', message: `CronJob ${spec.name} was not found`, settled: true };
  // Objects from the API may lack fields the generated types call required.
  const actual = object.spec as Partial<NonNullable<V1CronJob['spec']>> | undefined;
  const problems: { field: string; expected: string; found: string }[] = [];
  if (spec.schedule !== undefined && !sameSchedule(spec.schedule, actual?.schedule ?? '', spec.timeZone ?? actual?.timeZone ?? 'UTC')) {
    problems.push({ field: 'schedule', expected: `"${spec.schedule}" (or any schedule with the same run times)`, found: `"${actual?.schedule ?? ''}"` });
  }
  // The API server fills in the defaults, so a learner who leaves a default out is compared by its value.
  const fields = [
    ['timeZone', spec.timeZone, actual?.timeZone],
    ['concurrencyPolicy', spec.concurrencyPolicy, actual?.concurrencyPolicy ?? 'Allow'],
    ['successfulJobsHistoryLimit', spec.successfulJobsHistoryLimit, actual?.successfulJobsHistoryLimit ?? 3],
    ['failedJobsHistoryLimit', spec.failedJobsHistoryLimit, actual?.failedJobsHistoryLimit ?? 1],
    ['startingDeadlineSeconds', spec.startingDeadlineSeconds, actual?.startingDeadlineSeconds],
    ['suspend', spec.suspend, actual?.suspend ?? false],
  ] as const;
  for (const [field, expected, value] of fields) {
    if (expected !== undefined && expected !== value) problems.push({ field, expected: String(expected), found: value === undefined ? '(not set)' : String(value) });
  }
  if (problems.length > 0) {
    return {
      status: 'failed',
      message: `CronJob ${spec.name}: ${problems.map((p) => `${p.field} should be ${p.expected}, is ${p.found}`).join('; ')}`,
      expected: problems.map((p) => `${p.field}: ${p.expected}`).join('; '),
      found: problems.map((p) => `${p.field}: ${p.found}`).join('; '),
      settled: true,
    };
  }
  return { status: 'passed', message: `CronJob ${spec.name} runs on "${actual?.schedule ?? ''}" as asked` };
}

/** `rollout`: canary and blue/green traffic by real endpoints, StatefulSets, Jobs and CronJobs. */
export const rolloutCheck: CheckEvaluator<'rollout'> = (check, ctx) => {
  if (check.canary) return canary(check.canary, ctx);
  if (check.blueGreen) return blueGreen(check.blueGreen, ctx);
  if (check.statefulSet) return statefulSet(check.statefulSet, ctx);
  if (check.job) return job(check.job, ctx);
  if (check.cronJob) return cronJob(check.cronJob, ctx);
  return Promise.resolve({ status: 'error', message: 'a rollout check needs canary, blueGreen, statefulSet, job or cronJob' });
};
