import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { extract, pack, type Header } from 'tar-stream';

type TarHeader = Partial<Header> & { name: string };

/** Reading and writing whole tar files in memory, to inspect image archives and spoil them on purpose. */

export interface TarEntry {
  header: TarHeader;
  data: Buffer;
}

export async function readTar(file: string, gzipped = false): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  const reader = extract();
  reader.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c) => chunks.push(c as Buffer));
    stream.on('end', () => {
      entries.push({ header, data: Buffer.concat(chunks) });
      next();
    });
  });
  const stages = gzipped ? [createReadStream(file), zlib.createGunzip()] : [createReadStream(file)];
  await pipeline([...stages, reader]);
  return entries;
}

export async function writeTar(file: string, entries: TarEntry[]): Promise<void> {
  const tarball = pack();
  const written = pipeline(tarball, createWriteStream(file));
  for (const { header, data } of entries) {
    await new Promise<void>((resolve, reject) => tarball.entry({ ...header, size: data.length }, data, (e) => {
        if (e) reject(e);
        else resolve();
      }),
    );
  }
  tarball.finalize();
  await written;
}

export const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

export function entry(entries: TarEntry[], name: string): TarEntry {
  const found = entries.find((e) => e.header.name === name);
  if (!found) throw new Error(`no ${name} in the archive (${entries.map((e) => e.header.name).join(', ')})`);
  return found;
}

export function blob(entries: TarEntry[], digest: string): Buffer {
  return entry(entries, `blobs/sha256/${digest.replace(/^sha256:/, '')}`).data;
}

interface Descriptor {
  digest: string;
  size: number;
}

/**
 * Rewrites one of our OCI archives as `docker save` (before Docker 25) writes it: manifest.json
 * with RepoTags, the config as <hex>.json and each layer uncompressed as <id>/layer.tar.
 */
export async function ociToDockerArchive(oci: string, out: string, repoTag: string): Promise<void> {
  const entries = await readTar(oci);
  const index = JSON.parse(entry(entries, 'index.json').data.toString()) as { manifests: Descriptor[] };
  const manifestDesc = index.manifests[0];
  if (!manifestDesc) throw new Error('empty index');
  const manifest = JSON.parse(blob(entries, manifestDesc.digest).toString()) as { config: Descriptor; layers: Descriptor[] };
  const config = blob(entries, manifest.config.digest);
  const files: TarEntry[] = [];
  const file = (name: string, data: Buffer): TarEntry => ({ header: { name, type: 'file', mode: 0o644, mtime: new Date(0) }, data });
  const layerNames: string[] = [];
  for (const layer of manifest.layers) {
    const tar = zlib.gunzipSync(blob(entries, layer.digest));
    const id = sha256(tar);
    layerNames.push(`${id}/layer.tar`);
    files.push({ header: { name: `${id}/`, type: 'directory', mode: 0o755, mtime: new Date(0) }, data: Buffer.alloc(0) });
    files.push(file(`${id}/layer.tar`, tar));
  }
  const configName = `${sha256(config)}.json`;
  files.push(file(configName, config));
  files.push(file('manifest.json', Buffer.from(JSON.stringify([{ Config: configName, RepoTags: [repoTag], Layers: layerNames }]))));
  const [repo, tag] = [repoTag.slice(0, repoTag.lastIndexOf(':')), repoTag.slice(repoTag.lastIndexOf(':') + 1)];
  const lastLayer = layerNames.at(-1)?.split('/')[0] ?? '';
  files.push(file('repositories', Buffer.from(JSON.stringify({ [repo]: { [tag]: lastLayer } }))));
  await writeTar(out, files);
}
