import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { z } from 'zod';
import type { Logger } from '../logger.ts';
import type { Progress } from '../progress.ts';
import { controlPlaneCacheDir, controlPlaneModulesDir } from './paths.ts';

/**
 * Builds the local control plane from the Go module proxy at the versions pinned in
 * sandboxes/controlplane/versions.json, and caches the binaries by component, version and
 * build inputs outside the repository, so a second start never rebuilds.
 */

const versionsSchema = z.object({
  kubernetes: z.string().regex(/^v1\.\d+\.\d+$/),
  etcd: z.string().regex(/^v3\.\d+\.\d+$/),
  kwok: z.string().regex(/^v\d+\.\d+\.\d+$/),
  metricsServer: z.string().regex(/^v\d+\.\d+\.\d+$/),
});
export type Versions = z.infer<typeof versionsSchema>;

export async function readVersions(modulesDir = controlPlaneModulesDir): Promise<Versions> {
  const file = path.join(modulesDir, 'versions.json');
  const parsed = versionsSchema.safeParse(JSON.parse(await fs.readFile(file, 'utf8')));
  if (!parsed.success) throw new BuildError(`${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, 'inputs');
  return parsed.data;
}

export type ComponentName = 'etcd' | 'kwok' | 'metrics-server' | 'kubernetes';

interface ComponentSpec {
  name: ComponentName;
  /** Directory under sandboxes/controlplane holding its go.mod. */
  module: string;
  version: (v: Versions) => string;
  packages: readonly string[];
  binaries: readonly string[];
  ldflags: (version: string) => string[];
  /** Rough disk needs in bytes for a cold build: Go build cache, module cache, binaries. */
  disk: { buildCache: number; moduleCache: number; output: number };
}

const GiB = 1024 ** 3;

const kubeVersionFlags = (version: string): string[] => {
  const [major, minor] = version.slice(1).split('.');
  const flags: string[] = [];
  // Both packages carry a copy of the version; tools (and kwokctl) parse `--version`.
  for (const pkg of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
    flags.push(`-X ${pkg}.gitVersion=${version}`, `-X ${pkg}.gitMajor=${major ?? ''}`, `-X ${pkg}.gitMinor=${minor ?? ''}`, `-X ${pkg}.gitTreeState=clean`);
  }
  return flags;
};

export const componentSpecs: readonly ComponentSpec[] = [
  {
    name: 'etcd',
    module: 'etcd',
    version: (v) => v.etcd,
    packages: ['.'],
    binaries: ['etcd'],
    ldflags: () => [],
    disk: { buildCache: 0.6 * GiB, moduleCache: 0.3 * GiB, output: 0.05 * GiB },
  },
  {
    name: 'kwok',
    module: 'kwok',
    version: (v) => v.kwok,
    packages: ['sigs.k8s.io/kwok/cmd/kwok'],
    binaries: ['kwok'],
    ldflags: () => [],
    disk: { buildCache: 0.8 * GiB, moduleCache: 0.4 * GiB, output: 0.1 * GiB },
  },
  {
    name: 'metrics-server',
    module: 'metrics-server',
    version: (v) => v.metricsServer,
    packages: ['sigs.k8s.io/metrics-server/cmd/metrics-server'],
    binaries: ['metrics-server'],
    ldflags: (version) => [`-X k8s.io/client-go/pkg/version.gitVersion=${version}`],
    disk: { buildCache: 0.8 * GiB, moduleCache: 0.4 * GiB, output: 0.1 * GiB },
  },
  {
    name: 'kubernetes',
    module: 'kubernetes',
    version: (v) => v.kubernetes,
    packages: ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl'].map((c) => `k8s.io/kubernetes/cmd/${c}`),
    binaries: ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl'],
    ldflags: kubeVersionFlags,
    disk: { buildCache: 5 * GiB, moduleCache: 2.5 * GiB, output: 0.5 * GiB },
  },
];

export interface Binaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kubectl: string;
  kwok: string;
  metricsServer: string;
}

const manifestSchema = z.object({
  component: z.string(),
  version: z.string(),
  key: z.string(),
  goVersion: z.string(),
  builtAt: z.string(),
  buildSeconds: z.number(),
  files: z.array(z.object({ name: z.string(), size: z.number().int().nonnegative(), sha256: z.string() })),
});
export type BuildManifest = z.infer<typeof manifestSchema>;

export type BuildErrorReason = 'no-go' | 'old-go' | 'disk' | 'build-failed' | 'inputs';

const useOwnCluster =
  'Or skip the local build and use a cluster you already have: kubedojo serve --kubeconfig ~/.kube/config (or set KUBECONFIG).';

export class BuildError extends Error {
  readonly reason: BuildErrorReason;
  constructor(message: string, reason: BuildErrorReason) {
    super(message);
    this.name = 'BuildError';
    this.reason = reason;
  }
}

async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A key over everything that decides the binaries: a change to any of them rebuilds. */
export async function buildKey(spec: ComponentSpec, versions: Versions, modulesDir = controlPlaneModulesDir): Promise<string> {
  const hash = createHash('sha256');
  const version = spec.version(versions);
  hash.update(`${spec.name}\0${version}\0${spec.ldflags(version).join(' ')}\0${process.platform}/${process.arch}\0`);
  const dir = path.join(modulesDir, spec.module);
  const names = (await fs.readdir(dir)).filter((n) => n === 'go.mod' || n === 'go.sum' || n.endsWith('.go')).sort();
  for (const name of names) {
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

interface RunResult {
  code: number | null;
  stderrTail: string[];
}

function run(command: string, args: string[], options: { cwd: string; env: Record<string, string>; onLine?: (line: string) => void; stdoutLine?: (line: string) => void }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    child.on('error', reject);
    readline.createInterface({ input: child.stderr }).on('line', (line) => {
      tail.push(line);
      if (tail.length > 40) tail.shift();
      options.onLine?.(line);
    });
    readline.createInterface({ input: child.stdout }).on('line', (line) => options.stdoutLine?.(line));
    child.on('close', (code) => {
      resolve({ code, stderrTail: tail });
    });
  });
}

export interface GoInfo {
  version: string;
  buildCache: string;
  moduleCache: string;
}

const MIN_GO = [1, 26];

/** Finds the Go toolchain and its caches, or says plainly what is missing. */
export async function checkGo(go: string, env: Record<string, string>): Promise<GoInfo> {
  let out = '';
  let result: RunResult;
  try {
    result = await run(go, ['env', 'GOVERSION', 'GOCACHE', 'GOMODCACHE'], { cwd: controlPlaneModulesDir, env, stdoutLine: (l) => (out += `${l}\n`) });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new BuildError(
        `Go ${MIN_GO.join('.')} or newer is needed to build the local Kubernetes control plane, and "${go}" was not found on PATH. ` +
          `Install Go (https://go.dev/dl) or name it with --go / KUBEDOJO_GO. ${useOwnCluster}`,
        'no-go',
      );
    }
    throw error;
  }
  if (result.code !== 0) throw new BuildError(`"${go} env" failed: ${result.stderrTail.join('\n')}`, 'no-go');
  const [version = '', buildCache = '', moduleCache = ''] = out.trim().split('\n');
  const match = /^go(\d+)\.(\d+)/.exec(version);
  const [major, minor] = match ? [Number(match[1]), Number(match[2])] : [0, 0];
  if (major < (MIN_GO[0] ?? 0) || (major === MIN_GO[0] && minor < (MIN_GO[1] ?? 0))) {
    throw new BuildError(
      `Go ${MIN_GO.join('.')} or newer is needed to build the local control plane; "${go}" is ${version || 'of an unknown version'}. ${useOwnCluster}`,
      'old-go',
    );
  }
  return { version, buildCache, moduleCache };
}

