import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

/** Finding the line of a field in a parsed YAML document, for messages that name file, field and line. */

export type FieldPath = readonly PropertyKey[];

/** `exercises[0].checks[1].kind` */
export function formatPath(path: FieldPath): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

function lineOf(node: Node | null | undefined, counter: LineCounter): number | undefined {
  const start = node?.range?.[0];
  return start === undefined ? undefined : counter.linePos(start).line;
}

/**
 * The 1-based line (within the YAML text) of the deepest node on `path` that exists: the key's
 * line for a mapping entry, the item's line for a list entry; for a missing field, the line of
 * the closest parent that exists. `fallback` when not even the root exists.
 */
export function lineOfPath(doc: Document, counter: LineCounter, path: FieldPath, fallback: number): number {
  let node: unknown = doc.contents;
  let line = lineOf(node as Node | null, counter) ?? fallback;
  for (const part of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(part));
      if (!pair) break;
      line = lineOf(pair.key as Node, counter) ?? line;
      node = pair.value;
    } else if (isSeq(node) && typeof part === 'number') {
      const item: unknown = node.items[part];
      if (item === undefined) break;
      line = lineOf(item as Node, counter) ?? line;
      node = item;
    } else break;
  }
  return line;
}
