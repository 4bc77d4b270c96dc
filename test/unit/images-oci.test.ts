import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectArchive, InvalidArchive } from '../../server/cluster/images/archive.ts';
import { MEDIA_TYPES, packImage, splitReference, type PackOptions } from '../../server/cluster/images/oci.ts';
import { blob, entry, ociToDockerArchive, readTar, sha256, writeTar, type TarEntry } from '../helpers/images.ts';

let tmp: string;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-oci-unit-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

const longName = `${'deep/'.repeat(25)}file-with-a-name-longer-than-a-ustar-header-allows.txt`;

/** A small root file system with every kind of entry an image has. */
async function makeRootfs(dir: string, createdInReverse = false): Promise<void> {
  const files: [string, string, number][] = [
    ['bin/tool', '#!/bin/sh\necho tool\n', 0o755],
    ['etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n', 0o644],
    ['etc/shadow', 'root:*:::::::\n', 0o640],
    ['usr/bin/suid', 'x', 0o4755],
    [longName, 'long', 0o644],
    ['srv/zoë ünïcode.txt', 'utf-8 name', 0o644],
  ];
  for (const [name, content, mode] of createdInReverse ? [...files].reverse() : files) {
    await fs.mkdir(path.join(dir, path.dirname(name)), { recursive: true });
    await fs.writeFile(path.join(dir, name), content);
    await fs.chmod(path.join(dir, name), mode);
  }
  await fs.mkdir(path.join(dir, 'tmp'));
  await fs.chmod(path.join(dir, 'tmp'), 0o1777);
  await fs.symlink('tool', path.join(dir, 'bin', 'sh'));
  await fs.symlink('/bin/tool', path.join(dir, 'usr', 'bin', 'abs-link'));
  await fs.link(path.join(dir, 'bin', 'tool'), path.join(dir, 'bin', 'tool-hardlink'));
}

const config: PackOptions['config'] = {
  entrypoint: ['/bin/tool'],
  cmd: ['--help'],
  env: ['PATH=/usr/bin:/bin'],
  user: '1000:1000',
  workingDir: '/srv',
  exposedPorts: ['80', '53/udp'],
  labels: { 'org.opencontainers.image.title': 'test', a: 'first' },
};

const pack = (rootfs: PackOptions['rootfs'], output: string, extra: Partial<PackOptions> = {}) =>
  packImage({ name: 'kubedojo.dev/test:1.0', rootfs, config, output, mtime: { epoch: 1_700_000_000, clamp: false }, ...extra });

