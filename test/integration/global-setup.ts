import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { runCli, runCliOk } from '../helpers/cli.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin kubeconfig of the shared test cluster. */
    kubeconfig: string;
    /** The shared cluster's data dir (for CLI calls against it). */
    clusterDataDir: string;
  }
}

/**
 * Starts one real embedded cluster (etcd, kube-apiserver, controller-manager, scheduler, kwok,
 * metrics-server) in a fresh data directory for the integration suite, through the real CLI. It
 * never skips: if the control plane cannot be built or started, the suite fails with the reason.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-it-'));
  process.stderr.write(`integration: starting a local cluster in ${dataDir}\n`);
  const up = await runCli(['cluster', 'up', '--data-dir', dataDir, '--etcd-unsafe-no-fsync', '--json'], { timeoutMs: 30 * 60_000 });
  if (up.code !== 0) {
    throw new Error(
      `The integration tests need the real local cluster and it did not start (exit ${up.code}).\n` +
        `Build it with "npm run cluster:build" first if it is not built.\n${up.stderr}`,
    );
  }
  const report = JSON.parse(up.stdout) as { kubeconfig: string; durationMs: number };
  process.stderr.write(`integration: cluster ready in ${report.durationMs} ms\n`);
  project.provide('kubeconfig', report.kubeconfig);
  project.provide('clusterDataDir', dataDir);
  return async () => {
    await runCliOk(['cluster', 'down', '--data-dir', dataDir]);
    await fs.rm(dataDir, { recursive: true, force: true });
  };
}
