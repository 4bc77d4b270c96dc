import fs from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { sandboxesDir } from '../cluster/paths.ts';
import { NODE_NAME } from '../cluster/node/layout.ts';

/** The embedded cluster's node names (the simulated pool and the real node), for the runnable-block judge. */
let cached: Promise<string[]> | undefined;

export function embeddedNodeNames(): Promise<string[]> {
  cached ??= (async () => {
    const text = await fs.readFile(path.join(sandboxesDir, 'cluster', 'nodepool.yaml'), 'utf8');
    const names = parseAllDocuments(text)
      .map((doc) => doc.toJS() as { kind?: string; metadata?: { name?: string } } | null)
      .filter((o) => o?.kind === 'Node' && typeof o.metadata?.name === 'string')
      .map((o) => o?.metadata?.name ?? '');
    return [...names, NODE_NAME];
  })();
  return cached;
}
