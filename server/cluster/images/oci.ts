import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream, type Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { pack, type Header, type Pack } from 'tar-stream';
import { Invalid } from '../../errors.ts';

type TarHeader = Partial<Header> & { name: string };

/**
 * Packs a root file system (a directory, or a layer tar already made) and an image config into
 * an OCI image layout tar that `ctr images import` (and `docker load`) accept: oci-layout,
 * index.json naming the image, and blobs/sha256/ with the config, the manifest and one gzip
 * layer. The same inputs give the same bytes, so the same digest: entries sorted, one mtime
 * policy, no atime/ctime, no user names, gzip without a timestamp.
 */

export const MEDIA_TYPES = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

export const ANNOTATION_IMAGE_NAME = 'io.containerd.image.name';
export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';

/** What the image runs with: the fields of the OCI config the builders need. */
export interface ImageConfig {
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  user?: string;
  workingDir?: string;
  /** "80/tcp", "53/udp"; a bare number means tcp. */
  exposedPorts?: string[];
  labels?: Record<string, string>;
}

export interface PackOptions {
  /** The full name, e.g. kubedojo.dev/pause:3.10.2. */
  name: string;
  rootfs: { dir: string } | { tar: string };
  config: ImageConfig;
  /** Where the archive goes (written beside it first, then renamed). */
  output: string;
  /**
   * Seconds since the epoch for every entry (`clamp: false`) or as an upper bound (`clamp: true`,
   * like tar --clamp-mtime: files older keep their time, so Python's .pyc files stay valid).
   * It is also the image's `created` time.
   */
  mtime?: { epoch: number; clamp: boolean };
  /** 'root' writes uid/gid 0 for every entry; 'keep' the numeric owners the directory has. */
  ownership?: 'root' | 'keep';
  /** One line for the image history, e.g. how it was made. */
  createdBy?: string;
}

export interface PackedImage {
  name: string;
  tag: string;
  archive: string;
  /** The manifest's digest: what the runtime reports as the image's digest. */
  digest: string;
  /** Bytes of the archive. */
  size: number;
  configDigest: string;
  layerDigest: string;
  diffId: string;
  layerSize: number;
}

const REFERENCE = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*:[\w][\w.-]{0,127}$/;

/** Splits "registry/repo:tag"; refuses anything that is not a full name with a tag. */
export function splitReference(name: string): { repository: string; tag: string } {
  if (!REFERENCE.test(name)) throw new Invalid(`"${name}" is not an image name with a tag (such as kubedojo.dev/busybox:1.35.0)`);
  const at = name.lastIndexOf(':');
  return { repository: name.slice(0, at), tag: name.slice(at + 1) };
}

export function ociArchitecture(arch: string = process.arch): string {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return map[arch] ?? arch;
}

const DEFAULT_MTIME = { epoch: 0, clamp: false };

/** Counts bytes and hashes what flows through. */
function meter(hash: Hash, count: { bytes: number }): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      count.bytes += chunk.length;
      callback(null, chunk);
    },
  });
}

function entryType(stat: Stats): TarHeader['type'] | undefined {
  if (stat.isDirectory()) return 'directory';
  if (stat.isFile()) return 'file';
  if (stat.isSymbolicLink()) return 'symlink';
  if (stat.isCharacterDevice()) return 'character-device';
  if (stat.isBlockDevice()) return 'block-device';
  if (stat.isFIFO()) return 'fifo';
  return undefined; // sockets cannot be archived; nothing in an image needs one
}

// Linux's encoding of dev_t (glibc's major()/minor()).
const major = (rdev: number) => Number(((BigInt(rdev) >> 8n) & 0xfffn) | ((BigInt(rdev) >> 32n) & ~0xfffn));
const minor = (rdev: number) => Number((BigInt(rdev) & 0xffn) | ((BigInt(rdev) >> 12n) & ~0xffn));

/** Every path under `root`, depth first, names sorted by their bytes, so the order never depends on the file system. */
async function* walk(root: string, rel = ''): AsyncGenerator<{ rel: string; abs: string; stat: Stats }> {
  const dir = path.join(root, rel);
  const names = (await fs.readdir(dir)).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  for (const name of names) {
    const childRel = rel ? `${rel}/${name}` : name;
    const abs = path.join(dir, name);
    const stat = await fs.lstat(abs);
    yield { rel: childRel, abs, stat };
    if (stat.isDirectory()) yield* walk(root, childRel);
  }
}