async function existingAncestor(dir: string): Promise<string> {
  let current = path.resolve(dir);
  for (;;) {
    try {
      await fs.access(current);
      return current;
    } catch {
      const parent = path.dirname(current);
      if (parent === current) return current;
      current = parent;
    }
  }
}

/** Sums what the build will write per filesystem and compares it with what is free there. */
export async function checkDisk(needs: { dir: string; bytes: number; what: string }[]): Promise<void> {
  const byDevice = new Map<number, { free: number; need: number; dirs: string[] }>();
  for (const need of needs) {
    const dir = await existingAncestor(need.dir);
    const [stat, fsStat] = await Promise.all([fs.stat(dir), fs.statfs(dir)]);
    const entry = byDevice.get(stat.dev) ?? { free: fsStat.bavail * fsStat.bsize, need: 0, dirs: [] };
    entry.need += need.bytes;
    entry.dirs.push(`${need.what} (${need.dir})`);
    byDevice.set(stat.dev, entry);
  }
  for (const entry of byDevice.values()) {
    if (entry.free < entry.need) {
      const gib = (n: number) => `${(n / GiB).toFixed(1)} GiB`;
      throw new BuildError(
        `Not enough disk space to build the local control plane: it needs about ${gib(entry.need)} for ${entry.dirs.join(', ')}, ` +
          `and only ${gib(entry.free)} is free there. Free some space, or move the caches with --cache-dir, GOCACHE and GOMODCACHE. ${useOwnCluster}`,
        'disk',
      );
    }
  }
}

