import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Logger } from '../../logger.ts';
import { formatDuration, type Progress } from '../../progress.ts';
import { readVersions } from '../build.ts';
import { packImage } from './oci.ts';
import { baseRecipes, busyboxPackage, debianVersionTag, OFFLINE_IMAGE_REPOSITORIES, pauseSources, type ImageId, type ImagePlan, type OfflineImageId, type Recipe, type RecipeContext } from './recipes.ts';
import { appVersion, toolbox } from './toolbox.ts';
import { pruneOlderBuilds } from './prune.ts';
import { ImageBuildError, removeTree, sha256File, sha256Text } from './tools.ts';

/**
 * Builds the images the real node needs offline (pause, busybox, toolbox) and caches each
 * archive under <cacheDir>/images/ by a key of its inputs, like the control-plane build: a second
 * call builds nothing, a truncated or missing archive is found by its size and rebuilt.
 */

export { OFFLINE_IMAGE_REPOSITORIES, type OfflineImageId } from './recipes.ts';

export interface BuiltImage {
  id: ImageId;
  name: string;
  /** The OCI layout tar, ready for `ctr images import`. */
  archive: string;
  /** The manifest digest, as the runtime reports it once imported. */
  digest: string;
  /** Bytes of the archive. */
  size: number;
  source: string;
  /** Built by this call (false: taken from the cache). */
  built: boolean;
  builtAt: string;
  buildSeconds: number;
}

export interface EnsureImagesOptions {
  cacheDir: string;
  env: Readonly<Record<string, string>>;
  go: string;
  /** The platform's kubectl: `ensureControlPlane()`'s `binaries.kubectl`. */
  kubectl: string;
  progress: Progress;
  logger: Logger;
  /** Rebuild even when cached. */
  force?: boolean;
  /** Check archives against their recorded sha256, not only their size. */
  deep?: boolean;
  /** Only these images (default: all three). */
  only?: readonly OfflineImageId[];
}

const recipes: readonly Recipe[] = [baseRecipes.pause, baseRecipes.busybox, toolbox];
/** Bump when the packer's output changes for the same inputs. */
const PACKER_VERSION = '1';
const ARCHIVE = 'image.tar';
const GiB = 1024 ** 3;

