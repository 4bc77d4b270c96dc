import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { componentCacheDir, componentSpecs, buildKey, readVersions } from '../../server/cluster/build.ts';
import { loadConfig } from '../../server/config.ts';
import { runCli } from '../helpers/cli.ts';

/**
 * What a user sees when the control-plane cache or the Go toolchain is not as it should be.
 * Uses a private cache directory whose healthy components are symlinks to the real cache, so
 * only the component under test is rebuilt.
 */

const realCache = (() => {
  const result = loadConfig();
  if (!result.ok) throw new Error(result.problems.join('\n'));
  return result.config.cacheDir;
})();

let cacheDir: string;
let kwokDir: string;

beforeAll(async () => {
  cacheDir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-cache-'));
  const versions = await readVersions();
  await fs.mkdir(path.join(cacheDir, 'controlplane'));
  for (const spec of componentSpecs) {
    const key = await buildKey(spec, versions);
    const real = componentCacheDir(realCache, spec, versions, key);
    const mine = componentCacheDir(cacheDir, spec, versions, key);
    await fs.access(path.join(real, 'manifest.json')).catch(() => {
      throw new Error(`the control plane is not built in ${realCache}: run "npm run cluster:build" first`);
    });
    if (spec.name === 'kwok') {
      await fs.cp(real, mine, { recursive: true });
      kwokDir = mine;
    } else {
      await fs.symlink(real, mine);
    }
  }
});

afterAll(async () => {
  await fs.rm(cacheDir, { recursive: true, force: true });
});

describe('a corrupted or missing cache', () => {
  it('is detected, named, and rebuilt without touching the healthy components', async () => {
    const binary = path.join(kwokDir, 'kwok');
    const handle = await fs.open(binary, 'r+');
    await handle.truncate(1024);
    await handle.close();

    const result = await runCli(['cluster', 'build', '--json', '--cache-dir', cacheDir], { timeoutMs: 15 * 60_000 });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/building kwok v[\d.]+ \(kwok is corrupt \(1024 bytes, expected \d+\)\)/);
    const report = JSON.parse(result.stdout) as { components: { name: string; built: boolean }[] };
    expect(report.components.filter((c) => c.built).map((c) => c.name)).toEqual(['kwok']);
    expect((await fs.stat(binary)).size).toBeGreaterThan(1024 * 1024);

    // Missing altogether: reported as such (and a healthy cache is used as is).
    await fs.rm(path.join(kwokDir, 'manifest.json'));
    const check = await runCli(['cluster', 'build', '--cache-dir', cacheDir], { timeoutMs: 15 * 60_000 });
    expect(check.code, check.stderr).toBe(0);
    expect(check.stderr).toContain('(not built yet)');
    expect(check.stdout).toMatch(/kwok\s+v[\d.]+\s+built now/);
    expect(check.stdout).toMatch(/kubernetes\s+v[\d.]+\s+cached/);
  });
});

describe('no Go toolchain', () => {
  it('says Go is missing and offers an existing cluster instead, when there is something to build', async () => {
    const empty = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-nogo-'));
    try {
      const result = await runCli(['cluster', 'up', '--cache-dir', empty, '--data-dir', empty], { env: { PATH: '/usr/bin:/bin' } });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('Go 1.26 or newer is needed to build the local Kubernetes control plane, and "go" was not found on PATH');
      expect(result.stderr).toContain('kubedojo serve --kubeconfig');
      const named = await runCli(['cluster', 'build', '--cache-dir', empty, '--go', '/nonexistent/go']);
      expect(named.code).toBe(2);
      expect(named.stderr).toContain('"/nonexistent/go" was not found');
      // Nothing was started or half-written: no keys, no state.
      const written = await fs.readdir(path.join(empty, 'cluster')).catch(() => []);
      expect(written.filter((f) => f === 'pki' || f === 'state.json')).toEqual([]);
    } finally {
      await fs.rm(empty, { recursive: true, force: true });
    }
  });

  it('is not needed when everything is cached', async () => {
    const result = await runCli(['cluster', 'build', '--cache-dir', cacheDir, '--go', '/nonexistent/go']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).not.toContain('built now');
  });
});
