import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureControlPlane } from '../../server/cluster/build.ts';
import { ensureOfflineImages, offlineImageNames, type BuiltImage } from '../../server/cluster/images/builders.ts';
import { packImage } from '../../server/cluster/images/oci.ts';
import { reimportRecorded } from '../../server/cluster/images/records.ts';
import { ensureImported, listRuntimeImages, runtimeAvailable, type Runtime } from '../../server/cluster/images/runtime.ts';
import { removeTree, runTool } from '../../server/cluster/images/tools.ts';
import { nodeDirs } from '../../server/cluster/paths.ts';
import { loadConfig } from '../../server/config.ts';
import { Unavailable } from '../../server/errors.ts';
import { silentLogger } from '../../server/logger.ts';
import { silentProgress } from '../../server/progress.ts';
import { runCli } from '../helpers/cli.ts';
import { blob, ociToDockerArchive, readTar } from '../helpers/images.ts';

/**
 * The offline images for real: built from pause.c, Debian's busybox-static and mmdebstrap, loaded
 * into a containerd of this test's own (a temp dir, its own socket) and run with ctr; the CLI's
 * `images list` and `images import` against it. Needs root, like the real node.
 */

const loaded = loadConfig({});
if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
const { cacheDir, go, env } = loaded.config;

let tmp: string;
let dataDir: string;
let rt: Runtime;
let containerd: ChildProcess | undefined;
let images: BuiltImage[];
const timings: Record<string, string> = {};
const byId = (id: BuiltImage['id']) => {
  const image = images.find((i) => i.id === id);
  if (!image) throw new Error(`no ${id} image`);
  return image;
};

