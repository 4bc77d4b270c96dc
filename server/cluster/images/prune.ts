import fs from 'node:fs/promises';
import path from 'node:path';
import { walkAll } from './app-files.ts';
import { removeTree } from './tools.ts';

export interface PruneResult {
  removed: string[];
  bytes: number;
}

async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  for (const file of await walkAll(dir).catch(() => [])) total += (await fs.lstat(file).catch(() => undefined))?.size ?? 0;
  return total;
}

/** When a cached build was made, from its manifest; a build without a readable one counts as oldest. */
async function builtAt(dir: string, id: string): Promise<number | undefined> {
  try {
    const manifest = JSON.parse(await fs.readFile(path.join(dir, 'manifest.json'), 'utf8')) as { id?: unknown; builtAt?: unknown };
    if (manifest.id !== id) return undefined;
    const at = typeof manifest.builtAt === 'string' ? Date.parse(manifest.builtAt) : NaN;
    return Number.isNaN(at) ? 0 : at;
  } catch {
    return 0;
  }
}

/**
 * Removes older builds of one image from the cache, keeping `current` and the `keep` newest
 * others. Why: every change to the app's files is a new build (about 160 MiB for the app), and
 * without this the cache grows by that much each time. One older build stays, so switching back
 * (a rollback, another branch) does not rebuild. Half-written builds of this process are left
 * to their builder.
 */
export async function pruneOlderBuilds(root: string, id: string, current: string, keep = 1): Promise<PruneResult> {
  const names = await fs.readdir(root).catch(() => [] as string[]);
  const others: { dir: string; at: number }[] = [];
  for (const name of names) {
    if (!name.startsWith(`${id}-`) || name.includes('.tmp-')) continue;
    const dir = path.join(root, name);
    if (dir === current) continue;
    const at = await builtAt(dir, id);
    if (at !== undefined) others.push({ dir, at });
  }
  others.sort((a, b) => b.at - a.at);
  const result: PruneResult = { removed: [], bytes: 0 };
  for (const { dir } of others.slice(keep)) {
    result.bytes += await treeBytes(dir);
    await removeTree(dir);
    result.removed.push(dir);
  }
  return result;
}