describe('packImage', () => {
  it('gives the same bytes for the same inputs, whatever the order, times and place they were made in', async () => {
    const a = path.join(tmp, 'rootfs-a');
    const b = path.join(tmp, 'elsewhere', 'rootfs-b');
    await makeRootfs(a);
    await makeRootfs(b, true);
    await fs.utimes(path.join(b, 'etc', 'passwd'), new Date(5_000), new Date(5_000));
    const first = await pack({ dir: a }, path.join(tmp, 'a.tar'));
    const second = await pack({ dir: b }, path.join(tmp, 'b.tar'));
    expect(second.digest).toBe(first.digest);
    expect(second.diffId).toBe(first.diffId);
    const [bytesA, bytesB] = await Promise.all([fs.readFile(first.archive), fs.readFile(second.archive)]);
    expect(sha256(bytesB)).toBe(sha256(bytesA));

    await fs.writeFile(path.join(b, 'etc', 'passwd'), 'changed\n');
    const third = await pack({ dir: b }, path.join(tmp, 'c.tar'));
    expect(third.digest).not.toBe(first.digest);
    const renamed = await pack({ dir: a }, path.join(tmp, 'd.tar'), { name: 'kubedojo.dev/test:2.0' });
    expect(renamed.digest).toBe(first.digest); // the name lives in index.json, not in the image
  });

  it('writes a valid OCI layout: digests and sizes match, the layer keeps modes, links and long names', async () => {
    const dir = path.join(tmp, 'rootfs-layout');
    await makeRootfs(dir);
    const image = await pack({ dir }, path.join(tmp, 'layout.tar'));
    const entries = await readTar(image.archive);
    expect(entries.map((e) => e.header.name)).toEqual([
      'blobs/',
      'blobs/sha256/',
      ...[image.layerDigest, image.configDigest, image.digest].map((d) => `blobs/sha256/${d.slice(7)}`).sort(),
      'index.json',
      'oci-layout',
    ]);
    expect(JSON.parse(entry(entries, 'oci-layout').data.toString())).toEqual({ imageLayoutVersion: '1.0.0' });
    const index = JSON.parse(entry(entries, 'index.json').data.toString()) as { mediaType: string; manifests: { digest: string; size: number; annotations: Record<string, string> }[] };
    expect(index.mediaType).toBe(MEDIA_TYPES.index);
    expect(index.manifests[0]?.annotations).toEqual({ 'io.containerd.image.name': 'kubedojo.dev/test:1.0', 'org.opencontainers.image.ref.name': '1.0' });
    for (const e of entries.filter((x) => x.header.name.startsWith('blobs/sha256/') && x.header.type === 'file')) {
      expect(sha256(e.data)).toBe(path.basename(e.header.name));
    }
    const manifestBytes = blob(entries, image.digest);
    expect(manifestBytes.length).toBe(index.manifests[0]?.size);
    const manifest = JSON.parse(manifestBytes.toString()) as { config: { digest: string; size: number }; layers: { digest: string; size: number; mediaType: string }[] };
    expect(manifest.config.size).toBe(blob(entries, manifest.config.digest).length);
    expect(manifest.layers[0]?.mediaType).toBe(MEDIA_TYPES.layerGzip);
    const layer = blob(entries, image.layerDigest);
    expect(manifest.layers[0]?.size).toBe(layer.length);
    expect(layer.subarray(4, 8).readUInt32LE()).toBe(0); // gzip MTIME is zero

    const configJson = JSON.parse(blob(entries, image.configDigest).toString()) as { config: Record<string, unknown>; rootfs: { diff_ids: string[] }; created: string };
    expect(configJson.created).toBe('2023-11-14T22:13:20.000Z');
    expect(configJson.config).toEqual({
      User: '1000:1000',
      ExposedPorts: { '53/udp': {}, '80/tcp': {} },
      Env: ['PATH=/usr/bin:/bin'],
      Entrypoint: ['/bin/tool'],
      Cmd: ['--help'],
      WorkingDir: '/srv',
      Labels: { a: 'first', 'org.opencontainers.image.title': 'test' },
    });
    const tar = zlib.gunzipSync(layer);
    expect(`sha256:${createHash('sha256').update(tar).digest('hex')}`).toBe(configJson.rootfs.diff_ids[0]);

    const layerFile = path.join(tmp, 'layer.tar');
    await fs.writeFile(layerFile, tar);
    const files = await readTar(layerFile);
    const byName = new Map<string, TarEntry>(files.map((f) => [f.header.name, f]));
    const names = files.map((f) => f.header.name);
    expect(names.indexOf('bin/')).toBeLessThan(names.indexOf('bin/sh'));
    expect(byName.get('bin/sh')?.header).toMatchObject({ type: 'symlink', linkname: 'tool' });
    expect(byName.get('usr/bin/abs-link')?.header).toMatchObject({ type: 'symlink', linkname: '/bin/tool' });
    expect(byName.get('bin/tool')?.header).toMatchObject({ type: 'file', mode: 0o755 });
    expect(byName.get('bin/tool-hardlink')?.header).toMatchObject({ type: 'link', linkname: 'bin/tool' });
    expect(byName.get('usr/bin/suid')?.header.mode).toBe(0o4755);
    expect(byName.get('etc/shadow')?.header.mode).toBe(0o640);
    expect(byName.get('tmp/')?.header).toMatchObject({ type: 'directory', mode: 0o1777 });
    expect(byName.get(longName)?.data.toString()).toBe('long');
    expect(byName.get('srv/zoë ünïcode.txt')?.data.toString()).toBe('utf-8 name');
    for (const f of files) {
      expect(f.header).toMatchObject({ uid: 0, gid: 0, uname: '', gname: '' });
      expect(f.header.mtime?.getTime()).toBe(1_700_000_000_000);
    }

    expect(await inspectArchive(image.archive)).toEqual({ file: image.archive, format: 'oci', images: [{ name: 'kubedojo.dev/test:1.0', digest: image.digest }], size: image.size });
  });

  it('clamps times instead of fixing them when asked, and packs an existing layer tar (plain or gzip) to the same diff id', async () => {
    const dir = path.join(tmp, 'rootfs-clamp');
    await makeRootfs(dir);
    await fs.utimes(path.join(dir, 'etc', 'passwd'), 1_000_000_000, 1_000_000_000);
    const clamped = await pack({ dir }, path.join(tmp, 'clamped.tar'), { mtime: { epoch: 1_700_000_000, clamp: true } });
    const entries = await readTar(clamped.archive);
    const layer = await readTarBuffer(zlib.gunzipSync(blob(entries, clamped.layerDigest)));
    expect(layer.find((e) => e.header.name === 'etc/passwd')?.header.mtime?.getTime()).toBe(1_000_000_000_000);
    expect(layer.find((e) => e.header.name === 'bin/tool')?.header.mtime?.getTime()).toBe(1_700_000_000_000);

    const plain = path.join(tmp, 'existing-layer.tar');
    await fs.writeFile(plain, zlib.gunzipSync(blob(entries, clamped.layerDigest)));
    const fromTar = await pack({ tar: plain }, path.join(tmp, 'from-tar.tar'));
    expect(fromTar.diffId).toBe(clamped.diffId);
    const gz = path.join(tmp, 'existing-layer.tar.gz');
    await fs.writeFile(gz, blob(entries, clamped.layerDigest));
    const fromGz = await pack({ tar: gz }, path.join(tmp, 'from-gz.tar'));
    expect(fromGz.diffId).toBe(clamped.diffId);
    expect(fromGz.digest).toBe(fromTar.digest);
  });

  it('refuses a name without a tag', async () => {
    expect(() => splitReference('kubedojo.dev/test')).toThrow(/not an image name with a tag/);
    expect(splitReference('localhost:5000/a/b:v1')).toEqual({ repository: 'localhost:5000/a/b', tag: 'v1' });
    await expect(pack({ dir: tmp }, path.join(tmp, 'x.tar'), { name: 'Upper/Case' })).rejects.toThrow(/not an image name with a tag/);
  });
});