export interface EnsureOptions {
  cacheDir: string;
  go: string;
  env: Readonly<Record<string, string>>;
  progress: Progress;
  logger: Logger;
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
  versions: Versions;
  components: ComponentResult[];
}

/** Returns the cached binaries, building whatever is missing, stale or corrupt. */
export async function ensureControlPlane(options: EnsureOptions): Promise<ControlPlane> {
  const modulesDir = options.modulesDir ?? controlPlaneModulesDir;
  const versions = await readVersions(modulesDir);
  const log = options.logger.child({ component: 'controlplane-build' });
  const plan: { spec: ComponentSpec; dir: string; key: string; check: CacheCheck }[] = [];
  for (const spec of componentSpecs) {
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
  return {
    versions,
    components: results,
    binaries: {
      etcd: path.join(dirOf('etcd'), 'etcd'),
      kwok: path.join(dirOf('kwok'), 'kwok'),
      metricsServer: path.join(dirOf('metrics-server'), 'metrics-server'),
      kubeApiserver: path.join(dirOf('kubernetes'), 'kube-apiserver'),
      kubeControllerManager: path.join(dirOf('kubernetes'), 'kube-controller-manager'),
      kubeScheduler: path.join(dirOf('kubernetes'), 'kube-scheduler'),
      kubectl: path.join(dirOf('kubernetes'), 'kubectl'),
    },
  };
}

async function buildComponent(
  spec: ComponentSpec,
  version: string,
  finalDir: string,
  key: string,
  go: GoInfo,
  options: EnsureOptions,
  modulesDir: string,
  reason: string,
): Promise<number> {
  const started = Date.now();
  const moduleDir = path.join(modulesDir, spec.module);
  const env: Record<string, string> = {
    ...options.env,
    CGO_ENABLED: '0',
    // Read-only modules: the committed go.sum decides every dependency.
    GOFLAGS: [options.env.GOFLAGS ?? '', '-mod=readonly', '-buildvcs=false'].join(' ').trim(),
  };
  const label = `${spec.name} ${version}`;

  const resolve = options.progress.begin(`fetching modules for ${label}`);
  let total = 0;
  const listed = await run(options.go, ['list', '-deps', '-f', '{{.ImportPath}}', ...spec.packages], {
    cwd: moduleDir,
    env,
    stdoutLine: () => {
      total += 1;
    },
    onLine: (line) => {
      if (line.startsWith('go: downloading')) resolve.update(line.slice('go: downloading '.length));
    },
  });
  if (listed.code !== 0) {
    resolve.fail('failed');
    throw new BuildError(`Could not fetch the Go modules for ${label}:\n${listed.stderrTail.join('\n')}\n${useOwnCluster}`, 'build-failed');
  }
  resolve.done(`${total} packages`);

  const tmpDir = `${finalDir}.tmp-${process.pid}`;
  await fs.rm(tmpDir, { recursive: true, force: true });
  await fs.mkdir(tmpDir, { recursive: true });
  const task = options.progress.begin(`building ${label} (${reason})`);
  let compiled = 0;
  const ldflags = ['-s', '-w', ...spec.ldflags(version)].join(' ');
  const out = spec.packages.length === 1 ? path.join(tmpDir, spec.binaries[0] ?? spec.name) : `${tmpDir}${path.sep}`;
  const result = await run(options.go, ['build', '-v', '-trimpath', `-ldflags=${ldflags}`, '-o', out, ...spec.packages], {
    cwd: moduleDir,
    env,
    onLine: (line) => {
      // With -v, go prints each package as it compiles it: that is our progress.
      if (!line.startsWith('go:') && !line.startsWith('#') && !line.startsWith(' ')) {
        compiled += 1;
        task.update(`${Math.min(compiled, total)}/${total} packages`);
      }
    },
  });
  if (result.code !== 0) {
    task.fail(`go build exited with ${result.code}`);
    await fs.rm(tmpDir, { recursive: true, force: true });
    throw new BuildError(`Building ${label} failed:\n${result.stderrTail.join('\n')}\n${useOwnCluster}`, 'build-failed');
  }

  const files: BuildManifest['files'] = [];
  for (const name of spec.binaries) {
    const file = path.join(tmpDir, name);
    const stat = await fs.stat(file);
    files.push({ name, size: stat.size, sha256: await hashFile(file) });
  }
  const buildSeconds = (Date.now() - started) / 1000;
  const manifest: BuildManifest = { component: spec.name, version, key, goVersion: go.version, builtAt: new Date().toISOString(), buildSeconds, files };
  await fs.writeFile(path.join(tmpDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  // Replace any corrupt copy, then move the new one into place in one rename.
  await fs.rm(finalDir, { recursive: true, force: true });
  await fs.rename(tmpDir, finalDir);
  task.done(spec.binaries.join(', '));
  return buildSeconds;
}
