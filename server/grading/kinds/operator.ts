import { setTimeout as sleep } from 'node:timers/promises';
import type { KubernetesObject, V1Pod } from '@kubernetes/client-node';
import { evaluateRule } from '../../checks/cel.ts';
import type { CheckOf, NamedTarget } from '../../checks/schema.ts';
import type { CheckContext, CheckEvaluator, Outcome } from '../types.ts';
import { apiOutcome } from './common.ts';
import { podsInMotion } from './pods-in-motion.ts';

type K = KubernetesObject & { status?: unknown };

function withProbeName<T>(value: T, probe: string): T {
  if (typeof value === 'string') return value.replaceAll('{{probe.name}}', probe) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => withProbeName(v, probe)) as T;
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withProbeName(v, probe)])) as T;
  return value;
}

/**
 * A wrong operator must fail in seconds, not at the check's timeout: once nothing about the probe
 * and its children has changed for this long (their resourceVersions), and no Pod of the
 * namespace is still starting, the operator has done all it is going to do. Before it has done
 * anything at all (no child yet) it gets longer, to start.
 */
export const PATIENCE_MS = 10_000;
export const FIRST_CONTACT_MS = 20_000;

/**
 * Polls `probe` until it yields a value, the time is up, or nothing has moved for `patienceMs`
 * (`moving` fingerprints the objects involved); the last miss explains the failure.
 */
async function until<T>(ctx: CheckContext, deadline: number, probe: () => Promise<{ done: T } | { miss: string }>, patience?: { ms: number | ((miss: string) => number); moving: () => Promise<string> }): Promise<{ done: T } | { miss: string }> {
  let last: { done: T } | { miss: string } = { miss: 'no answer yet' };
  let wait = 200;
  let seen = '';
  let since = Date.now();
  while (!ctx.signal.aborted) {
    last = await probe();
    if ('done' in last || Date.now() + wait >= deadline) return last;
    if (patience) {
      const now = `${last.miss}|${await patience.moving()}`;
      if (now !== seen) {
        seen = now;
        since = Date.now();
      } else if (Date.now() - since >= (typeof patience.ms === 'number' ? patience.ms : patience.ms(last.miss))) {
        return last;
      }
    }
    await sleep(wait, undefined, { signal: ctx.signal }).catch(() => undefined);
    wait = Math.min(wait * 2, 1000);
  }
  return last;
}

function failed(message: string, expected?: string, found?: string): Outcome {
  return { status: 'failed', message, ...(expected !== undefined ? { expected } : {}), ...(found !== undefined ? { found } : {}), final: true };
}

/**
 * `operator`: the learner's operator (running in their terminal, or the program of a submitted
 * folder) is tested by what it does. The grader creates a probe custom resource and expects the
 * owned objects to appear with a controller ownerReference to the probe's uid, the status to be
 * reported, a spec change to reach the children, and deletion to clean up through garbage
 * collection. The probe is always deleted at the end.
 */