async function readTarBuffer(data: Buffer): Promise<TarEntry[]> {
  const file = path.join(tmp, `buffer-${sha256(data).slice(0, 8)}.tar`);
  await fs.writeFile(file, data);
  return readTar(file);
}

describe('inspectArchive', () => {
  let good: string;
  let goodEntries: TarEntry[];
  beforeAll(async () => {
    const dir = path.join(tmp, 'rootfs-inspect');
    await makeRootfs(dir);
    good = (await pack({ dir }, path.join(tmp, 'good.tar'))).archive;
    goodEntries = await readTar(good);
  });

  const spoil = async (name: string, change: (entries: TarEntry[]) => TarEntry[]) => {
    const file = path.join(tmp, name);
    await writeTar(file, change(goodEntries.map((e) => ({ header: { ...e.header }, data: e.data }))));
    return file;
  };
  const expectInvalid = async (file: string, message: RegExp) => {
    const error = await inspectArchive(file).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidArchive);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain(file);
  };

  it('says a file is not a tar, is empty, is compressed, or is missing', async () => {
    const text = path.join(tmp, 'notes.tar');
    await fs.writeFile(text, 'this is not a tar archive at all\n'.repeat(40));
    await expectInvalid(text, /is not a tar archive/);
    const empty = path.join(tmp, 'empty.tar');
    await fs.writeFile(empty, '');
    await expectInvalid(empty, /is empty, not a tar archive/);
    const gz = path.join(tmp, 'image.tar.gz');
    await fs.writeFile(gz, zlib.gzipSync(await fs.readFile(good)));
    await expectInvalid(gz, /is gzip-compressed: decompress it first/);
    await expectInvalid(path.join(tmp, 'nowhere.tar'), /no such file/);
  });

  it('says the archive is truncated', async () => {
    const bytes = await fs.readFile(good);
    const cut = path.join(tmp, 'truncated.tar');
    await fs.writeFile(cut, bytes.subarray(0, Math.floor(bytes.length / 2) + 100));
    await expectInvalid(cut, /is truncated or corrupt in entry \d+ \(Unexpected end of data\)/);
  });

  it('says when neither index.json nor manifest.json is there', async () => {
    await expectInvalid(await spoil('no-index.tar', (es) => es.filter((e) => e.header.name !== 'index.json')), /neither index\.json \(OCI image layout\) nor manifest\.json \(docker save\)/);
  });

  it('names a blob that is missing or does not match its digest', async () => {
    const manifestDigest = (JSON.parse(entry(goodEntries, 'index.json').data.toString()) as { manifests: { digest: string }[] }).manifests[0]?.digest ?? '';
    const manifest = JSON.parse(blob(goodEntries, manifestDigest).toString()) as { layers: { digest: string }[] };
    const layerName = `blobs/sha256/${manifest.layers[0]?.digest.slice(7) ?? ''}`;
    await expectInvalid(await spoil('no-layer.tar', (es) => es.filter((e) => e.header.name !== layerName)), /the layer blob sha256:[0-9a-f]{64} is missing/);
    const corrupt = await spoil('corrupt-layer.tar', (es) =>
      es.map((e) => (e.header.name === layerName ? { ...e, data: Buffer.concat([e.data.subarray(0, -1), Buffer.from([(e.data.at(-1) ?? 0) ^ 1])]) } : e)),
    );
    await expectInvalid(corrupt, /the layer blob sha256:[0-9a-f]{64} does not match its digest/);
  });

  it('says when an image has no name', async () => {
    const nameless = await spoil('nameless.tar', (es) =>
      es.map((e) => {
        if (e.header.name !== 'index.json') return e;
        const index = JSON.parse(e.data.toString()) as { manifests: { annotations?: Record<string, string> }[] };
        for (const m of index.manifests) m.annotations = { 'org.opencontainers.image.ref.name': '1.0' };
        return { ...e, data: Buffer.from(JSON.stringify(index)) };
      }),
    );
    await expectInvalid(nameless, /no image name for sha256:[0-9a-f]{64} in index\.json/);
  });

  it('reads a docker save archive, and names what is wrong with one', async () => {
    const docker = path.join(tmp, 'docker.tar');
    await ociToDockerArchive(good, docker, 'example.org/team/app:2.1');
    expect(await inspectArchive(docker)).toMatchObject({ format: 'docker', images: [{ name: 'example.org/team/app:2.1' }] });
    const entries = await readTar(docker);
    const untagged = path.join(tmp, 'docker-untagged.tar');
    await writeTar(
      untagged,
      entries.map((e) => (e.header.name === 'manifest.json' ? { ...e, data: Buffer.from(e.data.toString().replace(/"RepoTags":\[[^\]]*\]/, '"RepoTags":null')) } : e)),
    );
    await expectInvalid(untagged, /no image name for [0-9a-f]{64}\.json \(RepoTags is empty/);
    const layerless = path.join(tmp, 'docker-no-layer.tar');
    await writeTar(layerless, entries.filter((e) => !e.header.name.endsWith('layer.tar')));
    await expectInvalid(layerless, /[0-9a-f]{64}\/layer\.tar, named in manifest\.json, is missing from the archive/);
  });
});
