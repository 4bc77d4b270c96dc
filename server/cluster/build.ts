import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../logger.ts';
import type { Progress } from '../progress.ts';
import { buildComponent, hashFile, manifestSchema, type BuildManifest } from './build/compile.ts';
import { checkDisk, checkGo, type GoInfo } from './build/go.ts';
import { componentSpecs, readVersions, type Binaries, type ComponentName, type ComponentSpec, type NodeBinaries, type Versions } from './build/specs.ts';
import { controlPlaneCacheDir, controlPlaneModulesDir } from './paths.ts';

/**
 * Builds the local control plane (and the real node's own components, when it is wanted) from
 * the Go module proxy at the versions pinned in sandboxes/controlplane/versions.json, and caches
 * the binaries by component, version and build inputs outside the repository, so a second
 * start never rebuilds.
 */

export { BuildError, checkDisk, checkGo, type BuildErrorReason, type GoInfo } from './build/go.ts';
export { componentSpecs, readVersions, type Binaries, type ComponentName, type ComponentSpec, type NodeBinaries, type Versions } from './build/specs.ts';
export type { BuildManifest } from './build/compile.ts';

async function moduleFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of (await fs.readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const rel = path.join(prefix, entry.name);
    if (entry.isDirectory()) out.push(...(await moduleFiles(path.join(dir, entry.name), rel)));
    else if (entry.name === 'go.mod' || entry.name === 'go.sum' || entry.name.endsWith('.go') || entry.name.endsWith('.patch')) out.push(rel);
  }
  return out;
}

/** A key over everything that decides the binaries: a change to any of them rebuilds. */
export async function buildKey(spec: ComponentSpec, versions: Versions, modulesDir = controlPlaneModulesDir): Promise<string> {
  const hash = createHash('sha256');
  const version = spec.version(versions);
  hash.update(`${spec.name}\0${version}\0${spec.ldflags(version).join(' ')}\0${spec.packages.join(' ')}\0${process.platform}/${process.arch}\0`);
  const dir = path.join(modulesDir, spec.module);
  // Sources in subfolders count too: the scheduler plugin, the patches.
  for (const name of await moduleFiles(dir)) {
    hash.update(`${name}\0`);
    hash.update(await fs.readFile(path.join(dir, name)));
  }
  return hash.digest('hex').slice(0, 12);
}

export function componentCacheDir(cacheDir: string, spec: ComponentSpec, versions: Versions, key: string): string {
  return path.join(controlPlaneCacheDir(cacheDir), `${spec.name}-${spec.version(versions)}-${key}`);
}

export type CacheCheck = { ok: true; manifest: BuildManifest } | { ok: false; reason: string };

/** Cheap enough for every start: the manifest parses and every binary has its recorded size. */
export async function checkCachedComponent(dir: string, spec: ComponentSpec, deep = false): Promise<CacheCheck> {
  let manifest: BuildManifest;
  try {
    const parsed = manifestSchema.safeParse(JSON.parse(await fs.readFile(path.join(dir, 'manifest.json'), 'utf8')));
    if (!parsed.success) return { ok: false, reason: 'its manifest.json is malformed' };
    manifest = parsed.data;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { ok: false, reason: code === 'ENOENT' ? 'not built yet' : 'its manifest.json is unreadable' };
  }
  for (const binary of spec.binaries) {
    const entry = manifest.files.find((f) => f.name === binary);
    if (!entry) return { ok: false, reason: `its manifest does not list ${binary}` };
    const file = path.join(dir, binary);
    let stat;
    try {
      stat = await fs.stat(file);
    } catch {
      return { ok: false, reason: `${binary} is missing` };
    }
    if (stat.size !== entry.size) return { ok: false, reason: `${binary} is corrupt (${stat.size} bytes, expected ${entry.size})` };
    if ((stat.mode & 0o111) === 0) return { ok: false, reason: `${binary} is not executable` };
    if (deep && (await hashFile(file)) !== entry.sha256) return { ok: false, reason: `${binary} is corrupt (checksum differs)` };
  }
  return { ok: true, manifest };
}