function addEntry(tarball: Pack, header: TarHeader, body?: Readable | Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error | null) => {
      if (error) reject(error);
      else resolve();
    };
    if (body === undefined || Buffer.isBuffer(body)) {
      tarball.entry(header, body ?? Buffer.alloc(0), done);
      return;
    }
    const sink = tarball.entry(header, done);
    body.on('error', (error) => {
      sink.destroy(error);
    });
    body.pipe(sink);
  });
}

async function writeDirectoryLayer(tarball: Pack, root: string, mtime: { epoch: number; clamp: boolean }, ownership: 'root' | 'keep'): Promise<void> {
  const hardLinks = new Map<string, string>();
  for await (const { rel, abs, stat } of walk(root)) {
    const type = entryType(stat);
    if (!type) continue;
    const seconds = mtime.clamp ? Math.min(Math.floor(stat.mtimeMs / 1000), mtime.epoch) : mtime.epoch;
    const header: TarHeader = {
      name: type === 'directory' ? `${rel}/` : rel,
      mode: stat.mode & 0o7777,
      uid: ownership === 'keep' ? stat.uid : 0,
      gid: ownership === 'keep' ? stat.gid : 0,
      mtime: new Date(seconds * 1000),
      type,
      size: 0,
    };
    if (type !== 'directory' && stat.nlink > 1) {
      const key = `${stat.dev}:${stat.ino}`;
      const first = hardLinks.get(key);
      if (first !== undefined) {
        await addEntry(tarball, { ...header, type: 'link', linkname: first });
        continue;
      }
      hardLinks.set(key, rel);
    }
    if (type === 'symlink') header.linkname = await fs.readlink(abs);
    if (type === 'character-device' || type === 'block-device') {
      header.devmajor = major(stat.rdev);
      header.devminor = minor(stat.rdev);
    }
    if (type === 'file') {
      header.size = stat.size;
      await addEntry(tarball, header, createReadStream(abs));
    } else {
      await addEntry(tarball, header);
    }
  }
}

interface Blob {
  digest: string;
  size: number;
  file?: string;
  data?: Buffer;
}

const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const jsonBlob = (value: unknown): Blob => {
  const data = Buffer.from(JSON.stringify(value));
  return { digest: sha256(data), size: data.length, data };
};

/** Writes the gzip layer to `file`, returning the digests of the gzip (blob) and of the tar (diff id). */
async function writeLayer(options: PackOptions, file: string): Promise<{ blob: Blob; diffId: string }> {
  const tarHash = createHash('sha256');
  const gzHash = createHash('sha256');
  const tarCount = { bytes: 0 };
  const gzCount = { bytes: 0 };
  // Node's gzip writes MTIME 0 and a fixed OS byte: the same tar always gives the same gzip.
  const gzip = zlib.createGzip({ level: 6 });
  const sink = createWriteStream(file);
  if ('dir' in options.rootfs) {
    const tarball = pack();
    const written = pipeline(tarball, meter(tarHash, tarCount), gzip, meter(gzHash, gzCount), sink);
    try {
      await writeDirectoryLayer(tarball, options.rootfs.dir, options.mtime ?? DEFAULT_MTIME, options.ownership ?? 'root');
      tarball.finalize();
    } catch (error) {
      tarball.destroy(error as Error);
      await written.catch(() => undefined);
      throw error;
    }
    await written;
  } else {
    const source = options.rootfs.tar;
    const head = Buffer.alloc(2);
    const handle = await fs.open(source, 'r');
    try {
      await handle.read(head, 0, 2, 0);
    } finally {
      await handle.close();
    }
    const gzipped = head[0] === 0x1f && head[1] === 0x8b;
    const stages = gzipped ? [createReadStream(source), zlib.createGunzip()] : [createReadStream(source)];
    await pipeline([...stages, meter(tarHash, tarCount), gzip, meter(gzHash, gzCount), sink]);
  }
  return { blob: { digest: `sha256:${gzHash.digest('hex')}`, size: gzCount.bytes, file }, diffId: `sha256:${tarHash.digest('hex')}` };
}