async function startContainerd(): Promise<void> {
  const dirs = nodeDirs(dataDir);
  await fs.mkdir(dirs.root, { recursive: true });
  const config = [
    'version = 2',
    `root = "${dirs.containerdRoot}"`,
    `state = "${dirs.containerdState}"`,
    '[grpc]',
    `  address = "${dirs.containerdSocket}"`,
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = "${path.join(tmp, 'opt')}"`,
    '[plugins."io.containerd.grpc.v1.cri"]',
    // These machines refuse a negative oom_score_adj, even to root.
    '  restrict_oom_score_adj = true',
    `  sandbox_image = "${byId('pause').name}"`,
  ].join('\n');
  await fs.writeFile(dirs.containerdConfig, `${config}\n`);
  const log = await fs.open(path.join(tmp, 'containerd.log'), 'w');
  containerd = spawn('containerd', ['--config', dirs.containerdConfig], { stdio: ['ignore', log.fd, log.fd] });
  await log.close();
  for (let i = 0; i < 100 && !(await runtimeAvailable(rt)); i++) await sleep(100);
  if (!(await runtimeAvailable(rt))) throw new Error(`containerd did not start: ${await fs.readFile(path.join(tmp, 'containerd.log'), 'utf8')}`);
}

async function stopContainerd(): Promise<void> {
  if (!containerd || containerd.exitCode !== null) return;
  const child = containerd;
  const exited = new Promise<boolean>((resolve) => {
    child.once('exit', () => {
      resolve(true);
    });
  });
  child.kill('SIGTERM');
  if (!(await Promise.race([exited, sleep(10_000).then(() => false)]))) {
    child.kill('SIGKILL');
    await exited;
  }
}

const ctr = (...args: string[]) => runTool('ctr', ['--address', rt.address, '--namespace', 'k8s.io', ...args], { timeoutMs: 60_000 });
const run = async (image: string, ...command: string[]) => {
  const result = await ctr('run', '--rm', image, `kd-test-${Math.random().toString(36).slice(2, 8)}`, ...command);
  if (result.code !== 0) throw new Error(`ctr run ${image} ${command.join(' ')} exited ${result.code}: ${result.stderrTail.join('\n')}`);
  return result.stdout;
};

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'kd-images-'));
  dataDir = path.join(tmp, 'data');
  rt = { ctr: '/usr/bin/ctr', address: nodeDirs(dataDir).containerdSocket };
  const { binaries } = await ensureControlPlane({ cacheDir, go, env, progress: silentProgress, logger: silentLogger() });
  const started = Date.now();
  images = await ensureOfflineImages({ cacheDir, env, go, kubectl: binaries.kubectl, progress: silentProgress, logger: silentLogger() });
  timings.firstCall = `${Date.now() - started} ms (${images.map((i) => `${i.id} ${i.built ? 'built' : 'cached'} ${i.buildSeconds.toFixed(1)} s, ${(i.size / 1024 ** 2).toFixed(1)} MiB`).join('; ')})`;
  await startContainerd();
}, 1_200_000);

afterAll(async () => {
  process.stderr.write(`images: ${JSON.stringify(timings, null, 2)}\n`);
  await stopContainerd();
  if (tmp) await removeTree(tmp);
});

describe('offline images', () => {
  it('are built under the project names, and a second call builds nothing', async () => {
    const names = await offlineImageNames({ env, go, logger: silentLogger() });
    expect(images.map((i) => i.name)).toEqual([names.pause, names.busybox, names.toolbox]);
    expect(names.pause).toMatch(/^kubedojo\.dev\/pause:3\.\d+(\.\d+)?$/);
    expect(names.busybox).toMatch(/^kubedojo\.dev\/busybox:1\.\d+/);
    expect(names.toolbox).toMatch(/^kubedojo\.dev\/toolbox:\d+\.\d+\.\d+/);
    expect(byId('pause').source).toMatch(/^pause\.c from k8s\.io\/kubernetes v1\.\d+\.\d+/);
    const started = Date.now();
    const again = await ensureOfflineImages({ cacheDir, env, go, kubectl: '/nonexistent/kubectl-is-not-needed-when-cached', progress: silentProgress, logger: silentLogger(), only: ['pause', 'busybox'] });
    timings.cachedPauseBusybox = `${Date.now() - started} ms`;
    expect(again.map((i) => [i.name, i.digest, i.built])).toEqual([byId('pause'), byId('busybox')].map((i) => [i.name, i.digest, false]));
  });

  it('finds a truncated archive and rebuilds it to the same digest', async () => {
    for (const id of ['pause', 'busybox'] as const) {
      const image = byId(id);
      const bytes = await fs.readFile(image.archive);
      await fs.writeFile(image.archive, bytes.subarray(0, bytes.length - 4096));
      const [rebuilt] = await ensureOfflineImages({ cacheDir, env, go, kubectl: '', progress: silentProgress, logger: silentLogger(), only: [id] });
      expect(rebuilt).toMatchObject({ name: image.name, digest: image.digest, size: image.size, built: true });
    }
  });

  it('load into the runtime once, and the runtime lists them with their digests', async () => {
    const first = await ensureImported(rt, images);
    expect(first.imported.map((i) => i.name).sort()).toEqual(images.map((i) => i.name).sort());
    timings.firstImport = `${first.ms} ms`;
    const listed = await listRuntimeImages(rt);
    for (const image of images) expect(listed.find((l) => l.name === image.name)?.digest).toBe(image.digest);
    expect(listed.every((l) => !l.name.startsWith('sha256:'))).toBe(true);
    const second = await ensureImported(rt, images);
    expect(second.imported).toEqual([]);
    expect(second.present.map((p) => p.digest)).toEqual(images.map((i) => i.digest));
    timings.ensureImportedAllPresent = `${second.ms} ms`;
    expect(second.ms).toBeLessThan(1000);
  });

  it('run: pause starts, busybox echoes, the toolbox has kubectl and the python client as uid 1000', async () => {
    const id = `kd-pause-${Date.now()}`;
    expect((await ctr('run', '-d', byId('pause').name, id)).code).toBe(0);
    try {
      await sleep(300);
      expect((await ctr('tasks', 'ls')).stdout).toMatch(new RegExp(`${id}\\s+\\d+\\s+RUNNING`));
    } finally {
      await ctr('tasks', 'kill', '-s', 'SIGKILL', id);
      for (let i = 0; i < 50 && (await ctr('tasks', 'delete', id)).code !== 0; i++) await sleep(100);
      await ctr('containers', 'delete', id);
    }
    expect(await run(byId('busybox').name, 'echo', 'hello')).toBe('hello\n');
    expect(await run(byId('busybox').name, 'sh', '-c', 'id -un nobody; ls -ld /tmp /var/www | cut -c1-10')).toBe('nobody\ndrwxrwxrwt\ndrwxr-xr-x\n');
    const toolbox = byId('toolbox').name;
    expect(await run(toolbox, 'kubectl', 'version', '--client')).toMatch(/Client Version: v1\.\d+\.\d+/);
    expect(await run(toolbox, 'python3', '-c', 'import kubernetes, sys; print(kubernetes.__version__)')).toMatch(/^\d+\.\d+/);
    expect(await run(toolbox, 'sh', '-c', 'id -u; id -g; pwd; echo $HOME; for c in nano vi jq curl less bash; do command -v $c; done')).toBe(
      '1000\n1000\n/home/learner\n/home/learner\n/usr/bin/nano\n/usr/bin/vi\n/usr/bin/jq\n/usr/bin/curl\n/usr/bin/less\n/usr/bin/bash\n',
    );
    expect(await run(toolbox, 'bash', '-ic', 'complete -p kubectl k; echo "$PS1"')).toMatch(/complete .*__start_kubectl kubectl\n.*__start_kubectl k\n.*toolbox/s);
  });

  it('CLI: imports a docker-save and an OCI archive an operator brought, lists them, refuses a corrupt one', async () => {
    const cliEnv = { KUBEDOJO_DATA_DIR: dataDir, KUBEDOJO_CACHE_DIR: cacheDir };
    const docker = path.join(tmp, 'busybox-docker.tar');
    await ociToDockerArchive(byId('busybox').archive, docker, 'example.org/offline/busybox-docker:1.0');
    const dockerImport = await runCli(['images', 'import', docker], { env: cliEnv });
    expect(dockerImport.stderr).toBe('');
    expect(dockerImport.code).toBe(0);
    expect(dockerImport.stdout).toMatch(/^Imported example\.org\/offline\/busybox-docker:1\.0 \(sha256:[0-9a-f]{64}\) into the runtime\./);

    // An OCI archive made elsewhere: busybox's layer under another name and command.
    const layer = path.join(tmp, 'layer.tar');
    const entries = await readTar(byId('busybox').archive);
    const index = JSON.parse(entries.find((e) => e.header.name === 'index.json')?.data.toString() ?? '{}') as { manifests: { digest: string }[] };
    const manifest = JSON.parse(blob(entries, index.manifests[0]?.digest ?? '').toString()) as { layers: { digest: string }[] };
    await fs.writeFile(layer, zlib.gunzipSync(blob(entries, manifest.layers[0]?.digest ?? '')));
    const oci = await packImage({ name: 'example.org/offline/hello:2.0', rootfs: { tar: layer }, config: { cmd: ['echo', 'hello from an operator'] }, output: path.join(tmp, 'hello-oci.tar') });
    const ociImport = await runCli(['images', 'import', oci.archive], { env: cliEnv });
    expect(ociImport.code).toBe(0);
    expect(ociImport.stdout).toContain(`Imported example.org/offline/hello:2.0 (${oci.digest}) into the runtime.`);
    expect(await run('example.org/offline/hello:2.0')).toBe('hello from an operator\n');

    const list = await runCli(['images', 'list', '--json'], { env: cliEnv });
    expect(list.code).toBe(0);
    const listing = JSON.parse(list.stdout) as { runtime: { running: boolean }; images: { name: string; origin: string; source: string; inRuntime: boolean | null; digest: string | null; size: number }[] };
    expect(listing.runtime.running).toBe(true);
    for (const image of images) {
      expect(listing.images).toContainEqual(expect.objectContaining({ name: image.name, origin: 'built', digest: image.digest, inRuntime: true, size: image.size, source: `built here: ${image.source}` }));
    }
    expect(listing.images).toContainEqual(expect.objectContaining({ name: 'example.org/offline/busybox-docker:1.0', origin: 'imported', inRuntime: true, source: expect.stringMatching(new RegExp(`^imported from ${docker} at \\d{4}-`)) as unknown }));
    expect(listing.images).toContainEqual(expect.objectContaining({ name: 'example.org/offline/hello:2.0', origin: 'imported', inRuntime: true, digest: oci.digest }));
    const text = await runCli(['images', 'list'], { env: cliEnv });
    expect(text.stdout).toMatch(/^NAME\s+SIZE\s+IN RUNTIME\s+SOURCE\n/);

    const corrupt = path.join(tmp, 'corrupt.tar');
    const bytes = await fs.readFile(oci.archive);
    await fs.writeFile(corrupt, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const refused = await runCli(['images', 'import', corrupt], { env: cliEnv });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(new RegExp(`^kubedojo: ${corrupt} is truncated or corrupt in entry \\d+`));
    const missing = await runCli(['images', 'import'], { env: cliEnv });
    expect(missing.code).toBe(2);
    const badFlag = await runCli(['images', 'list', '--jsn'], { env: cliEnv });
    expect(badFlag.code).toBe(2);
  });

  it('without a running runtime: keeps the archive, says when it loads, and reimportRecorded loads it later', async () => {
    const stoppedDataDir = path.join(tmp, 'stopped');
    const cliEnv = { KUBEDOJO_DATA_DIR: stoppedDataDir, KUBEDOJO_CACHE_DIR: cacheDir };
    const archive = path.join(tmp, 'later.tar');
    await ociToDockerArchive(byId('busybox').archive, archive, 'example.org/offline/later:3.0');
    const result = await runCli(['images', 'import', archive], { env: cliEnv });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('it will be loaded at the next "kubedojo cluster up"');
    const list = JSON.parse((await runCli(['images', 'list', '--json'], { env: cliEnv })).stdout) as { runtime: { running: boolean; problem: string }; images: { name: string; inRuntime: boolean | null }[] };
    expect(list.runtime).toMatchObject({ running: false, problem: expect.stringContaining('kubedojo cluster up') as unknown });
    expect(list.images).toContainEqual(expect.objectContaining({ name: 'example.org/offline/later:3.0', inRuntime: null }));

    const stopped = { ctr: '/usr/bin/ctr', address: nodeDirs(stoppedDataDir).containerdSocket };
    await expect(listRuntimeImages(stopped)).rejects.toThrow(Unavailable);
    await expect(listRuntimeImages(stopped)).rejects.toThrow(/containerd is not running at .*: run "kubedojo cluster up"/);

    // The lead's `cluster up` calls this with the node's runtime; here, this test's runtime.
    const loadedNow = await reimportRecorded(rt, stoppedDataDir);
    expect(loadedNow.imported.map((i) => i.name)).toEqual(['example.org/offline/later:3.0']);
    await ctr('images', 'rm', 'example.org/offline/later:3.0');
    expect((await reimportRecorded(rt, stoppedDataDir)).imported.map((i) => i.name)).toEqual(['example.org/offline/later:3.0']);
    const again = await reimportRecorded(rt, stoppedDataDir);
    expect(again).toMatchObject({ imported: [], present: ['example.org/offline/later:3.0'], problems: [] });
    timings.reimportAllPresent = `${again.ms} ms`;
  });
});
