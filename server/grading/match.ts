import { sameQuantity } from './quantity.ts';

/**
 * Partial object matching, as a grader needs it: fields the expectation leaves out are
 * ignored; lists match by content (every expected item must match a different actual item, in
 * any order); quantity strings match by amount ("1Gi" equals "1024Mi"). The result lists each
 * difference with its field path, what was expected and what was found, so the learner reads
 * `spec.replicas: expected 3, found 1` instead of "failed".
 */

export interface Mismatch {
  /** Dotted path with list positions of the actual object, e.g. `spec.template.spec.containers[0].image`. */
  path: string;
  expected: unknown;
  /** `undefined` when the field is missing. */
  found: unknown;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function scalarEqual(expected: unknown, actual: unknown): boolean {
  if (expected === actual) return true;
  if (typeof expected === 'string' && typeof actual === 'string') return sameQuantity(expected, actual) && /\d/.test(expected);
  if (typeof expected === 'number' && typeof actual === 'string') return /[a-zA-Z]/.test(actual) && sameQuantity(expected, actual);
  if (typeof expected === 'string' && typeof actual === 'number') return /[a-zA-Z]/.test(expected) && sameQuantity(expected, actual);
  return false;
}

export function partialMatch(expected: unknown, actual: unknown, path = ''): Mismatch[] {
  if (isRecord(expected)) {
    if (!isRecord(actual)) return [{ path: path || '(object)', expected, found: actual }];
    const out: Mismatch[] = [];
    for (const [key, value] of Object.entries(expected)) out.push(...partialMatch(value, actual[key], join(path, key)));
    return out;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return [{ path: path || '(list)', expected, found: actual }];
    return matchList(expected, actual, path);
  }
  return scalarEqual(expected, actual) ? [] : [{ path: path || '(value)', expected, found: actual }];
}

/**
 * Assigns every expected item a distinct actual item it matches (a bipartite matching by
 * augmenting paths; lists in manifests are short). An item without a partner is reported with
 * the differences of the closest actual item.
 */
function matchList(expected: readonly unknown[], actual: readonly unknown[], path: string): Mismatch[] {
  const fits = expected.map((item) => actual.map((candidate) => partialMatch(item, candidate).length === 0));
  const owner: (number | undefined)[] = actual.map(() => undefined);
  const assign = (e: number, seen: boolean[]): boolean => {
    for (let a = 0; a < actual.length; a += 1) {
      if (!fits[e]?.[a] || seen[a]) continue;
      seen[a] = true;
      const current = owner[a];
      if (current === undefined || assign(current, seen)) {
        owner[a] = e;
        return true;
      }
    }
    return false;
  };
  const out: Mismatch[] = [];
  expected.forEach((item, e) => {
    if (assign(e, actual.map(() => false))) return;
    if (actual.length === 0) {
      out.push({ path: `${path}[]`, expected: item, found: [] });
      return;
    }
    // The closest candidate explains the miss best: fewest differences, preferring free items.
    let best: { index: number; mismatches: Mismatch[] } | undefined;
    actual.forEach((candidate, a) => {
      const mismatches = partialMatch(item, candidate, `${path}[${a}]`);
      const score = mismatches.length + (owner[a] === undefined ? 0 : 0.5);
      if (!best || score < best.mismatches.length + (owner[best.index] === undefined ? 0 : 0.5)) best = { index: a, mismatches };
    });
    if (best && best.mismatches.length > 0 && isRecord(item)) out.push(...best.mismatches);
    else out.push({ path: `${path}[]`, expected: item, found: actual });
  });
  return out;
}

/** A value for a message: short JSON, "(missing)" for undefined. */
export function shown(value: unknown, max = 160): string {
  if (value === undefined) return '(missing)';
  const text = JSON.stringify(value) as string | undefined ?? typeof value;
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** One line per mismatch: `spec.replicas: expected 3, found 1`. */
export function describeMismatches(mismatches: readonly Mismatch[], limit = 5): string {
  const lines = mismatches.slice(0, limit).map((m) => `${m.path}: expected ${shown(m.expected)}, found ${shown(m.found)}`);
  if (mismatches.length > limit) lines.push(`… and ${mismatches.length - limit} more`);
  return lines.join('; ');
}

/** The expected side of mismatches, a `path: value` line each, for a result's "expected" field. */
export function expectedSide(mismatches: readonly Mismatch[], limit = 5): string {
  return mismatches.slice(0, limit).map((m) => `${m.path}: ${shown(m.expected)}`).join('\n');
}

/** The found side of mismatches, for a result's "found" field. */
export function foundSide(mismatches: readonly Mismatch[], limit = 5): string {
  return mismatches.slice(0, limit).map((m) => `${m.path}: ${shown(m.found)}`).join('\n');
}

/** A one-line summary: the difference itself when there is one, else which fields differ. */
export function summarizeMismatches(mismatches: readonly Mismatch[]): string {
  if (mismatches.length === 1) return describeMismatches(mismatches);
  const paths = mismatches.slice(0, 4).map((m) => m.path);
  return `${mismatches.length} fields differ: ${paths.join(', ')}${mismatches.length > 4 ? ', …' : ''}`;
}
