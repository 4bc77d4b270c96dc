import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import type { Logger } from '../../logger.ts';
import type { ProgressTask } from '../../progress.ts';
import { readVersions } from '../build.ts';
import type { ImageConfig, PackOptions } from './oci.ts';
import { ImageBuildError, runToolOk, sha256File } from './tools.ts';

/**
 * How each offline image is made. `plan` is cheap (versions and input hashes, no building) and
 * decides the name and the cache key; `build` makes the root file system the packer turns into
 * the image. Images carry the project's own names (kubedojo.dev/…), never an upstream name.
 */

export type OfflineImageId = 'pause' | 'busybox' | 'toolbox';
/** Images of kubedojo itself on a cluster (deploy/helm): built on demand, never by `cluster up`. */
export type DeployImageId = 'app' | 'postgres';
export type ImageId = OfflineImageId | DeployImageId;

export const OFFLINE_IMAGE_REPOSITORIES: Readonly<Record<OfflineImageId, string>> = {
  pause: 'kubedojo.dev/pause',
  busybox: 'kubedojo.dev/busybox',
  toolbox: 'kubedojo.dev/toolbox',
};

export interface RecipeContext {
  env: Readonly<Record<string, string>>;
  go: string;
  /** The platform's kubectl (the toolbox carries it). */
  kubectl: string;
  logger: Logger;
}

export interface ImagePlan {
  id: ImageId;
  name: string;
  tag: string;
  /** Everything that decides the image's bytes; hashed into the cache key. */
  inputs: Record<string, string>;
  /** Where the image comes from, in words (shown by `kubedojo images list`). */
  source: string;
}

export interface RootfsBuild {
  rootfs: string;
  config: ImageConfig;
  mtime: NonNullable<PackOptions['mtime']>;
  ownership: NonNullable<PackOptions['ownership']>;
  /** The source text, when building learned more than planning knew (the Debian mirror's date). */
  source?: string;
}

export interface Recipe {
  id: ImageId;
  plan(ctx: RecipeContext): Promise<ImagePlan>;
  build(ctx: RecipeContext, plan: ImagePlan, workDir: string, task: ProgressTask): Promise<RootfsBuild>;
}

/** Bump when a recipe changes what it builds: the cached image is then rebuilt. */
const RECIPE_VERSION = '1';

/** ko and Bazel date their images 1970-01-01 too: a time that never changes keeps the digest. */
const FIXED_MTIME = { epoch: 0, clamp: false };

const labels = (title: string, version: string, description: string): Record<string, string> => ({
  'org.opencontainers.image.title': title,
  'org.opencontainers.image.version': version,
  'org.opencontainers.image.description': description,
  'org.opencontainers.image.vendor': 'kubedojo (built locally)',
});

const goModSchema = z.object({ Dir: z.string().min(1), Version: z.string() });

// --- pause -----------------------------------------------------------------------------------

/** Where Go keeps downloaded modules, as `go env GOMODCACHE` would say without running Go. */
function moduleCacheOf(env: Readonly<Record<string, string>>): string {
  if (env.GOMODCACHE) return env.GOMODCACHE;
  const gopath = (env.GOPATH ?? '').split(path.delimiter).find((p) => p !== '') ?? path.join(env.HOME ?? os.homedir(), 'go');
  return path.join(gopath, 'pkg', 'mod');
}