export const operatorCheck: CheckEvaluator<'operator'> = async (check, ctx) => {
  const probeName = check.probe.metadata.name;
  const spec = withProbeName(check, probeName) satisfies CheckOf<'operator'>;
  const ref = { apiVersion: spec.probe.apiVersion, kind: spec.probe.kind };
  const kind = spec.probe.kind;
  const deadline = ctx.deadline;

  // A probe left by an earlier check must be gone first, or its children would answer for the new one.
  const leftover = await ctx.scope.get<K>(ref, probeName);
  if (!leftover.ok) return apiOutcome(leftover.error, `${kind} objects (is your CRD installed?)`);
  if (leftover.value !== null) {
    await ctx.scope.delete(ref, probeName);
    const gone = await until(ctx, Math.min(deadline, Date.now() + 20_000), async () => {
      const again = await ctx.scope.get<K>(ref, probeName);
      return again.ok && again.value === null ? { done: true } : { miss: `an earlier ${kind} ${probeName} is still being deleted` };
    });
    if ('miss' in gone) return { status: 'error', message: gone.miss };
  }

  const created = await ctx.scope.create<K>(spec.probe);
  if (!created.ok) {
    if (created.error.kind === 'invalid') return failed(`the grader could not create a ${kind} probe: ${created.error.message}`, `your CRD to accept ${JSON.stringify(spec.probe)}`, created.error.message);
    return apiOutcome(created.error, `a ${kind} probe (is your CRD installed?)`);
  }
  const uid = created.value.metadata?.uid ?? '';
  let cleanedUp = false;
  // What moves while the operator works: the probe (its status) and every child the check knows.
  const children = [...(spec.owned ?? []), ...(spec.update?.expect.map((e) => e.target) ?? [])];
  // And the namespace's Pods: while one is still starting (the children's Pods, which the status
  // waits on), the operator is not done, however long since anything was written.
  const moving = async () => {
    const [pods, ...objects] = await Promise.all([ctx.scope.list<V1Pod>({ apiVersion: 'v1', kind: 'Pod' }), ctx.scope.get<K>(ref, probeName), ...children.map((c) => ctx.scope.get<K>(c, c.name))]);
    const motion = pods.ok ? podsInMotion(pods.value) : { fingerprint: '?', starting: false };
    const written = objects.map((o) => (o.ok ? (o.value?.metadata?.resourceVersion ?? '-') : '?')).join(',');
    return `${written}|${motion.fingerprint}${motion.starting ? `|starting ${Date.now()}` : ''}`;
  };
  const patient = { ms: PATIENCE_MS, moving };
  try {
    // 1. The operator creates the owned objects, each controlled by the probe.
    for (const owned of spec.owned ?? []) {
      // Until the operator makes its first child it gets longer: it may still be starting.
      const result = await until(ctx, deadline, async () => ownedBy(ctx, owned, uid, kind, probeName), { ms: (miss) => (miss.includes('was not created') ? FIRST_CONTACT_MS : PATIENCE_MS), moving });
      if ('miss' in result) return failed(result.miss, `${owned.kind} ${owned.name} controlled by ${kind} ${probeName}`, 'see the message');
    }
    // 2. The status the operator reports.
    if (spec.status && spec.status.length > 0) {
      const rules = spec.status;
      const result = await until(ctx, deadline, async () => {
        const probe = await ctx.scope.get<K>(ref, probeName);
        if (!probe.ok || probe.value === null) return { miss: `${kind} ${probeName} disappeared` };
        for (const rule of rules) {
          const outcome = evaluateRule(rule.expression, { object: probe.value });
          if (!outcome.ok || !outcome.value) return { miss: `${rule.message}; status is ${JSON.stringify(probe.value.status ?? null)}` };
        }
        return { done: true };
      }, patient);
      if ('miss' in result) return failed(result.miss, spec.status.map((r) => r.expression).join(' && '));
    }
    // 3. A spec change reaches the children.
    if (spec.update) {
      const update = spec.update;
      const patched = await ctx.scope.mergePatch(ref, probeName, update.patch);
      if (!patched.ok) return failed(`the grader could not change ${kind} ${probeName}: ${patched.error.message}`);
      const result = await until(ctx, deadline, async () => {
        for (const expectation of update.expect) {
          const child = await ctx.scope.get<K>(expectation.target, expectation.target.name);
          if (!child.ok || child.value === null) return { miss: `${expectation.target.kind} ${expectation.target.name} is missing after the change` };
          const outcome = evaluateRule(expectation.expression, { object: child.value });
          if (!outcome.ok || !outcome.value) return { miss: expectation.message };
        }
        return { done: true };
      }, patient);
      if ('miss' in result) return failed(`after changing ${kind} ${probeName} (${JSON.stringify(update.patch)}): ${result.miss}`, update.expect.map((e) => e.expression).join(' && '));
    }
    // 4. Deleting the probe garbage-collects what it owns.
    if (spec.cleanup) {
      cleanedUp = true;
      await ctx.scope.delete(ref, probeName);
      for (const owned of spec.owned ?? []) {
        const result = await until(ctx, deadline, async () => {
          const child = await ctx.scope.get<K>(owned, owned.name);
          if (child.ok && (child.value === null || child.value.metadata?.deletionTimestamp)) return { done: true };
          return { miss: `${owned.kind} ${owned.name} was still there after ${kind} ${probeName} was deleted: without a controller ownerReference the garbage collector cannot remove it` };
          // No patience here: the garbage collector, not the operator, acts now, in its own time
          // (an operator without controller ownerReferences has failed the first step already).
        });
        if ('miss' in result) return failed(result.miss);
      }
    }
  } finally {
    if (!cleanedUp) await ctx.scope.delete(ref, probeName);
  }
  const parts = [
    spec.owned?.length ? `created ${spec.owned.map((o) => `${o.kind} ${o.name}`).join(' and ')} owned by the probe` : '',
    spec.status?.length ? 'reported its status' : '',
    spec.update ? 'followed a spec change' : '',
    spec.cleanup ? 'cleaned up on delete' : '',
  ].filter(Boolean);
  return { status: 'passed', message: `your operator ${parts.join(', ')}` };
};

async function ownedBy(ctx: CheckContext, owned: NamedTarget, uid: string, kind: string, probeName: string): Promise<{ done: true } | { miss: string }> {
  const child = await ctx.scope.get<K>(owned, owned.name);
  if (!child.ok) return { miss: `could not read ${owned.kind} ${owned.name}: ${child.error.message}` };
  if (child.value === null) return { miss: `${owned.kind} ${owned.name} was not created for ${kind} ${probeName}: is your operator running?` };
  const refs = child.value.metadata?.ownerReferences ?? [];
  const controller = refs.find((r) => r.controller === true);
  if (!controller) {
    const any = refs.find((r) => r.uid === uid);
    return { miss: any ? `${owned.kind} ${owned.name} refers to ${kind} ${probeName} but not as its controller (set controller: true)` : `${owned.kind} ${owned.name} has no controller ownerReference to ${kind} ${probeName}` };
  }
  if (controller.uid !== uid) return { miss: `${owned.kind} ${owned.name} is controlled by ${controller.kind} ${controller.name} (uid ${controller.uid}), not by the probe (uid ${uid})` };
  return { done: true };
}
