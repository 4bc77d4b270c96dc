import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar-stream';
import { z } from 'zod';
import { Invalid } from '../../errors.ts';
import { ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME, ociArchitecture } from './oci.ts';

/**
 * Reads an image archive an operator brought along (an OCI image layout tar, or what
 * `docker save` writes) without loading it anywhere, and says plainly what is wrong with it:
 * not a tar, compressed, truncated, no index, no image name, a blob missing or corrupt.
 * `ctr images import` itself answers most of these with a Go error, or imports nameless images.
 */

/** The archive cannot be imported; the message names the file and the problem. */
export class InvalidArchive extends Invalid {}

export interface ArchiveImage {
  name: string;
  /** The manifest digest the runtime will show, when the archive says it (OCI layouts). */
  digest?: string;
}

export interface ArchiveInfo {
  file: string;
  format: 'oci' | 'docker';
  images: ArchiveImage[];
  size: number;
}

const digestSchema = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 hex digits>');
const descriptorSchema = z.object({
  mediaType: z.string().optional(),
  digest: digestSchema,
  size: z.number().int().nonnegative(),
  annotations: z.record(z.string(), z.string()).optional(),
  platform: z.object({ architecture: z.string(), os: z.string() }).loose().optional(),
});
type Descriptor = z.infer<typeof descriptorSchema>;
const indexSchema = z.object({ schemaVersion: z.literal(2), manifests: z.array(descriptorSchema) });
const manifestSchema = z.object({ schemaVersion: z.literal(2), config: descriptorSchema, layers: z.array(descriptorSchema) });
const dockerManifestSchema = z.array(
  z.object({ Config: z.string().min(1), RepoTags: z.array(z.string()).nullish(), Layers: z.array(z.string().min(1)) }),
);

/** Small entries (index, manifests, configs) are kept to be parsed; layers are only hashed. */
const KEEP_BYTES = 4 * 1024 * 1024;

interface Entry {
  size: number;
  sha256?: string;
  data?: Buffer;
}