const manifestSchema = z.object({
  id: z.enum(['pause', 'busybox', 'toolbox', 'app', 'postgres']),
  name: z.string().min(1),
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  size: z.number().int().positive(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  source: z.string(),
  key: z.string(),
  inputs: z.record(z.string(), z.string()),
  builtAt: z.string(),
  buildSeconds: z.number().nonnegative(),
});
export type ImageManifest = z.infer<typeof manifestSchema>;

export const imagesCacheDir = (cacheDir: string) => path.join(cacheDir, 'images');

export function imageKey(plan: ImagePlan): string {
  const inputs = Object.entries(plan.inputs).sort(([a], [b]) => (a < b ? -1 : 1));
  return sha256Text(JSON.stringify([plan.id, plan.name, PACKER_VERSION, process.arch, inputs])).slice(0, 12);
}

export type ImageCacheCheck = { ok: true; manifest: ImageManifest } | { ok: false; reason: string };

/** Cheap enough for every start: the manifest parses and the archive has its recorded size. */
export async function checkCachedImage(dir: string, deep = false): Promise<ImageCacheCheck> {
  let manifest: ImageManifest;
  try {
    const parsed = manifestSchema.safeParse(JSON.parse(await fs.readFile(path.join(dir, 'manifest.json'), 'utf8')));
    if (!parsed.success) return { ok: false, reason: 'its manifest.json is malformed' };
    manifest = parsed.data;
  } catch (error) {
    return { ok: false, reason: (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not built yet' : 'its manifest.json is unreadable' };
  }
  const archive = path.join(dir, ARCHIVE);
  let size: number;
  try {
    size = (await fs.stat(archive)).size;
  } catch {
    return { ok: false, reason: `${ARCHIVE} is missing` };
  }
  if (size !== manifest.size) return { ok: false, reason: `${ARCHIVE} is corrupt (${size} bytes, expected ${manifest.size})` };
  if (deep && (await sha256File(archive)) !== manifest.sha256) return { ok: false, reason: `${ARCHIVE} is corrupt (checksum differs)` };
  return { ok: true, manifest };
}

const toBuilt = (dir: string, m: ImageManifest, built: boolean): BuiltImage => ({
  id: m.id,
  name: m.name,
  archive: path.join(dir, ARCHIVE),
  digest: m.digest,
  size: m.size,
  source: m.source,
  built,
  builtAt: m.builtAt,
  buildSeconds: m.buildSeconds,
});

async function checkFreeSpace(dir: string, bytes: number, what: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  const stat = await fs.statfs(dir);
  const free = stat.bavail * stat.bsize;
  if (free < bytes) {
    throw new ImageBuildError(`Not enough disk space to build ${what}: it needs about ${(bytes / GiB).toFixed(1)} GiB in ${dir} and ${(free / GiB).toFixed(1)} GiB is free. Free some space or move the cache with --cache-dir.`);
  }
}

async function buildImage(recipe: Recipe, ctx: RecipeContext, plan: ImagePlan, key: string, dir: string, reason: string, options: Omit<EnsureImagesOptions, 'only'>): Promise<BuiltImage> {
  const started = Date.now();
  const task = options.progress.begin(`building image ${plan.name} (${reason})`);
  const workDir = `${dir}.tmp-${process.pid}`;
  try {
    await removeTree(workDir);
    await fs.mkdir(workDir, { recursive: true });
    const made = await recipe.build(ctx, plan, workDir, task);
    task.update('packing the OCI archive');
    const source = made.source ?? plan.source;
    const packed = await packImage({
      name: plan.name,
      rootfs: { dir: made.rootfs },
      config: made.config,
      output: path.join(workDir, ARCHIVE),
      mtime: made.mtime,
      ownership: made.ownership,
      createdBy: `kubedojo images: ${source}`,
    });
    await removeTree(made.rootfs);
    const buildSeconds = (Date.now() - started) / 1000;
    const manifest: ImageManifest = {
      id: plan.id,
      name: plan.name,
      digest: packed.digest,
      size: packed.size,
      sha256: await sha256File(packed.archive),
      source,
      key,
      inputs: plan.inputs,
      builtAt: new Date().toISOString(),
      buildSeconds,
    };
    await fs.writeFile(path.join(workDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    // Replace any corrupt copy, then move the new one into place in one rename.
    await removeTree(dir);
    await fs.rename(workDir, dir);
    task.done(`${(packed.size / 1024 ** 2).toFixed(1)} MiB, ${packed.digest.slice(0, 19)}`);
    return toBuilt(dir, manifest, true);
  } catch (error) {
    task.fail(error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error));
    await removeTree(workDir).catch(() => undefined);
    throw error;
  }
}

/** One image from its recipe: the cached archive, or a new build when it is missing, stale or corrupt. */
export async function ensureImage(recipe: Recipe, ctx: RecipeContext, options: Omit<EnsureImagesOptions, 'only'>): Promise<BuiltImage> {
  const plan = await recipe.plan(ctx);
  const key = imageKey(plan);
  const dir = path.join(imagesCacheDir(options.cacheDir), `${plan.id}-${plan.tag}-${key}`);
  const check: ImageCacheCheck = options.force ? { ok: false, reason: 'a rebuild was asked for' } : await checkCachedImage(dir, options.deep);
  if (check.ok) return toBuilt(dir, check.manifest, false);
  if (recipe.id !== 'pause' && recipe.id !== 'busybox') await checkFreeSpace(imagesCacheDir(options.cacheDir), 2 * GiB, `the ${recipe.id} image`);
  ctx.logger.info({ image: plan.name, reason: check.reason }, `building ${plan.name}: ${check.reason}`);
  const image = await buildImage(recipe, ctx, plan, key, dir, check.reason, options);
  ctx.logger.info({ image: image.name, digest: image.digest, size: image.size, seconds: image.buildSeconds }, `built ${image.name} in ${formatDuration(image.buildSeconds * 1000)}`);
  const pruned = await pruneOlderBuilds(imagesCacheDir(options.cacheDir), plan.id, dir).catch((error: unknown) => {
    ctx.logger.warn({ err: error, image: plan.id }, 'could not remove older builds of the image from the cache');
    return undefined;
  });
  if (pruned && pruned.removed.length > 0) ctx.logger.info({ image: plan.id, removed: pruned.removed, bytes: pruned.bytes }, `removed ${pruned.removed.length} older build(s) of the ${plan.id} image from the cache (${(pruned.bytes / 1024 ** 2).toFixed(0)} MiB)`);
  return image;
}

/** Returns the three offline images, building whatever is missing, stale or corrupt. */
export async function ensureOfflineImages(options: EnsureImagesOptions): Promise<BuiltImage[]> {
  const ctx: RecipeContext = { env: options.env, go: options.go, kubectl: options.kubectl, logger: options.logger.child({ component: 'images' }) };
  const results: BuiltImage[] = [];
  for (const recipe of recipes) {
    if (options.only && !options.only.some((id) => id === recipe.id)) continue;
    results.push(await ensureImage(recipe, ctx, options));
  }
  return results;
}

/**
 * The names the offline images have (or will have) without building them: the pause name for
 * containerd's sandbox_image, the toolbox name for the pod terminal backend. Needs Go (the
 * pinned Kubernetes sources, usually already in the module cache) and dpkg.
 */
export async function offlineImageNames(options: { env: Readonly<Record<string, string>>; go: string; logger: Logger }): Promise<Record<OfflineImageId, string>> {
  const ctx: RecipeContext = { env: options.env, go: options.go, kubectl: '', logger: options.logger };
  const { kubernetes } = await readVersions();
  const [{ tag }, { version }, app] = await Promise.all([pauseSources(ctx, kubernetes), busyboxPackage(options.env), appVersion()]);
  return {
    pause: `${OFFLINE_IMAGE_REPOSITORIES.pause}:${tag}`,
    busybox: `${OFFLINE_IMAGE_REPOSITORIES.busybox}:${debianVersionTag(version)}`,
    toolbox: `${OFFLINE_IMAGE_REPOSITORIES.toolbox}:${app}`,
  };
}

/** Every complete image in the cache (any version), for `kubedojo images list`; builds nothing. */
export async function listBuiltImages(cacheDir: string): Promise<BuiltImage[]> {
  const root = imagesCacheDir(cacheDir);
  let names: string[];
  try {
    names = await fs.readdir(root);
  } catch {
    return [];
  }
  const images: BuiltImage[] = [];
  for (const name of names.sort()) {
    if (name.includes('.tmp-')) continue;
    const dir = path.join(root, name);
    const check = await checkCachedImage(dir);
    if (check.ok) images.push(toBuilt(dir, check.manifest, false));
  }
  return images;
}
