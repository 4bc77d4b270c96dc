import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ClusterStatus, DownReport, UpReport } from '../../server/cluster/local.ts';
import { procStartTime } from '../../server/cluster/process.ts';
import { runCli, runCliOk } from '../helpers/cli.ts';
import { adminKubeConfig } from '../helpers/cluster.ts';

/**
 * The `kubedojo cluster` commands as a user runs them: status and kubeconfig on the shared
 * cluster, and a second cluster of this file's own for the lifecycle: crash and repair,
 * down then up with the data kept, busy ports.
 */

async function statusOf(dataDir: string): Promise<{ code: number | null; status: ClusterStatus }> {
  const result = await runCli(['cluster', 'status', '--json', '--data-dir', dataDir]);
  return { code: result.code, status: JSON.parse(result.stdout) as ClusterStatus };
}

async function up(dataDir: string, ...extra: string[]): Promise<UpReport> {
  const result = await runCliOk(['cluster', 'up', '--json', '--etcd-unsafe-no-fsync', '--data-dir', dataDir, ...extra]);
  return JSON.parse(result.stdout) as UpReport;
}

describe('kubedojo cluster status | kubeconfig | up, on the shared cluster', () => {
  it('shows every component running with its pid and port', async () => {
    const { code, status } = await statusOf(inject('clusterDataDir'));
    expect(code).toBe(0);
    expect(status.state).toBe('running');
    expect(status.kubernetesVersion).toMatch(/^v1\.\d+\.\d+$/);
    expect(status.components.map((c) => c.id)).toEqual(['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok', 'metrics-server']);
    for (const c of status.components) {
      expect(c.state).toBe('running');
      expect(await procStartTime(c.pid ?? -1)).toBeDefined();
      expect(c.port).toBeGreaterThan(0);
    }
    const human = await runCliOk(['cluster', 'status', '--data-dir', inject('clusterDataDir')]);
    expect(human.stdout).toMatch(/local cluster: running/);
    expect(human.stdout).toMatch(/kube-apiserver\s+running\s+\d+\s+\d+/);
  });

  it('prints the admin kubeconfig path, a file only its owner can read', async () => {
    const result = await runCliOk(['cluster', 'kubeconfig', '--data-dir', inject('clusterDataDir')]);
    const file = result.stdout.trim();
    expect(file).toBe(inject('kubeconfig'));
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    // The admin identity is an RBAC-bound group, not system:masters.
    expect(await fs.readFile(file, 'utf8')).toContain('kubedojo-admin');
  });

  it('finds the running cluster on a second up, without restarting anything', async () => {
    const before = await statusOf(inject('clusterDataDir'));
    const report = await up(inject('clusterDataDir'));
    expect(report.alreadyRunning).toBe(true);
    expect(report.started).toEqual([]);
    const after = await statusOf(inject('clusterDataDir'));
    expect(after.status.components.map((c) => c.pid)).toEqual(before.status.components.map((c) => c.pid));
  });

  it('says plainly that there is no cluster where none was created', async () => {
    const empty = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-none-'));
    try {
      const kubeconfig = await runCli(['cluster', 'kubeconfig', '--data-dir', empty]);
      expect(kubeconfig.code).toBe(1);
      expect(kubeconfig.stderr).toContain('run "kubedojo cluster up" first');
      const { code, status } = await statusOf(empty);
      expect(code).toBe(1);
      expect(status.state).toBe('not-created');
    } finally {
      await fs.rm(empty, { recursive: true, force: true });
    }
  });
});

