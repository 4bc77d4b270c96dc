import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BuildError, checkCachedComponent, checkDisk, checkGo, componentSpecs, readVersions, buildKey } from '../../server/cluster/build.ts';

const kwok = componentSpecs.find((s) => s.name === 'kwok');
if (!kwok) throw new Error('no kwok spec');

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-cache-unit-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function writeComponent(content = 'binary'.repeat(100)) {
  await fs.writeFile(path.join(dir, 'kwok'), content, { mode: 0o755 });
  const manifest = { component: 'kwok', version: 'v0.8.0', key: 'k', goVersion: 'go1.26.8', builtAt: 'x', buildSeconds: 1, files: [{ name: 'kwok', size: 600, sha256: 'not-the-hash' }] };
  await fs.writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
}

describe('checkCachedComponent', () => {
  it('accepts a complete component', async () => {
    await writeComponent();
    expect((await checkCachedComponent(dir, kwok)).ok).toBe(true);
  });
  it('names what is wrong: never built, malformed manifest, missing, truncated, not executable, checksum', async () => {
    expect(await checkCachedComponent(dir, kwok)).toEqual({ ok: false, reason: 'not built yet' });
    await fs.writeFile(path.join(dir, 'manifest.json'), '{"files": 3}');
    expect(await checkCachedComponent(dir, kwok)).toEqual({ ok: false, reason: 'its manifest.json is malformed' });
    await writeComponent();
    await fs.rm(path.join(dir, 'kwok'));
    expect(await checkCachedComponent(dir, kwok)).toEqual({ ok: false, reason: 'kwok is missing' });
    await writeComponent('short');
    expect(await checkCachedComponent(dir, kwok)).toEqual({ ok: false, reason: 'kwok is corrupt (5 bytes, expected 600)' });
    await writeComponent();
    await fs.chmod(path.join(dir, 'kwok'), 0o644);
    expect(await checkCachedComponent(dir, kwok)).toEqual({ ok: false, reason: 'kwok is not executable' });
    await fs.chmod(path.join(dir, 'kwok'), 0o755);
    expect(await checkCachedComponent(dir, kwok, true)).toEqual({ ok: false, reason: 'kwok is corrupt (checksum differs)' });
  });
});

describe('buildKey', () => {
  it('is stable for the committed inputs and differs per component', async () => {
    const versions = await readVersions();
    const keys = await Promise.all(componentSpecs.map((s) => buildKey(s, versions)));
    expect(new Set(keys).size).toBe(componentSpecs.length);
    expect(await buildKey(kwok, versions)).toBe(keys[componentSpecs.indexOf(kwok)]);
    expect(await buildKey(kwok, { ...versions, kwok: 'v0.9.0' })).not.toBe(keys[componentSpecs.indexOf(kwok)]);
  });
});

describe('checkGo', () => {
  it('names a missing Go and offers an existing cluster', async () => {
    const error = await checkGo(path.join(dir, 'no-such-go'), { PATH: '/usr/bin:/bin' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BuildError);
    expect((error as BuildError).reason).toBe('no-go');
    expect((error as BuildError).message).toContain('was not found on PATH');
    expect((error as BuildError).message).toContain('--kubeconfig');
  });
  it('refuses a Go that is too old', async () => {
    const fake = path.join(dir, 'go');
    await fs.writeFile(fake, '#!/bin/sh\nprintf "go1.22.5\\n/tmp/gocache\\n/tmp/gomod\\n"\n', { mode: 0o755 });
    const error = await checkGo(fake, { PATH: '/usr/bin:/bin' }).catch((e: unknown) => e);
    expect((error as BuildError).reason).toBe('old-go');
    expect((error as BuildError).message).toContain('is go1.22.5');
  });
});

describe('checkDisk', () => {
  it('passes when there is room and names the directories and sizes when there is not', async () => {
    await expect(checkDisk([{ dir, bytes: 1024, what: 'the binaries' }])).resolves.toBeUndefined();
    const stat = await fs.statfs(dir);
    const free = stat.bavail * stat.bsize;
    const error = await checkDisk([
      { dir, bytes: free, what: 'the Go build cache' },
      { dir: path.join(dir, 'not', 'yet', 'created'), bytes: 1024 ** 3, what: 'the binaries' },
    ]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BuildError);
    expect((error as BuildError).reason).toBe('disk');
    expect((error as BuildError).message).toMatch(/needs about [\d.]+ GiB for the Go build cache \(.+\), the binaries \(.+\), and only [\d.]+ GiB is free there/);
  });
});
