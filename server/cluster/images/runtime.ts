import net from 'node:net';
import { AppError, Unavailable } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { nodeDirs } from '../paths.ts';
import { inspectArchive } from './archive.ts';
import { ImageBuildError, runTool } from './tools.ts';

/**
 * The container runtime's side of images: what containerd holds in the CRI's namespace, and
 * loading archives into it with Debian's `ctr`. Every call names the socket; nothing here
 * assumes the system's /run/containerd.
 */

export interface Runtime {
  /** The ctr binary (Debian's /usr/bin/ctr). */
  ctr: string;
  /** containerd's socket. */
  address: string;
}

/** The CRI plugin (and so kubelet) sees only this namespace. */
export const CRI_NAMESPACE = 'k8s.io';
export const DEBIAN_CTR = '/usr/bin/ctr';

/** The embedded cluster's runtime under a data directory. */
export function embeddedRuntime(dataDir: string, ctr = DEBIAN_CTR): Runtime {
  return { ctr, address: nodeDirs(dataDir).containerdSocket };
}

/** containerd answered, but refused or failed the operation; the message quotes ctr. */
export class RuntimeError extends AppError {
  readonly status = 502;
  readonly code = 'runtime_failed';
}

export interface RuntimeImage {
  name: string;
  digest: string;
  /** Bytes, from ctr's rounded figure (e.g. "771.2 KiB"). */
  size: number;
  platforms: string;
}

export interface ImportedImage {
  name: string;
  digest: string;
}

const notRunning = (rt: Runtime, why: string) =>
  new Unavailable(`containerd is not running at ${rt.address} (${why}): run "kubedojo cluster up" to start the real node`, { address: rt.address });

/** Connects to the socket first: ctr itself would wait for its whole connect timeout. */
async function probe(rt: Runtime): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const socket = net.createConnection(rt.address);
    socket.setTimeout(2000);
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(notRunning(rt, 'no answer within 2 s'));
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      const why =
        error.code === 'ENOENT' ? 'no socket there' : error.code === 'ECONNREFUSED' ? 'nothing listens on the socket' : error.code === 'EACCES' ? 'permission denied: the runtime needs root' : (error.code ?? error.message);
      reject(notRunning(rt, why));
    });
  });
}

export async function runtimeAvailable(rt: Runtime): Promise<boolean> {
  try {
    await probe(rt);
    return true;
  } catch {
    return false;
  }
}

async function ctr(rt: Runtime, args: string[], what: string): Promise<string> {
  let result;
  try {
    result = await runTool(rt.ctr, ['--address', rt.address, '--namespace', CRI_NAMESPACE, '--connect-timeout', '5s', ...args], {
      installHint: "Debian's containerd package provides it (apt-get install containerd)",
    });
  } catch (error) {
    if (error instanceof ImageBuildError) throw new Unavailable(error.message, { address: rt.address });
    throw error;
  }
  if (result.code !== 0) {
    const text = result.stderrTail.join('\n');
    if (/failed to dial|connection refused|no such file or directory.*sock|deadline exceeded|transport: error while dialing/i.test(text)) throw notRunning(rt, text.split('\n')[0] ?? 'ctr could not connect');
    throw new RuntimeError(`${what} failed: ${text || `ctr exited with ${result.code ?? 'a signal'}`}`, { address: rt.address });
  }
  return result.stdout;
}

const UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4, kB: 1000, MB: 1000 ** 2, GB: 1000 ** 3 };
// REF TYPE DIGEST SIZE PLATFORMS LABELS; SIZE is "771.2 KiB", with a space.
const ROW = /^(\S+)\s+(\S+)\s+(sha256:[0-9a-f]{64})\s+([\d.]+)\s*([A-Za-z]+)\s+(\S+)/;

/** The named images in the CRI's namespace, with their manifest digests. */
export async function listRuntimeImages(rt: Runtime): Promise<RuntimeImage[]> {
  await probe(rt);
  const out = await ctr(rt, ['images', 'ls'], 'listing the runtime images');
  const images: RuntimeImage[] = [];
  for (const line of out.split('\n').slice(1)) {
    const m = ROW.exec(line);
    if (!m) continue;
    const [, name = '', , digest = '', amount = '0', unit = 'B', platforms = ''] = m;
    // The CRI also names each image by its config digest: an ID, not a name.
    if (name.startsWith('sha256:')) continue;
    images.push({ name, digest, size: Math.round(Number(amount) * (UNITS[unit] ?? 1)), platforms });
  }
  return images;
}

/** Docker's short names, as containerd stores them: nginx:1 is docker.io/library/nginx:1. */
export function normalizeImageName(name: string): string {
  const slash = name.indexOf('/');
  const first = slash === -1 ? '' : name.slice(0, slash);
  const hasDomain = first.includes('.') || first.includes(':') || first === 'localhost';
  let full = hasDomain ? name : `docker.io/${slash === -1 ? 'library/' : ''}${name}`;
  const lastPart = full.slice(full.lastIndexOf('/') + 1);
  if (!lastPart.includes(':') && !full.includes('@')) full += ':latest';
  return full;
}

const find = (images: RuntimeImage[], name: string) => images.find((i) => i.name === name) ?? images.find((i) => i.name === normalizeImageName(name));

/**
 * Validates an OCI or docker-save archive (a clear InvalidArchive naming the file otherwise),
 * loads it into the CRI's namespace and returns each image's name and digest as the runtime has them.
 */
export async function importArchive(rt: Runtime, file: string, logger?: Logger): Promise<ImportedImage[]> {
  const info = await inspectArchive(file);
  await probe(rt);
  const started = Date.now();
  await ctr(rt, ['images', 'import', file], `importing ${file}`);
  const present = await listRuntimeImages(rt);
  const imported = info.images.map((image) => {
    const found = find(present, image.name);
    if (!found) throw new RuntimeError(`ctr imported ${file} but ${image.name} is not in the runtime afterwards`, { file });
    return { name: found.name, digest: found.digest };
  });
  logger?.child({ component: 'images' }).info({ file, images: imported, ms: Date.now() - started }, `imported ${imported.map((i) => i.name).join(', ')}`);
  return imported;
}

export interface EnsureImportedResult {
  imported: ImportedImage[];
  present: ImportedImage[];
  ms: number;
}

/**
 * Imports each image the runtime lacks, or holds under another digest (a rebuilt image); one
 * listing and nothing else when all are there, since it runs at every `cluster up`.
 */
export async function ensureImported(rt: Runtime, images: readonly { name: string; digest: string; archive: string }[], logger?: Logger): Promise<EnsureImportedResult> {
  const started = Date.now();
  const have = await listRuntimeImages(rt);
  const result: EnsureImportedResult = { imported: [], present: [], ms: 0 };
  for (const image of images) {
    const found = find(have, image.name);
    if (found?.digest === image.digest) {
      result.present.push({ name: found.name, digest: found.digest });
      continue;
    }
    logger?.child({ component: 'images' }).info({ image: image.name, had: found?.digest ?? null }, `loading ${image.name} into the runtime`);
    result.imported.push(...(await importArchive(rt, image.archive, logger)));
  }
  result.ms = Date.now() - started;
  return result;
}