describe('the lifecycle of a second cluster', () => {
  let dataDir: string;
  let first: UpReport;

  beforeAll(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-life-'));
    first = await up(dataDir);
  });

  afterAll(async () => {
    await runCli(['cluster', 'down', '--data-dir', dataDir]);
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('names a killed component with its log, and up repairs it', async () => {
    const { status } = await statusOf(dataDir);
    const scheduler = status.components.find((c) => c.id === 'kube-scheduler');
    expect(scheduler?.pid).toBeGreaterThan(0);
    process.kill(scheduler?.pid ?? -1, 'SIGKILL');

    const crashed = await statusOf(dataDir);
    expect(crashed.code).toBe(1);
    expect(crashed.status.state).toBe('degraded');
    const entry = crashed.status.components.find((c) => c.id === 'kube-scheduler');
    expect(entry?.state).toBe('crashed');
    expect(entry?.lastLines.length).toBeGreaterThan(0);
    const human = await runCli(['cluster', 'status', '--data-dir', dataDir]);
    expect(human.stdout).toMatch(/kube-scheduler\s+crashed/);
    expect(human.stdout).toContain('kube-scheduler is crashed; last lines of');
    expect(human.stdout).toContain('Run "kubedojo cluster up" to restart what stopped.');

    const repaired = await up(dataDir);
    expect(repaired.repaired).toEqual(['kube-scheduler']);
    expect(repaired.started).toEqual(['kube-scheduler']);
    expect((await statusOf(dataDir)).status.state).toBe('running');
  });

  it('down stops exactly its own processes and keeps the data; up brings it back', async () => {
    const kc = adminKubeConfig(first.kubeconfig);
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'keep-me' }, data: { answer: '42' } } });
    const before = await statusOf(dataDir);
    const sharedBefore = await statusOf(inject('clusterDataDir'));

    const down = JSON.parse((await runCliOk(['cluster', 'down', '--json', '--data-dir', dataDir])).stdout) as DownReport;
    expect(down.stopped.map((s) => s.result)).toEqual(['stopped', 'stopped', 'stopped', 'stopped', 'stopped', 'stopped']);
    for (const c of before.status.components) expect(await procStartTime(c.pid ?? -1)).toBeUndefined();
    const stopped = await statusOf(dataDir);
    expect(stopped.status.state).toBe('stopped');
    // The other cluster on this machine was not touched.
    const sharedAfter = await statusOf(inject('clusterDataDir'));
    expect(sharedAfter.status.state).toBe('running');
    expect(sharedAfter.status.components.map((c) => c.pid)).toEqual(sharedBefore.status.components.map((c) => c.pid));

    const again = await up(dataDir);
    expect(again.alreadyRunning).toBe(false);
    expect(again.server).toBe(first.server);
    const kept = await adminKubeConfig(again.kubeconfig).makeApiClient(CoreV1Api).readNamespacedConfigMap({ name: 'keep-me', namespace: 'default' });
    expect(kept.data).toEqual({ answer: '42' });
  });

  it('moves off a port another program took while it was down, and refuses a busy --api-port', async () => {
    await runCliOk(['cluster', 'down', '--data-dir', dataDir]);
    const oldPort = Number(new URL(first.server).port);
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(oldPort, '127.0.0.1', resolve));
    try {
      const moved = await up(dataDir);
      expect(moved.server).not.toBe(first.server);
      expect(moved.notes.join('\n')).toContain(`port ${oldPort} (apiserver) is now used by another program`);
      // The rewritten kubeconfig points at the new port and works.
      const nodes = await adminKubeConfig(moved.kubeconfig).makeApiClient(CoreV1Api).listNode();
      expect(nodes.items.length).toBeGreaterThanOrEqual(6);

      await runCliOk(['cluster', 'down', '--data-dir', dataDir]);
      const busy = await runCli(['cluster', 'up', '--data-dir', dataDir, '--api-port', String(oldPort)]);
      expect(busy.code).toBe(2);
      expect(busy.stderr).toContain(`Port ${oldPort} on 127.0.0.1 is already in use by another program`);
      expect(busy.stderr).toContain('--api-port');
    } finally {
      squatter.close();
    }
    // Nothing was lost: the next plain up works and the data is there.
    const back = await up(dataDir);
    const kept = await adminKubeConfig(back.kubeconfig).makeApiClient(CoreV1Api).readNamespacedConfigMap({ name: 'keep-me', namespace: 'default' });
    expect(kept.data?.answer).toBe('42');
  });

  it('rejects bad flags and settings with the name of each', async () => {
    const result = await runCli(['cluster', 'up', '--data-dir', dataDir, '--api-port', 'http'], { env: { KUBEDOJO_LOG_LEVEL: 'loud' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--api-port: must be a port number, got "http"');
    expect(result.stderr).toContain('--log-level (from KUBEDOJO_LOG_LEVEL)');
    const unknown = await runCli(['cluster', 'up', '--data-dir', dataDir, '--frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown option '--frobnicate'");
  });
});