/** A loose check of an image name: a runtime rejects the rest with its own words. */
const NAME = /^[a-z0-9][a-z0-9._\-/:]*[a-z0-9_.-]$/;
const normalize = (name: string) => name.replace(/^\.\//, '').replace(/\/+$/, '');

async function readEntries(file: string): Promise<Map<string, Entry>> {
  const entries = new Map<string, Entry>();
  let headers = 0;
  const reader = extract();
  reader.on('entry', (header, stream, next) => {
    headers += 1;
    const name = normalize(header.name);
    const isBlob = /^blobs\/sha256\/[0-9a-f]{64}$/.test(name);
    const entry: Entry = { size: 0 };
    const hash = isBlob ? createHash('sha256') : undefined;
    const chunks: Buffer[] = [];
    stream.on('data', (data) => {
      const chunk = data as Buffer;
      entry.size += chunk.length;
      hash?.update(chunk);
      if (entry.size <= KEEP_BYTES) chunks.push(chunk);
    });
    stream.on('end', () => {
      if (hash) entry.sha256 = hash.digest('hex');
      if (entry.size <= KEEP_BYTES) entry.data = Buffer.concat(chunks);
      if (header.type === 'file' || header.type === 'contiguous-file') entries.set(name, entry);
      next();
    });
    stream.on('error', next);
  });
  try {
    // A tar reader that reaches the end of the file mid-entry says "Unexpected end of data".
    await pipeline(createReadStream(file), reader);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    // A valid first header means a tar that breaks off later.
    if (headers === 0) {
      const why = /invalid tar header/i.test(detail) ? 'it does not start with a tar header' : detail;
      throw new InvalidArchive(`${file} is not a tar archive (${why})`, { file });
    }
    throw new InvalidArchive(`${file} is truncated or corrupt in entry ${headers} (${detail})`, { file });
  }
  return entries;
}

function parseJson<T>(file: string, entries: Map<string, Entry>, name: string, schema: z.ZodType<T>, what: string): T {
  const entry = entries.get(name);
  if (!entry?.data) throw new InvalidArchive(`${file}: ${what} ${name} is missing or too large`, { file });
  let value: unknown;
  try {
    value = JSON.parse(entry.data.toString('utf8'));
  } catch {
    throw new InvalidArchive(`${file}: ${name} is not valid JSON`, { file });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ');
    throw new InvalidArchive(`${file}: ${name} is not a valid ${what} (${issues})`, { file });
  }
  return parsed.data;
}

/** The blob a descriptor names must be there, with its size and digest. */
function blobFor(file: string, entries: Map<string, Entry>, desc: Descriptor, what: string): Entry {
  const hex = desc.digest.slice('sha256:'.length);
  const name = `blobs/sha256/${hex}`;
  const entry = entries.get(name);
  if (!entry) throw new InvalidArchive(`${file}: the ${what} blob ${desc.digest} is missing (no ${name} in the archive)`, { file });
  if (entry.size !== desc.size) throw new InvalidArchive(`${file}: the ${what} blob ${desc.digest} has ${entry.size} bytes, ${desc.size} expected (truncated or corrupt)`, { file });
  if (entry.sha256 !== hex) throw new InvalidArchive(`${file}: the ${what} blob ${desc.digest} does not match its digest (corrupt)`, { file });
  return entry;
}

function checkImageManifest(file: string, entries: Map<string, Entry>, desc: Descriptor): void {
  blobFor(file, entries, desc, 'manifest');
  const manifest = parseJson(file, entries, `blobs/sha256/${desc.digest.slice(7)}`, manifestSchema, 'image manifest');
  blobFor(file, entries, manifest.config, 'config');
  for (const layer of manifest.layers) blobFor(file, entries, layer, 'layer');
}

const isIndex = (desc: Descriptor) => desc.mediaType === 'application/vnd.oci.image.index.v1+json' || desc.mediaType === 'application/vnd.docker.distribution.manifest.list.v2+json';
const forThisMachine = (desc: Descriptor) => !desc.platform || (desc.platform.os === 'linux' && desc.platform.architecture === ociArchitecture());

function checkOci(file: string, entries: Map<string, Entry>): ArchiveImage[] {
  const index = parseJson(file, entries, 'index.json', indexSchema, 'OCI image index');
  if (index.manifests.length === 0) throw new InvalidArchive(`${file}: index.json lists no image`, { file });
  const images: ArchiveImage[] = [];
  for (const desc of index.manifests) {
    const name = desc.annotations?.[ANNOTATION_IMAGE_NAME] ?? desc.annotations?.[ANNOTATION_REF_NAME];
    // A ref.name that is only a tag ("1.0") gives ctr nothing to name the image with.
    if (!name || !name.includes(':') || !NAME.test(name)) {
      throw new InvalidArchive(
        `${file}: no image name for ${desc.digest} in index.json (an "${ANNOTATION_IMAGE_NAME}" annotation, or a full "${ANNOTATION_REF_NAME}" such as example.org/app:1.0, is needed)`,
        { file },
      );
    }
    if (isIndex(desc)) {
      // A multi-platform image: this machine's manifest must be complete; others may be left out.
      blobFor(file, entries, desc, 'image index');
      const nested = parseJson(file, entries, `blobs/sha256/${desc.digest.slice(7)}`, indexSchema, 'image index');
      const mine = nested.manifests.filter(forThisMachine);
      if (mine.length === 0) throw new InvalidArchive(`${file}: ${name} has no image for linux/${ociArchitecture()}`, { file });
      for (const child of mine) checkImageManifest(file, entries, child);
    } else {
      checkImageManifest(file, entries, desc);
    }
    images.push({ name, digest: desc.digest });
  }
  return images;
}

function checkDocker(file: string, entries: Map<string, Entry>): ArchiveImage[] {
  const manifest = parseJson(file, entries, 'manifest.json', dockerManifestSchema, 'docker save manifest');
  if (manifest.length === 0) throw new InvalidArchive(`${file}: manifest.json lists no image`, { file });
  const images: ArchiveImage[] = [];
  for (const item of manifest) {
    const tags = item.RepoTags ?? [];
    if (tags.length === 0) {
      throw new InvalidArchive(`${file}: no image name for ${item.Config} (RepoTags is empty: save the image by name:tag, not by ID)`, { file });
    }
    for (const part of [item.Config, ...item.Layers]) {
      if (!entries.has(normalize(part))) throw new InvalidArchive(`${file}: ${part}, named in manifest.json, is missing from the archive`, { file });
    }
    for (const tag of tags) {
      if (!NAME.test(tag)) throw new InvalidArchive(`${file}: "${tag}" in manifest.json is not an image name`, { file });
      images.push({ name: tag });
    }
  }
  return images;
}

/** Checks an archive end to end (reading it once) and returns the images it holds. */
export async function inspectArchive(file: string): Promise<ArchiveInfo> {
  let stat;
  try {
    stat = await fs.stat(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InvalidArchive(code === 'ENOENT' ? `${file}: no such file` : `${file} cannot be read (${code ?? 'error'})`, { file });
  }
  if (!stat.isFile()) throw new InvalidArchive(`${file} is not a file`, { file });
  if (stat.size === 0) throw new InvalidArchive(`${file} is empty, not a tar archive`, { file });
  const head = Buffer.alloc(4);
  const handle = await fs.open(file, 'r');
  try {
    await handle.read(head, 0, 4, 0);
  } finally {
    await handle.close();
  }
  if (head[0] === 0x1f && head[1] === 0x8b) throw new InvalidArchive(`${file} is gzip-compressed: decompress it first (gunzip -k ${file}) and import the .tar`, { file });
  if (head.toString('latin1', 0, 4) === '(\xb5/\xfd') throw new InvalidArchive(`${file} is zstd-compressed: decompress it first (zstd -d ${file}) and import the .tar`, { file });
  const entries = await readEntries(file);
  let images: ArchiveImage[];
  let format: ArchiveInfo['format'];
  if (entries.has('index.json')) {
    format = 'oci';
    images = checkOci(file, entries);
  } else if (entries.has('manifest.json')) {
    format = 'docker';
    images = checkDocker(file, entries);
  } else {
    throw new InvalidArchive(`${file} is a tar archive but not an image: it has neither index.json (OCI image layout) nor manifest.json (docker save)`, { file });
  }
  return { file, format, images, size: stat.size };
}
