import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { call } from '../../server/cluster/api.ts';
import { APP_REPOSITORY } from '../../server/cluster/images/app.ts';
import type { BuiltImage } from '../../server/cluster/images/builders.ts';
import { ensureDeployImage } from '../../server/cluster/images/deploy-images.ts';
import { POSTGRES_REPOSITORY } from '../../server/cluster/images/postgres.ts';
import { loadConfig } from '../../server/config.ts';
import { silentLogger } from '../../server/logger.ts';
import { silentProgress } from '../../server/progress.ts';
import { runCli } from '../helpers/cli.ts';
import { loadIntoRealNode, startPostgres } from '../helpers/deploy.ts';
import { adminKubeConfig, eventually, uniqueName } from '../helpers/cluster.ts';
import { kubectlFor } from '../helpers/real-node.ts';

/**
 * kubedojo's own images leave this machine and run elsewhere: the app image pushed by
 * `kubedojo images push` (Debian's skopeo) to a registry (Debian's docker-registry, on
 * loopback) keeps its digest; the postgres image, built from Debian's postgresql package, runs
 * PostgreSQL on the real node as a non-root user on a read-only root file system.
 */

const loaded = loadConfig({}, { HOME: os.homedir(), PATH: process.env.PATH ?? '' });
if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
const { config } = loaded;
const options = { cacheDir: config.cacheDir, env: config.env, progress: silentProgress, logger: silentLogger() };

let admin: KubeConfig;

beforeAll(() => {
  admin = adminKubeConfig(inject('kubeconfig'));
});

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => {
        resolve(port);
      });
    });
  });

describe('kubedojo images push', () => {
  let registry: ChildProcess | undefined;
  let dir: string;
  let address: string;
  let app: BuiltImage;

  beforeAll(async () => {
    app = await ensureDeployImage('app', options);
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-registry-'));
    address = `127.0.0.1:${await freePort()}`;
    const file = path.join(dir, 'config.yml');
    await fs.writeFile(file, `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${path.join(dir, 'data')}\nhttp:\n  addr: ${address}\n`);
    registry = spawn('docker-registry', ['serve', file], { stdio: 'ignore' });
    await eventually(async () => ((await fetch(`http://${address}/v2/`)).ok ? true : undefined), `the registry on ${address}`, 30_000, 100);
  }, 1_800_000);

  afterAll(async () => {
    registry?.kill();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('pushes the app image by name, and the registry serves it under the same digest', async () => {
    const destination = `${address}/kubedojo/kubedojo:${app.name.split(':')[1] ?? ''}`;
    const pushed = await runCli(['images', 'push', app.name, destination, '--no-tls-verify'], { timeoutMs: 300_000 });
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.stdout).toContain(app.digest);
    const manifest = await fetch(`http://${address}/v2/kubedojo/kubedojo/manifests/${app.name.split(':')[1] ?? ''}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get('docker-content-digest')).toBe(app.digest);
  });

  it('refuses a destination without a tag, naming the argument', async () => {
    const result = await runCli(['images', 'push', app.name, `${address}/kubedojo/kubedojo`]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('destination: must be an image name with a registry and a tag');
  });

  it('names the images by their repositories and the versions they carry', () => {
    expect(app.name).toMatch(new RegExp(`^${APP_REPOSITORY}:\\d+\\.\\d+\\.\\d+$`));
  });
});

describe('the postgres image', () => {
  let image: BuiltImage;

  beforeAll(async () => {
    image = await ensureDeployImage('postgres', options);
    await loadIntoRealNode(inject('clusterDataDir'), admin, image);
  }, 1_800_000);

  it("runs Debian's PostgreSQL on the real node, non-root on a read-only root file system", async () => {
    expect(image.name).toMatch(new RegExp(`^${POSTGRES_REPOSITORY}:15\\.\\d+$`));
    expect(image.source).toContain('postgresql-15');
    const namespace = uniqueName('kubedojo-pg');
    const core = admin.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    try {
      // Non-root, a read-only root file system, every capability dropped: startPostgres's Pod.
      await startPostgres(admin, namespace, image, 'kubedojo-test-password');
      const kubectl = await kubectlFor(inject('kubeconfig'));
      const query = await kubectl(['-n', namespace, 'exec', 'postgres', '--', 'env', 'PGPASSWORD=kubedojo-test-password', 'psql', '-h', '127.0.0.1', '-U', 'kubedojo', '-d', 'kubedojo', '-tAc', 'select version()']);
      expect(query.code, query.stderr).toBe(0);
      expect(query.stdout).toMatch(/^PostgreSQL 15\.\d+ .*Debian/);
      const wrong = await kubectl(['-n', namespace, 'exec', 'postgres', '--', 'env', 'PGPASSWORD=wrong', 'psql', '-h', '127.0.0.1', '-U', 'kubedojo', '-d', 'kubedojo', '-tAc', 'select 1']);
      expect(wrong.stderr).toContain('password authentication failed');
      // The README's backup: pg_dump in the container, over the local socket.
      const dump = await kubectl(['-n', namespace, 'exec', 'postgres', '--', 'pg_dump', '-U', 'kubedojo', 'kubedojo']);
      expect(dump.code, dump.stderr).toBe(0);
      expect(dump.stdout).toContain('PostgreSQL database dump complete');
    } finally {
      await call(() => core.deleteNamespace({ name: namespace }));
    }
  });
});
