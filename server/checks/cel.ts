import { celEnv, isCelError, parse, plan, type CelInput } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';

/**
 * CEL, the expression language of Kubernetes validation rules, evaluated with Buf's CEL
 * implementation. Objects are bound as the API server returns them, with JSON integers as CEL
 * `int` (as Kubernetes binds them), so `object.spec.replicas + 1` works as it would in a CRD
 * rule.
 */

const env = celEnv({ funcs: strings });
type Program = ReturnType<typeof plan>;
const programs = new Map<string, Program | { error: string }>();
const MAX_CACHED = 2000;

function compile(expression: string): Program | { error: string } {
  let program = programs.get(expression);
  if (!program) {
    try {
      program = plan(env, parse(expression));
    } catch (error) {
      program = { error: error instanceof Error ? error.message.replace(/^<input>:/, 'at ') : String(error) };
    }
    if (programs.size >= MAX_CACHED) programs.clear();
    programs.set(expression, program);
  }
  return program;
}

/** Why `expression` does not compile, or undefined when it does. */
export function compileError(expression: string): string | undefined {
  const program = compile(expression);
  return 'error' in program ? program.error : undefined;
}

/** JSON as CEL sees it: integers become `int`, everything else stays as it is. */
export function toCelValue(value: unknown): CelInput {
  if (typeof value === 'number') return Number.isInteger(value) && Number.isSafeInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(toCelValue);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, CelInput> = {};
    for (const [key, item] of Object.entries(value)) out[key] = toCelValue(item);
    return out;
  }
  return value as CelInput;
}

export type CelOutcome = { ok: true; value: boolean } | { ok: false; error: string };

/** Evaluates a rule that must yield a bool; errors (a missing field, a type mismatch) are reported, never thrown. */
export function evaluateRule(expression: string, bindings: Record<string, unknown>): CelOutcome {
  const program = compile(expression);
  if ('error' in program) return { ok: false, error: `does not compile: ${program.error}` };
  const input: Record<string, CelInput> = {};
  for (const [name, value] of Object.entries(bindings)) input[name] = toCelValue(value);
  let result: unknown;
  try {
    result = program(input);
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  if (isCelError(result)) return { ok: false, error: result.message };
  if (typeof result !== 'boolean') return { ok: false, error: `must evaluate to true or false, but gave ${typeof result === 'bigint' ? result.toString() : JSON.stringify(result)}` };
  return { ok: true, value: result };
}