function configJson(options: PackOptions, diffId: string, created: string): unknown {
  const c = options.config;
  const sorted = (record: Record<string, string>) => Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const ports = c.exposedPorts?.map((p) => (p.includes('/') ? p : `${p}/tcp`)).sort();
  // Only fields that are set: an empty Cmd and a missing one mean different things to runtimes.
  const config: Record<string, unknown> = {};
  if (c.user !== undefined) config.User = c.user;
  if (ports?.length) config.ExposedPorts = Object.fromEntries(ports.map((p) => [p, {}]));
  if (c.env?.length) config.Env = c.env;
  if (c.entrypoint) config.Entrypoint = c.entrypoint;
  if (c.cmd) config.Cmd = c.cmd;
  if (c.workingDir !== undefined) config.WorkingDir = c.workingDir;
  if (c.labels && Object.keys(c.labels).length > 0) config.Labels = sorted(c.labels);
  return {
    created,
    architecture: ociArchitecture(),
    os: 'linux',
    config,
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created, created_by: options.createdBy ?? 'kubedojo images' }],
  };
}

async function writeArchive(output: string, blobs: Blob[], index: unknown, epoch: number): Promise<void> {
  const tarball = pack();
  const sink = createWriteStream(output);
  const written = pipeline(tarball, sink);
  const header = (name: string, type: 'file' | 'directory', size = 0): TarHeader => ({
    name,
    type,
    size,
    mode: type === 'directory' ? 0o755 : 0o644,
    uid: 0,
    gid: 0,
    mtime: new Date(epoch * 1000),
  });
  try {
    await addEntry(tarball, header('blobs/', 'directory'));
    await addEntry(tarball, header('blobs/sha256/', 'directory'));
    for (const blob of [...blobs].sort((a, b) => (a.digest < b.digest ? -1 : 1))) {
      const name = `blobs/sha256/${blob.digest.slice('sha256:'.length)}`;
      await addEntry(tarball, header(name, 'file', blob.size), blob.data ?? createReadStream(blob.file ?? ''));
    }
    const indexData = Buffer.from(JSON.stringify(index));
    await addEntry(tarball, header('index.json', 'file', indexData.length), indexData);
    const layout = Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    await addEntry(tarball, header('oci-layout', 'file', layout.length), layout);
    tarball.finalize();
  } catch (error) {
    tarball.destroy(error as Error);
    await written.catch(() => undefined);
    throw error;
  }
  await written;
}

/** Packs one image into an OCI layout tar at `options.output`. */
export async function packImage(options: PackOptions): Promise<PackedImage> {
  const { tag } = splitReference(options.name);
  const epoch = (options.mtime ?? DEFAULT_MTIME).epoch;
  const created = new Date(epoch * 1000).toISOString();
  await fs.mkdir(path.dirname(options.output), { recursive: true });
  const work = `${options.output}.tmp-${process.pid}`;
  const layerFile = `${work}.layer`;
  try {
    const { blob: layer, diffId } = await writeLayer(options, layerFile);
    const config = jsonBlob(configJson(options, diffId, created));
    const manifest = jsonBlob({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.manifest,
      config: { mediaType: MEDIA_TYPES.config, digest: config.digest, size: config.size },
      layers: [{ mediaType: MEDIA_TYPES.layerGzip, digest: layer.digest, size: layer.size }],
    });
    const index = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.index,
      manifests: [
        {
          mediaType: MEDIA_TYPES.manifest,
          digest: manifest.digest,
          size: manifest.size,
          annotations: { [ANNOTATION_IMAGE_NAME]: options.name, [ANNOTATION_REF_NAME]: tag },
          platform: { architecture: ociArchitecture(), os: 'linux' },
        },
      ],
    };
    await writeArchive(work, [layer, config, manifest], index, epoch);
    await fs.rename(work, options.output);
    const { size } = await fs.stat(options.output);
    return { name: options.name, tag, archive: options.output, digest: manifest.digest, size, configDigest: config.digest, layerDigest: layer.digest, diffId, layerSize: layer.size };
  } finally {
    await fs.rm(layerFile, { force: true });
    await fs.rm(work, { force: true });
  }
}