export interface EnsureOptions {
  cacheDir: string;
  go: string;
  env: Readonly<Record<string, string>>;
  progress: Progress;
  logger: Logger;
  /** Also build the real node's components (CoreDNS, kube-network-policies, crictl). */
  withNode?: boolean;
  /** Rebuild even when the cache is valid. */
  force?: boolean;
  /** Verify checksums, not only sizes. */
  deep?: boolean;
  modulesDir?: string;
}

export interface ComponentResult {
  name: ComponentName;
  version: string;
  dir: string;
  built: boolean;
  /** Why it was (re)built, when it was. */
  reason?: string;
  buildSeconds: number;
}

export interface ControlPlane {
  binaries: Binaries;
  /** Present when the real node's components were asked for. */
  node: NodeBinaries | undefined;
  versions: Versions;
  components: ComponentResult[];
}

/** Returns the cached binaries, building whatever is missing, stale or corrupt. */
export async function ensureControlPlane(options: EnsureOptions): Promise<ControlPlane> {
  const modulesDir = options.modulesDir ?? controlPlaneModulesDir;
  const versions = await readVersions(modulesDir);
  const log = options.logger.child({ component: 'controlplane-build' });
  const plan: { spec: ComponentSpec; dir: string; key: string; check: CacheCheck }[] = [];
  for (const spec of componentSpecs.filter((s) => !s.node || options.withNode === true)) {
    const key = await buildKey(spec, versions, modulesDir);
    const dir = componentCacheDir(options.cacheDir, spec, versions, key);
    const check: CacheCheck = options.force ? { ok: false, reason: 'a rebuild was asked for' } : await checkCachedComponent(dir, spec, options.deep);
    plan.push({ spec, dir, key, check });
  }

  const toBuild = plan.filter((p) => !p.check.ok);
  let go: GoInfo | undefined;
  if (toBuild.length > 0) {
    const env = { ...options.env };
    go = await checkGo(options.go, env);
    await checkDisk(
      toBuild.flatMap(({ spec, dir }) => [
        { dir: go?.buildCache ?? dir, bytes: spec.disk.buildCache, what: 'the Go build cache' },
        { dir: go?.moduleCache ?? dir, bytes: spec.disk.moduleCache, what: 'the Go module cache' },
        { dir, bytes: spec.disk.output, what: 'the binaries' },
      ]),
    );
  }

  const results: ComponentResult[] = [];
  for (const item of plan) {
    const version = item.spec.version(versions);
    if (item.check.ok) {
      results.push({ name: item.spec.name, version, dir: item.dir, built: false, buildSeconds: item.check.manifest.buildSeconds });
      continue;
    }
    const reason = item.check.reason;
    log.info({ name: item.spec.name, version, reason }, `building ${item.spec.name} ${version}: ${reason}`);
    const seconds = await buildComponent(item.spec, version, item.dir, item.key, go as GoInfo, options, modulesDir, reason);
    results.push({ name: item.spec.name, version, dir: item.dir, built: true, reason, buildSeconds: seconds });
  }

  const dirOf = (name: ComponentName) => results.find((r) => r.name === name)?.dir ?? '';
  const kube = (binary: string) => path.join(dirOf('kubernetes'), binary);
  return {
    versions,
    components: results,
    binaries: {
      etcd: path.join(dirOf('etcd'), 'etcd'),
      kwok: path.join(dirOf('kwok'), 'kwok'),
      metricsServer: path.join(dirOf('metrics-server'), 'metrics-server'),
      kubeApiserver: kube('kube-apiserver'),
      kubeControllerManager: kube('kube-controller-manager'),
      kubeScheduler: kube('kube-scheduler'),
      kubectl: kube('kubectl'),
    },
    node: options.withNode
      ? {
          kubelet: kube('kubelet'),
          kubeProxy: kube('kube-proxy'),
          coredns: path.join(dirOf('coredns'), 'coredns'),
          kubeNetworkPolicies: path.join(dirOf('kube-network-policies'), 'kube-network-policies'),
          crictl: path.join(dirOf('cri-tools'), 'crictl'),
        }
      : undefined,
  };
}
