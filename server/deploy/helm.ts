import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { buildKey, checkCachedComponent, checkDisk, checkGo, readVersions, type ComponentSpec } from '../cluster/build.ts';
import { buildComponent } from '../cluster/build/compile.ts';
import { BuildError } from '../cluster/build/go.ts';
import { projectRoot } from '../cluster/paths.ts';
import type { Logger } from '../logger.ts';
import type { Progress } from '../progress.ts';

/**
 * The pinned helm (deploy/tools/versions.json), built from the Go module proxy with the control
 * plane's build machinery and cached the same way (by version and build inputs, outside the
 * repository, under <cache-dir>/tools/), so the chart is rendered and installed by one known
 * helm on every machine. A second call builds nothing.
 */

export const deployToolsDir = path.join(projectRoot, 'deploy', 'tools');
export const chartDir = path.join(projectRoot, 'deploy', 'helm', 'kubedojo');
export const manifestsFile = path.join(projectRoot, 'deploy', 'manifests', 'kubedojo.yaml');

const GiB = 1024 ** 3;
const toolsSchema = z.object({ helm: z.string().regex(/^v4\.\d+\.\d+$/, 'must be a helm v4 release such as v4.3.2') });

export async function helmVersion(dir = deployToolsDir): Promise<string> {
  const file = path.join(dir, 'versions.json');
  const parsed = toolsSchema.safeParse(JSON.parse(await fs.readFile(file, 'utf8')));
  if (!parsed.success) throw new BuildError(`${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, 'inputs');
  return parsed.data.helm;
}

/** Helm's own Makefile sets these (internal/version); `helm version` then names the release. */
export function helmSpec(version: string): ComponentSpec {
  return {
    name: 'helm',
    module: 'helm',
    version: () => version,
    packages: ['helm.sh/helm/v4/cmd/helm'],
    binaries: ['helm'],
    ldflags: (v) => [`-X helm.sh/helm/v4/internal/version.version=${v}`, '-X helm.sh/helm/v4/internal/version.gitTreeState=clean'],
    node: false,
    disk: { buildCache: 1.2 * GiB, moduleCache: 0.6 * GiB, output: 0.1 * GiB },
  };
}

export interface EnsureHelmOptions {
  cacheDir: string;
  go: string;
  env: Readonly<Record<string, string>>;
  progress: Progress;
  logger: Logger;
  force?: boolean;
}

export interface HelmBinary {
  path: string;
  version: string;
  built: boolean;
  buildSeconds: number;
}

/** The cached helm, building it when missing, stale or corrupt. */
export async function ensureHelm(options: EnsureHelmOptions): Promise<HelmBinary> {
  const version = await helmVersion();
  const spec = helmSpec(version);
  // buildKey hashes the module's go.mod/go.sum and the version; the control plane's pins play no part.
  const key = await buildKey(spec, await readVersions(), deployToolsDir);
  const dir = path.join(options.cacheDir, 'tools', `helm-${version}-${key}`);
  const binary = path.join(dir, 'helm');
  const check = options.force ? ({ ok: false, reason: 'a rebuild was asked for' } as const) : await checkCachedComponent(dir, spec);
  if (check.ok) return { path: binary, version, built: false, buildSeconds: check.manifest.buildSeconds };
  const log = options.logger.child({ component: 'helm-build' });
  const env = { ...options.env };
  const go = await checkGo(options.go, env);
  await checkDisk([
    { dir: go.buildCache, bytes: spec.disk.buildCache, what: 'the Go build cache' },
    { dir: go.moduleCache, bytes: spec.disk.moduleCache, what: 'the Go module cache' },
    { dir: path.dirname(dir), bytes: spec.disk.output, what: 'helm' },
  ]);
  log.info({ version, reason: check.reason }, `building helm ${version}: ${check.reason}`);
  const seconds = await buildComponent(spec, version, dir, key, go, { go: options.go, env, progress: options.progress }, deployToolsDir, check.reason);
  return { path: binary, version, built: true, buildSeconds: seconds };
}
