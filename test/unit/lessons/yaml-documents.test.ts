import { describe, expect, it } from 'vitest';
import { yamlDocuments } from '../../../server/lessons/yaml-documents.ts';

describe('yamlDocuments', () => {
  it('parses every document of a block once and hands the same result to the next reader', () => {
    const text = 'apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\nkind: Service\n';
    const first = yamlDocuments(text);
    expect(first).toEqual({ ok: true, documents: [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a' } }, { kind: 'Service' }] });
    expect(yamlDocuments(text)).toBe(first);
  });

  it('says why a block is not YAML, on one line', () => {
    const result = yamlDocuments('a: [1, 2\nb: 3\n');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).not.toContain('\n');
  });
});
