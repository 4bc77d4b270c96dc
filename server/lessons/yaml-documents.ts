import { loadAll } from 'js-yaml';

/**
 * The documents of a code block's YAML, parsed once: the page's "is this a manifest", the
 * blocks' judge and the runnable-block simulation each read the same block, and parsing was a
 * quarter of a big library's load. js-yaml rather than `yaml`: only values matter here (see
 * manifests.ts). The documents are shared, so callers only read them.
 */
export type YamlDocuments = { ok: true; documents: readonly unknown[] } | { ok: false; message: string };

const MAX_ENTRIES = 512;
const parsed = new Map<string, YamlDocuments>();

export function yamlDocuments(text: string): YamlDocuments {
  const known = parsed.get(text);
  if (known) return known;
  let result: YamlDocuments;
  try {
    result = { ok: true, documents: Object.freeze(loadAll(text)) };
  } catch (error) {
    result = { ok: false, message: error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error) };
  }
  // Oldest out first: a library's blocks are read lesson by lesson, so recent ones are the hits.
  if (parsed.size >= MAX_ENTRIES) parsed.delete(parsed.keys().next().value ?? '');
  parsed.set(text, result);
  return result;
}
