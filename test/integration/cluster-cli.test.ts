import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ClusterStatus, DownReport, UpReport } from '../../server/cluster/local.ts';
import { procStartTime } from '../../server/cluster/process.ts';
import { controlPlaneIds, nodeComponentIds } from '../../server/cluster/components.ts';
import { runCli, runCliOk } from '../helpers/cli.ts';
import { adminKubeConfig } from '../helpers/cluster.ts';
import { nodeTraces, offlineImages, running, waitPod } from '../helpers/real-node.ts';

const CONTROL_PLANE = [...controlPlaneIds];
// The suite runs as root, as CI does: every cluster has a real node beside the simulated ones.
const REAL_NODE = [...nodeComponentIds];

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
    expect(status.components.map((c) => c.id)).toEqual([...CONTROL_PLANE, ...REAL_NODE]);
    for (const c of status.components) {
      expect(c.state).toBe('running');
      expect(await procStartTime(c.pid ?? -1)).toBeDefined();
      expect(c.port !== null || c.where !== null).toBe(true);
    }
    const human = await runCliOk(['cluster', 'status', '--data-dir', inject('clusterDataDir')]);
    expect(human.stdout).toMatch(/local cluster: running/);
    expect(human.stdout).toMatch(/kube-apiserver\s+running\s+\d+\s+127\.0\.0\.1:\d+/);
    // The runtime, kubelet, kube-proxy and DNS of the real node, where they listen.
    expect(human.stdout).toMatch(/real node\s+real-node at 10\.249\.\d+\.2/);
    expect(human.stdout).toMatch(/kubelet\s+running\s+\d+\s+10\.249\.\d+\.2:10250 in the node/);
    expect(human.stdout).toMatch(/coredns\s+running\s+\d+\s+10\.249\.\d+\.2:53 in the node/);
    expect(human.stdout).toMatch(/containerd\s+running\s+\d+\s+\S+containerd\.sock/);
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
    const { busybox } = await offlineImages();
    await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'survivor' }, spec: { containers: [{ name: 'c', image: busybox, command: ['sleep', '3600'] }] } } });
    const survivor = await waitPod(kc, 'default', 'survivor', 'Running', running);
    const before = await statusOf(dataDir);
    const address = before.status.realNode?.address ?? '';
    const sharedBefore = await statusOf(inject('clusterDataDir'));

    const down = JSON.parse((await runCliOk(['cluster', 'down', '--json', '--data-dir', dataDir])).stdout) as DownReport;
    expect(down.stopped.map((s) => s.id).sort()).toEqual([...CONTROL_PLANE, ...REAL_NODE].sort());
    expect(down.stopped.every((s) => s.result === 'stopped')).toBe(true);
    expect(down.leftovers).toEqual([]);
    // Nothing of the real node is left: no container, mount, interface, rule or cgroup.
    expect(await nodeTraces(dataDir, address)).toEqual([]);
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
    // The Pod bound to the real node runs again, in a new container.
    const oldContainer = survivor.status?.containerStatuses?.[0]?.containerID;
    const back = await waitPod(adminKubeConfig(again.kubeconfig), 'default', 'survivor', 'running in a new container', (p) => running(p) && p.status?.containerStatuses?.[0]?.containerID !== oldContainer, 90_000);
    expect(back.spec?.nodeName).toBe('real-node');
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
