/**
 * kubectl's command line as runnable.ts reads it: flags (long, short, bundled, `=` or a separate
 * value), positional arguments, and the resource references (`TYPE NAME`, `TYPE/NAME`).
 */

/** Long flags that take a value when written as `--flag value`. */
const VALUE_FLAGS = new Set([
  'namespace', 'filename', 'selector', 'output', 'container', 'image', 'for', 'timeout', 'to-revision', 'type', 'patch', 'label-columns', 'sort-by',
  'field-selector', 'replicas', 'restart', 'labels', 'port', 'from', 'cascade', 'context', 'kubeconfig', 'kustomize', 'template', 'revision', 'grace-period',
  'overrides', 'env', 'requests', 'limits', 'serviceaccount', 'max-unavailable', 'min-available', 'cpu-percent', 'min', 'max', 'target-port', 'protocol',
  'name', 'tcp', 'from-literal', 'from-file', 'from-env-file', 'server', 'user', 'cluster', 'token', 'value', 'description', 'schedule', 'subresource',
]);
const SHORT_VALUE = new Set(['n', 'f', 'l', 'o', 'c', 'L', 'p', 'k']);
const SHORT_LONG: Record<string, string> = { n: 'namespace', f: 'filename', l: 'selector', o: 'output', c: 'container', L: 'label-columns', p: 'patch', k: 'kustomize', w: 'watch', A: 'all-namespaces', i: 'stdin', t: 'tty', R: 'recursive' };

const LOGS_SHORT: Record<string, string> = { f: 'follow', p: 'previous' };

export interface Parsed {
  positional: string[];
  flags: Map<string, string[]>;
  /** After `--`: the command for `exec` and `run`. */
  command: string[];
}

/** Where the verb is: the first word that is neither a flag nor a flag's value (`kubectl -n x get …`). */
export function verbIndex(words: readonly string[]): number {
  let at = 0;
  while (at < words.length && (words[at] ?? '').startsWith('-')) {
    const word = words[at] ?? '';
    const takesValue = word.startsWith('--') ? !word.includes('=') && VALUE_FLAGS.has(word.slice(2)) : word.length === 2 && SHORT_VALUE.has(word.slice(1));
    at += takesValue ? 2 : 1;
  }
  return at;
}

export function parseArgs(words: readonly string[], verb: string): Parsed {
  const parsed: Parsed = { positional: [], flags: new Map(), command: [] };
  const set = (name: string, value: string) => parsed.flags.set(name, [...(parsed.flags.get(name) ?? []), value]);
  for (let i = 0; i < words.length; i += 1) {
    const word = words[i] ?? '';
    if (word === '--') {
      parsed.command = words.slice(i + 1);
      break;
    }
    if (word.startsWith('--')) {
      const [name = '', value] = word.slice(2).split(/=(.*)/s);
      if (value !== undefined) set(name, value);
      else if (VALUE_FLAGS.has(name) && i + 1 < words.length) set(name, words[(i += 1)] ?? '');
      else set(name, 'true');
    } else if (word.startsWith('-') && word.length > 1) {
      const letters = word.slice(1);
      for (let j = 0; j < letters.length; j += 1) {
        const letter = letters[j] ?? '';
        // For `kubectl logs`, -f is --follow and -p is --previous: flags, not values.
        const own = verb === 'logs' ? LOGS_SHORT[letter] : undefined;
        const takesValue = own === undefined && SHORT_VALUE.has(letter);
        const name = own ?? SHORT_LONG[letter] ?? letter;
        if (takesValue) {
          const rest = letters.slice(j + 1).replace(/^=/, '');
          set(name, rest !== '' ? rest : (words[(i += 1)] ?? ''));
          break;
        }
        set(name, 'true');
      }
    } else {
      parsed.positional.push(word);
    }
  }
  return parsed;
}

export const has = (p: Parsed, name: string) => p.flags.has(name) && p.flags.get(name)?.at(-1) !== 'false';
export const flag = (p: Parsed, name: string) => p.flags.get(name)?.at(-1);

export interface Ref {
  type: string;
  name: string | undefined;
}

/** `TYPE NAME…`, `TYPE/NAME…` or `TYPE1,TYPE2` (no names). */
export function refsOf(positional: readonly string[]): Ref[] {
  if (positional.length === 0) return [];
  if (positional[0]?.includes('/')) return positional.map((p) => ({ type: p.split('/')[0] ?? '', name: p.split('/').slice(1).join('/') }));
  const types = (positional[0] ?? '').split(',');
  const names = positional.slice(1);
  if (names.length === 0) return types.map((type) => ({ type, name: undefined }));
  return names.map((name) => ({ type: types[0] ?? '', name }));
}