export async function pauseSources(ctx: RecipeContext, kubernetes: string): Promise<{ dir: string; tag: string }> {
  // Usually already there (the control plane was built from it): then Go is not needed at all.
  const cached = path.join(moduleCacheOf(ctx.env), `k8s.io/kubernetes@${kubernetes}`, 'build', 'pause');
  const found = await fs.readFile(path.join(cached, 'Makefile'), 'utf8').then(
    (makefile) => ({ dir: cached, makefile }),
    () => undefined,
  );
  if (found) return pauseTag(found.dir, found.makefile);
  // Outside any module, so the download never touches the project's go.mod or go.sum.
  const out = await runToolOk(ctx.go, ['mod', 'download', '-json', `k8s.io/kubernetes@${kubernetes}`], `finding k8s.io/kubernetes ${kubernetes} in the Go module cache`, {
    cwd: os.tmpdir(),
    env: { ...ctx.env, GOFLAGS: '' },
    installHint: 'Go is needed to fetch the pause sources (the toolchain that builds the control plane); name it with --go',
  });
  const parsed = goModSchema.safeParse(JSON.parse(out));
  if (!parsed.success) throw new ImageBuildError(`go mod download -json k8s.io/kubernetes@${kubernetes} gave no module directory`);
  const dir = path.join(parsed.data.Dir, 'build', 'pause');
  return pauseTag(dir, await fs.readFile(path.join(dir, 'Makefile'), 'utf8'));
}

function pauseTag(dir: string, makefile: string): { dir: string; tag: string } {
  const tag = /^TAG \?= (\S+)\s*$/m.exec(makefile)?.[1];
  if (!tag) throw new ImageBuildError(`${dir}/Makefile declares no "TAG ?=": cannot tell the pause version`);
  return { dir, tag };
}

const pause: Recipe = {
  id: 'pause',
  async plan(ctx) {
    const { kubernetes } = await readVersions();
    const { dir, tag } = await pauseSources(ctx, kubernetes);
    const hint = { installHint: 'install gcc and the static C library (apt-get install gcc libc6-dev)', env: ctx.env };
    const gccVersion = (await runToolOk('gcc', ['-dumpfullversion'], 'asking gcc its version', hint)).trim();
    const libc = (await runToolOk('gcc', ['-print-file-name=libc.a'], 'finding libc.a', hint)).trim();
    if (!path.isAbsolute(libc)) throw new ImageBuildError('the static C library (libc.a) is missing: apt-get install libc6-dev');
    return {
      id: 'pause',
      name: `${OFFLINE_IMAGE_REPOSITORIES.pause}:${tag}`,
      tag,
      inputs: {
        recipe: RECIPE_VERSION,
        kubernetes,
        pauseC: await sha256File(path.join(dir, 'linux', 'pause.c')),
        gcc: gccVersion,
        libc: await sha256File(libc),
      },
      source: `pause.c from k8s.io/kubernetes ${kubernetes} (build/pause, version ${tag}), gcc ${gccVersion} -Os -static`,
    };
  },
  async build(ctx, plan, workDir, task) {
    const kubernetes = plan.inputs.kubernetes ?? '';
    const { dir } = await pauseSources(ctx, kubernetes);
    const rootfs = path.join(workDir, 'rootfs');
    await fs.mkdir(rootfs, { recursive: true });
    task.update('gcc -Os -static pause.c');
    // The flags of build/pause/Makefile (CFLAGS), stripped as its build strips; VERSION as `pause -v` prints it.
    await runToolOk(
      'gcc',
      ['-Os', '-Wall', '-Werror', '-static', '-s', `-DVERSION=v${plan.tag}-${kubernetes}`, '-o', path.join(rootfs, 'pause'), path.join(dir, 'linux', 'pause.c')],
      'compiling pause.c',
      { env: ctx.env, cwd: workDir, installHint: 'install gcc and libc6-dev' },
    );
    await fs.chmod(path.join(rootfs, 'pause'), 0o755);
    return {
      rootfs,
      // As upstream's Dockerfile: the pause process needs no privilege at all.
      config: { entrypoint: ['/pause'], user: '65535:65535', labels: labels('kubedojo pause', plan.tag, plan.source) },
      mtime: FIXED_MTIME,
      ownership: 'root',
    };
  },
};

// --- busybox ---------------------------------------------------------------------------------

