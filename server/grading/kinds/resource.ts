import { summarizeMismatches, expectedSide, foundSide, partialMatch } from '../match.ts';
import type { CheckEvaluator, Outcome } from '../types.ts';
import { describeTarget, firstFailedRule, loadTarget, nameOf, plural, settledFor } from './common.ts';

/**
 * `resource`: the target object(s) exist, in the expected number, and each matches `expect`
 * (a partial object) and every CEL rule (`object` is each one).
 */
export const resourceCheck: CheckEvaluator<'resource'> = async (check, ctx) => {
  const loaded = await loadTarget(ctx.scope, check.target);
  if (!loaded.ok) return loaded.outcome;
  const { objects } = loaded;
  const what = describeTarget(check.target);

  if (check.target.selector !== undefined) {
    const min = check.count?.min ?? 1;
    const max = check.count?.max;
    if (objects.length < min || (max !== undefined && objects.length > max)) {
      const wanted = max === undefined ? `at least ${min}` : min === max ? `exactly ${min}` : `${min} to ${max}`;
      // Extra objects may be the old ones of a rollout, still on their way out.
      const settled = settledFor(check.target.kind, []);
      return {
        status: 'failed',
        message: `expected ${wanted} ${what}, found ${objects.length}${objects.length > 0 ? `: ${objects.slice(0, 8).map(nameOf).join(', ')}` : ''}`,
        expected: `${wanted} ${check.target.kind} objects`,
        found: plural(objects.length, 'object'),
        settled,
      };
    }
  }

  for (const object of objects) {
    const about = check.target.selector !== undefined ? `${check.target.kind} ${nameOf(object)}` : undefined;
    if (check.expect !== undefined) {
      const mismatches = partialMatch(check.expect, object);
      if (mismatches.length > 0) {
        return {
          status: 'failed',
          message: `${about ?? what} differs from what was asked: ${summarizeMismatches(mismatches)}`,
          expected: expectedSide(mismatches),
          found: foundSide(mismatches),
          settled: settledFor(check.target.kind, mismatches.map((m) => m.path)),
        };
      }
    }
    const failed = firstFailedRule(check.cel ?? [], { object }, check.target.kind, about);
    if (failed) return failed;
  }
  return { status: 'passed', message: objects.length === 1 ? `${what} is as expected` : `${plural(objects.length, check.target.kind)} as expected` };
};

/**
 * `cel`: CEL rules over the target, `object` for a named target and `objects` (a list) for a
 * selector, so rules can count and compare across objects.
 */
export const celCheck: CheckEvaluator<'cel'> = async (check, ctx) => {
  const loaded = await loadTarget(ctx.scope, check.target);
  if (!loaded.ok) return loaded.outcome;
  const bindings = check.target.name !== undefined ? { object: loaded.objects[0] } : { objects: loaded.objects };
  const failed = firstFailedRule(check.expressions, bindings, check.target.kind);
  if (failed) return failed;
  return { status: 'passed', message: `${describeTarget(check.target)}: ${plural(check.expressions.length, 'rule')} hold` } satisfies Outcome;
};
