import { execFile } from 'node:child_process';
import os from 'node:os';
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { ensureControlPlane } from '../../server/cluster/build.ts';
import { offlineImageNames } from '../../server/cluster/images/builders.ts';
import type { OfflineImageId } from '../../server/cluster/images/recipes.ts';
import { loadConfig } from '../../server/config.ts';
import { silentLogger } from '../../server/logger.ts';
import { silentProgress } from '../../server/progress.ts';
import { eventually } from './cluster.ts';

/** kubectl as a learner types it, with the sandbox's own kubeconfig. */

export interface Kubectl {
  (args: string[], options?: { stdin?: string; timeoutMs?: number }): Promise<{ code: number; stdout: string; stderr: string }>;
  path: string;
}

function settings() {
  const result = loadConfig({}, { HOME: os.homedir(), PATH: process.env.PATH });
  if (!result.ok) throw new Error(result.problems.join('\n'));
  return result.config;
}

export async function kubectlFor(kubeconfig: string): Promise<Kubectl> {
  const config = settings();
  const cp = await ensureControlPlane({ cacheDir: config.cacheDir, go: config.go, env: config.env, progress: silentProgress, logger: silentLogger() });
  const binary = cp.binaries.kubectl;
  const run = (args: string[], options: { stdin?: string; timeoutMs?: number } = {}) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(binary, [`--kubeconfig=${kubeconfig}`, ...args], { timeout: options.timeoutMs ?? 60_000, maxBuffer: 8 * 1024 * 1024 }, (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      });
      if (options.stdin !== undefined) child.stdin?.end(options.stdin);
    });
  return Object.assign(run, { path: binary });
}

/** The project's offline images (built by `cluster up`), by id. */
export async function offlineImages(): Promise<Record<OfflineImageId, string>> {
  const config = settings();
  return offlineImageNames({ env: config.env, go: config.go, logger: silentLogger() });
}

export async function podOf(kc: KubeConfig, namespace: string, name: string): Promise<V1Pod | undefined> {
  return kc
    .makeApiClient(CoreV1Api)
    .readNamespacedPod({ name, namespace })
    .catch(() => undefined);
}

/** Waits until `check` holds for the Pod, returning it. */
export function waitPod(kc: KubeConfig, namespace: string, name: string, what: string, check: (pod: V1Pod) => boolean, timeoutMs = 60_000): Promise<V1Pod> {
  return eventually(async () => {
    const pod = await podOf(kc, namespace, name);
    return pod && check(pod) ? pod : undefined;
  }, `${namespace}/${name}: ${what}`, timeoutMs, 100);
}

export const running = (pod: V1Pod): boolean => pod.status?.containerStatuses?.every((c) => c.state?.running) === true && (pod.status.containerStatuses.length > 0);

/**
 * What a real node could leave on the machine after `cluster down`, each named: its network
 * namespace, host link, iptables rules, cgroups, mounts under the data dir, and processes
 * (container shims, the API bridge) tied to the data dir.
 */
export async function nodeTraces(dataDir: string, nodeAddress: string): Promise<string[]> {
  const slot = /^10\.249\.(\d+)\.2$/.exec(nodeAddress)?.[1];
  if (slot === undefined) return [`not a real node's address: ${JSON.stringify(nodeAddress)}`];
  const traces: string[] = [];
  const fsp = await import('node:fs/promises');
  const sh = (command: string) =>
    new Promise<string>((resolve) => {
      execFile('sh', ['-c', command], (_error, stdout) => {
        resolve(stdout);
      });
    });
  if (await fsp.access(`/run/netns/kubedojo-${slot}`).then(() => true, () => false)) traces.push(`network namespace kubedojo-${slot}`);
  if ((await sh(`ip -o link show kdh${slot} 2>/dev/null`)).trim() !== '') traces.push(`host link kdh${slot}`);
  const rules = (await sh(`{ iptables-save; iptables-save -t nat; } 2>/dev/null | grep -E 'KUBEDOJO-${slot}\\b|real node ${slot}"' || true`)).trim();
  if (rules !== '') traces.push(`iptables: ${rules.split('\n')[0] ?? ''}`);
  for (const controller of ['memory', 'pids', 'cpu,cpuacct', 'cpuset']) {
    if (await fsp.access(`/sys/fs/cgroup/${controller}/kubedojo-${slot}`).then(() => true, () => false)) traces.push(`cgroup ${controller}/kubedojo-${slot}`);
  }
  const mounts = (await fsp.readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter((l) => l.includes(dataDir));
  if (mounts.length > 0) traces.push(`${mounts.length} mounts under ${dataDir}`);
  const processes = (await sh(`ps -eo args= | grep -F ${JSON.stringify(dataDir)} | grep -v grep || true`)).trim();
  if (processes !== '') traces.push(`processes: ${processes.split('\n').slice(0, 3).join(' | ')}`);
  return traces;
}
