/**
 * Per-learner values a lab file may use in any string: `${namespace}`, `${group}` (the
 * learner's API group for CRDs) and `${priorityClassPrefix}`. `$${` writes a literal `${`, for
 * shell scripts placed in the learner's home.
 */

export const PLACEHOLDERS = ['namespace', 'group', 'priorityClassPrefix'] as const;
export type PlaceholderName = (typeof PLACEHOLDERS)[number];
export type PlaceholderValues = Readonly<Record<PlaceholderName, string>>;

const pattern = /\$\$\{|\$\{([^}\n]*)\}/g;
const known: ReadonlySet<string> = new Set(PLACEHOLDERS);

/** Names used in `text` that are not known placeholders. */
export function unknownPlaceholders(text: string): string[] {
  const unknown: string[] = [];
  for (const match of text.matchAll(pattern)) {
    const name = match[1];
    if (name !== undefined && !known.has(name)) unknown.push(name);
  }
  return unknown;
}

export function fillPlaceholders(text: string, values: PlaceholderValues): string {
  return text.replace(pattern, (whole, name: string | undefined) => {
    if (name === undefined) return '${';
    return known.has(name) ? values[name as PlaceholderName] : whole;
  });
}

/** A copy of `value` (a parsed lab or part of it) with every string filled in. */
export function fillPlaceholdersDeep<T>(value: T, values: PlaceholderValues): T {
  if (typeof value === 'string') return fillPlaceholders(value, values) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => fillPlaceholdersDeep(item, values)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillPlaceholdersDeep(v, values)])) as T;
  }
  return value;
}

/** Every string in a parsed YAML value, with its path, for checks that report field and line. */
export function* stringsIn(value: unknown, path: PropertyKey[] = []): Generator<{ path: PropertyKey[]; text: string }> {
  if (typeof value === 'string') yield { path, text: value };
  else if (Array.isArray(value)) for (const [i, item] of value.entries()) yield* stringsIn(item, [...path, i]);
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) yield* stringsIn(v, [...path, k]);
}
