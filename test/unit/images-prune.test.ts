import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pruneOlderBuilds } from '../../server/cluster/images/prune.ts';

let root: string;

async function build(name: string, manifest: Record<string, unknown> | undefined, bytes = 1000): Promise<string> {
  const dir = path.join(root, name);
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'image.tar'), Buffer.alloc(bytes));
  if (manifest) await fs.writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
  return dir;
}

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'kd-prune-'));
});
afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

describe('pruning older image builds', () => {
  it('keeps the current build and the newest other one of that image, and removes the rest', async () => {
    await build('app-0.1.0-aaaaaaaaaaaa', { id: 'app', builtAt: '2026-11-01T00:00:00Z' }, 3000);
    const previous = await build('app-0.1.0-bbbbbbbbbbbb', { id: 'app', builtAt: '2026-11-03T00:00:00Z' });
    await build('app-0.1.0-dddddddddddd', { id: 'app', builtAt: '2026-11-02T00:00:00Z' }, 2000);
    const current = await build('app-0.1.0-cccccccccccc', { id: 'app', builtAt: '2026-11-04T00:00:00Z' });
    // A build without a manifest (interrupted, corrupt) counts as the oldest.
    await build('app-0.1.0-eeeeeeeeeeee', undefined, 500);
    // Another process's build in progress, and other images, are not this one's to touch.
    await build(`app-0.1.0-ffffffffffff.tmp-${process.pid + 1}`, undefined);
    await build('toolbox-0.1.0-111111111111', { id: 'toolbox', builtAt: '2026-10-01T00:00:00Z' });
    await build('postgres-15.20-222222222222', { id: 'postgres', builtAt: '2026-10-01T00:00:00Z' });

    const result = await pruneOlderBuilds(root, 'app', current);

    expect(result.removed.map((d) => path.basename(d)).sort()).toEqual(['app-0.1.0-aaaaaaaaaaaa', 'app-0.1.0-dddddddddddd', 'app-0.1.0-eeeeeeeeeeee']);
    expect(result.bytes).toBeGreaterThanOrEqual(3000 + 2000 + 500);
    expect((await fs.readdir(root)).sort()).toEqual([path.basename(previous), path.basename(current), `app-0.1.0-ffffffffffff.tmp-${process.pid + 1}`, 'postgres-15.20-222222222222', 'toolbox-0.1.0-111111111111'].sort());
  });

  it('removes nothing when the image has no other builds, or a missing cache', async () => {
    const current = await build('app-0.1.0-cccccccccccc', { id: 'app', builtAt: '2026-11-04T00:00:00Z' });
    expect(await pruneOlderBuilds(root, 'app', current)).toEqual({ removed: [], bytes: 0 });
    expect(await pruneOlderBuilds(path.join(root, 'missing'), 'app', current)).toEqual({ removed: [], bytes: 0 });
  });

  it('never takes a build whose manifest names another image', async () => {
    const current = await build('app-0.1.0-cccccccccccc', { id: 'app', builtAt: '2026-11-04T00:00:00Z' });
    await build('app-0.1.0-bbbbbbbbbbbb', { id: 'app', builtAt: '2026-11-03T00:00:00Z' });
    await build('app-extra-0.1.0-999999999999', { id: 'app-extra', builtAt: '2026-01-01T00:00:00Z' });
    await build('app-0.1.0-aaaaaaaaaaaa', { id: 'app', builtAt: '2026-11-01T00:00:00Z' });
    const result = await pruneOlderBuilds(root, 'app', current);
    expect(result.removed.map((d) => path.basename(d))).toEqual(['app-0.1.0-aaaaaaaaaaaa']);
    expect(await fs.readdir(root)).toContain('app-extra-0.1.0-999999999999');
  });
});
