import { yamlDocuments } from './yaml-documents.ts';

/**
 * Which code blocks the lesson page may offer to act on. js-yaml rather than `yaml` here (and in
 * blocks.ts and runnable.ts), where only values matter: measured on the curriculum's 35 YAML
 * blocks, 5 ms a pass against 36 ms with `yaml`, which would put a 200-lesson library past its
 * 2 s load goal. `yaml` stays for what needs line positions (lab files, front matter) and writing.
 */

export const SHELL_LANGS: ReadonlySet<string> = new Set(['bash', 'sh', 'shell', 'console', 'zsh']);
export const YAML_LANGS: ReadonlySet<string> = new Set(['yaml', 'yml']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * True when every non-empty document is a Kubernetes object: string `apiVersion` and `kind`,
 * and `metadata.name` or `metadata.generateName`. A fragment, a shell line mixed in, or YAML
 * that does not parse is not a manifest.
 */
export function isCompleteManifest(source: string): boolean {
  const parsed = yamlDocuments(source);
  if (!parsed.ok) return false;
  const objects = parsed.documents.filter((doc) => doc !== null && doc !== undefined);
  if (objects.length === 0) return false;
  return objects.every((doc) => {
    if (!isRecord(doc) || typeof doc.apiVersion !== 'string' || typeof doc.kind !== 'string' || !isRecord(doc.metadata)) return false;
    const { name, generateName } = doc.metadata;
    return (typeof name === 'string' && name !== '') || (typeof generateName === 'string' && generateName !== '');
  });
}

const kubectlLine = /^[ \t]*(?:\$[ \t]+)?kubectl(?:[ \t]|$)/m;

/** A shell block with at least one line that runs kubectl (after an optional `$ ` prompt). */
export function hasKubectlLine(source: string): boolean {
  return kubectlLine.test(source);
}
