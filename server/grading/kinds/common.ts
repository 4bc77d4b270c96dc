import type { KubernetesObject } from '@kubernetes/client-node';
import type { ApiError } from '../../cluster/api.ts';
import { evaluateRule } from '../../checks/cel.ts';
import type { CelRule, Target } from '../../checks/schema.ts';
import type { SandboxScope } from '../scope.ts';
import { selectorString } from '../scope.ts';
import type { Outcome } from '../types.ts';

/** Kinds whose objects controllers make or change, so a check on them must give them time. */
export const CONTROLLER_KINDS: ReadonlySet<string> = new Set([
  'Pod',
  'ReplicaSet',
  'EndpointSlice',
  'Endpoints',
  'PersistentVolumeClaim',
  'PersistentVolume',
  'Event',
  'ControllerRevision',
  'Lease',
]);

/** A learner-written object's fields cannot change by themselves; status and controller objects can. */
export function settledFor(kind: string, paths: readonly string[]): boolean {
  return !CONTROLLER_KINDS.has(kind) && !paths.some((p) => p === 'status' || p.startsWith('status.') || p.startsWith('status['));
}

export function describeTarget(target: Target): string {
  return target.name !== undefined ? `${target.kind} ${target.name}` : `${target.kind} objects matching ${selectorString(target.selector)}`;
}

/** An API failure while checking: unreachable or forbidden is the platform's problem, not the learner's. */
export function apiOutcome(error: ApiError, what: string): Outcome {
  if (error.kind === 'unreachable' || error.kind === 'timeout' || error.kind === 'unauthorized' || error.kind === 'server') {
    return { status: 'failed', message: `could not read ${what}: ${error.message}`, settled: false };
  }
  if (error.kind === 'not-found') return { status: 'failed', message: `${what}: ${error.message}`, expected: 'the API to be served', found: error.message, settled: false };
  if (error.kind === 'invalid') return { status: 'failed', message: `${what}: ${error.message}`, settled: true };
  return { status: 'error', message: `could not read ${what}: ${error.message}` };
}

export type Loaded = { ok: true; objects: KubernetesObject[] } | { ok: false; outcome: Outcome };

/** The objects a target names: one by name (missing is a failure) or all a selector matches. */
export async function loadTarget(scope: SandboxScope, target: Target): Promise<Loaded> {
  const ref = { apiVersion: target.apiVersion, kind: target.kind };
  if (target.name !== undefined) {
    const result = await scope.get(ref, target.name);
    if (!result.ok) return { ok: false, outcome: apiOutcome(result.error, `${target.kind} ${target.name}`) };
    if (result.value === null) {
      return {
        ok: false,
        outcome: {
          status: 'failed',
          message: `${target.kind} ${target.name} was not found`,
          expected: `${target.kind} ${target.name} to exist`,
          found: 'nothing by that name',
          // Learners apply before they check; a controller may still be making its objects.
          settled: !CONTROLLER_KINDS.has(target.kind),
        },
      };
    }
    return { ok: true, objects: [result.value] };
  }
  const result = await scope.list(ref, target.selector);
  if (!result.ok) return { ok: false, outcome: apiOutcome(result.error, describeTarget(target)) };
  return { ok: true, objects: result.value };
}

export function nameOf(object: KubernetesObject): string {
  return object.metadata?.name ?? '(unnamed)';
}

/** The first rule that is not true, as a failure; errors in evaluation (a missing field) count as false with their reason. */
export function firstFailedRule(rules: readonly CelRule[], bindings: Record<string, unknown>, kind: string, about?: string): Outcome | undefined {
  for (const rule of rules) {
    const result = evaluateRule(rule.expression, bindings);
    if (result.ok && result.value) continue;
    const subject = about ? `${about}: ` : '';
    return {
      status: 'failed',
      message: `${subject}${rule.message}`,
      expected: rule.expression.replace(/\s+/g, ' ').trim(),
      found: result.ok ? 'false' : `false (${result.error})`,
      settled: settledFor(kind, /\bstatus\b/.test(rule.expression) ? ['status'] : []),
    };
  }
  return undefined;
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
