import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logger.ts';
import { messageOf } from '../errors.ts';
import { evaluators } from './kinds/index.ts';
import { namespaceQuiet } from './quiet.ts';
import type { CheckDefinition } from '../checks/schema.ts';
import type { CheckKind } from '../vocabulary.ts';
import type { SandboxScope } from './scope.ts';
import type { CheckContext, CheckEvaluator, CheckResult, GradeProgress, Outcome } from './types.ts';
import type { UsageSimulator } from './usage.ts';

/** Checks without a timeout wait this long for the cluster to catch up. */
export const DEFAULT_TIMEOUT_SECONDS = 30;
/** A settled failure is re-checked for this long (the learner may have applied a moment ago). */
export const SETTLE_GRACE_MS = 2000;

export interface RunOptions {
  scope: SandboxScope;
  log: Logger;
  usage?: UsageSimulator | undefined;
  signal?: AbortSignal;
  onProgress?: (progress: GradeProgress) => void;
  /** Shortens every timeout (tests of the runner itself); never above the check's own. */
  maxTimeoutSeconds?: number;
}

export function checkName(check: CheckDefinition, index: number): string {
  return check.name ?? `${check.kind}-${index + 1}`;
}

async function attempt(check: CheckDefinition, ctx: CheckContext): Promise<Outcome> {
  const evaluate = evaluators[check.kind] as CheckEvaluator<CheckKind>;
  try {
    return await evaluate(check, ctx);
  } catch (error) {
    ctx.log.error({ err: error, check: check.name, kind: check.kind }, 'a check failed unexpectedly');
    return { status: 'error', message: `the ${check.kind} check could not run: ${messageOf(error)}` };
  }
}

/**
 * Runs one check until it passes, errors, settles on a failure, or its time is up; retries back
 * off from 250 ms to 2 s. `deadline` bounds checks that keep their own timeline (operators,
 * autoscalers) as well.
 */
export async function runCheck(check: CheckDefinition, index: number, exercise: string, options: RunOptions): Promise<CheckResult> {
  const name = checkName(check, index);
  const started = Date.now();
  const timeoutSeconds = Math.min(check.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS, options.maxTimeoutSeconds ?? Number.POSITIVE_INFINITY);
  const deadline = started + timeoutSeconds * 1000;
  const signal = options.signal ?? new AbortController().signal;
  const ctx: CheckContext = { scope: options.scope, deadline, signal, log: options.log, usage: options.usage };
  options.onProgress?.({ type: 'check-started', exercise, check: name, description: check.description ?? name });

  let attempts = 0;
  let outcome: Outcome;
  let firstSettled: number | undefined;
  let wait = 250;
  for (;;) {
    attempts += 1;
    outcome = await attempt(check, ctx);
    if (outcome.status !== 'failed' || outcome.final) break;
    const now = Date.now();
    if (signal.aborted) break;
    // Waiting on controllers is pointless once they have all finished: the answer is in.
    const settled = outcome.settled === true || (attempts > 1 && (await namespaceQuiet(options.scope)));
    if (settled) firstSettled ??= now;
    else firstSettled = undefined;
    if (firstSettled !== undefined && now - firstSettled >= SETTLE_GRACE_MS) break;
    if (now + wait >= deadline) break;
    options.onProgress?.({ type: 'check-waiting', exercise, check: name, message: outcome.message, elapsedMs: now - started });
    await sleep(wait, undefined, { signal }).catch(() => undefined);
    wait = Math.min(wait * 2, 2000);
  }
  if (outcome.status === 'failed' && firstSettled === undefined && !outcome.final && Date.now() >= deadline - wait) {
    outcome = { ...outcome, message: `${outcome.message} (still so after ${timeoutSeconds} s)` };
  }
  if (signal.aborted && outcome.status !== 'passed') outcome = { status: 'error', message: 'the check was cancelled' };

  const result: CheckResult = {
    name,
    kind: check.kind,
    description: check.description ?? name,
    status: outcome.status,
    message: outcome.message,
    ...(outcome.status === 'failed' && outcome.expected !== undefined ? { expected: outcome.expected } : {}),
    ...(outcome.status === 'failed' && outcome.found !== undefined ? { found: outcome.found } : {}),
    ...(outcome.status !== 'passed' && check.hint !== undefined ? { hint: check.hint } : {}),
    durationMs: Date.now() - started,
    attempts,
  };
  options.onProgress?.({ type: 'check-finished', exercise, result });
  return result;
}

/** Runs checks in parallel (they are independent by design) and keeps their order in the result. */
export function runChecks(checks: readonly CheckDefinition[], exercise: string, options: RunOptions): Promise<CheckResult[]> {
  return Promise.all(checks.map((check, index) => runCheck(check, index, exercise, options)));
}