/**
 * The upstream version as the tag (1:1.35.0-4+deb12u1+b1 → 1.35.0), short enough for a lesson to
 * print: Debian's epoch and revision go, characters a tag may not hold become "-". A new Debian
 * revision keeps the name and changes the digest, which `cluster up` loads anew.
 */
export const debianVersionTag = (version: string) =>
  version
    .replace(/^\d+:/, '')
    .replace(/-[^-]*$/, '')
    .replace(/[^\w.-]/g, '-');

export async function busyboxPackage(env: Readonly<Record<string, string>>): Promise<{ version: string; binary: string }> {
  const hint = { env, installHint: "it comes with Debian's dpkg" };
  let version: string;
  let files: string;
  try {
    version = (await runToolOk('dpkg-query', ['-W', '-f=${Version}', 'busybox-static'], 'asking dpkg for busybox-static', hint)).trim();
    files = await runToolOk('dpkg-query', ['-L', 'busybox-static'], 'listing busybox-static', hint);
  } catch (error) {
    throw new ImageBuildError(`Debian's busybox-static package is needed for the busybox image (apt-get install busybox-static): ${(error as Error).message}`);
  }
  const binary = files.split('\n').find((line) => /\/bin\/busybox$/.test(line.trim()));
  if (!version || !binary) throw new ImageBuildError('busybox-static is not installed (apt-get install busybox-static)');
  return { version, binary: binary.trim() };
}

const busybox: Recipe = {
  id: 'busybox',
  async plan(ctx) {
    const { version, binary } = await busyboxPackage(ctx.env);
    const tag = debianVersionTag(version);
    return {
      id: 'busybox',
      name: `${OFFLINE_IMAGE_REPOSITORIES.busybox}:${tag}`,
      tag,
      inputs: { recipe: RECIPE_VERSION, package: version, binary: await sha256File(binary) },
      source: `Debian busybox-static ${version} (${binary})`,
    };
  },
  async build(ctx, plan, workDir, task) {
    const { binary } = await busyboxPackage(ctx.env);
    const rootfs = path.join(workDir, 'rootfs');
    const at = (rel: string) => path.join(rootfs, rel);
    for (const dir of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'root', 'home', 'var/www', 'tmp']) await fs.mkdir(at(dir), { recursive: true });
    await fs.copyFile(binary, at('bin/busybox'));
    await fs.chmod(at('bin/busybox'), 0o755);
    const applets = (await runToolOk(binary, ['--list-full'], 'listing busybox applets', { env: ctx.env })).split('\n').map((l) => l.trim()).filter(Boolean);
    task.update(`${applets.length} applet links`);
    for (const applet of applets) {
      if (applet === 'bin/busybox' || applet.includes('..')) continue;
      await fs.mkdir(path.dirname(at(applet)), { recursive: true });
      await fs.symlink('/bin/busybox', at(applet));
    }
    await fs.writeFile(at('etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
    await fs.writeFile(at('etc/group'), 'root:x:0:\nnobody:x:65534:\n');
    // kubelet mounts its own; this one serves `ctr run` and plain runtimes.
    await fs.writeFile(at('etc/hosts'), '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n');
    await fs.chmod(at('tmp'), 0o1777);
    await fs.chmod(at('root'), 0o700);
    for (const file of ['etc/passwd', 'etc/group', 'etc/hosts']) await fs.chmod(at(file), 0o644);
    for (const dir of ['bin', 'sbin', 'usr', 'usr/bin', 'usr/sbin', 'etc', 'home', 'var', 'var/www']) await fs.chmod(at(dir), 0o755);
    return {
      rootfs,
      config: {
        cmd: ['sh'],
        env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
        labels: labels('kubedojo busybox', plan.tag, plan.source),
      },
      mtime: FIXED_MTIME,
      ownership: 'root',
      source: `${plan.source} with links for its ${applets.length} applets`,
    };
  },
};

export const baseRecipes = { pause, busybox } as const;
