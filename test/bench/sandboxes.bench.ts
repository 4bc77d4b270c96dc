/**
 * npm run bench:sandboxes [-- --single 40] [-- --pool 30] [-- --burst 100] [-- --baseline 10]
 *
 * Prints, measured in one run against a fresh local cluster (etcd with fsync, as users run it):
 *   - one sandbox from nothing to a learner kubeconfig that works (a request made with it): p50, p99;
 *   - a claim from the warm pool, until its kubeconfig works: p50, p99;
 *   - `burst` sandboxes requested at once: time until every one works;
 *   - the baseline a user has: the same objects with `kubectl apply -f` (plus `kubectl create
 *     token` and a request with the result), one sandbox after another and `burst` at once in
 *     parallel, and our ratio to each.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { promisify } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { ensureControlPlane, readVersions } from '../../server/cluster/build.ts';
import { silentLogger } from '../../server/logger.ts';
import { silentProgress } from '../../server/progress.ts';
import { learnerKey, lessonKey } from '../../server/sandboxes/names.ts';
import type { SandboxService } from '../../server/sandboxes/service.ts';
import { renderSandbox } from '../../server/sandboxes/template.ts';
import { loadConfig } from '../../server/config.ts';
import { runCli, runCliOk } from '../helpers/cli.ts';
import { kubeConfigFrom, sandboxService } from '../helpers/sandboxes.ts';
import { percentile, printTable, verdict } from './report.ts';

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    single: { type: 'string', default: '40' },
    pool: { type: 'string', default: '30' },
    burst: { type: 'string', default: '100' },
    baseline: { type: 'string', default: '10' },
  },
});
const counts = { single: Number(values.single), pool: Number(values.pool), burst: Number(values.burst), baseline: Number(values.baseline) };

const ms = (n: number) => `${n.toFixed(n < 100 ? 1 : 0)} ms`;

async function works(kubeconfig: string, namespace: string): Promise<void> {
  await kubeConfigFrom(kubeconfig).makeApiClient(CoreV1Api).listNamespacedPod({ namespace });
}

async function timedCreate(service: SandboxService, learner: string): Promise<{ ms: number; fromPool: boolean }> {
  const started = performance.now();
  const access = await service.create({ learnerId: learner, lesson: 'kubernetes-fundamentals', size: 'small' });
  await works(access.kubeconfig, access.sandbox.namespace);
  return { ms: performance.now() - started, fromPool: access.fromPool };
}

/**
 * The baseline: one sandbox's objects applied with kubectl, a token made for its learner, and a
 * request made with a kubeconfig holding it. Returns the milliseconds until that request worked.
 */
async function kubectlSandbox(kubectl: string, kubeconfig: string, cluster: { server?: string; caData?: string }, baseDir: string, namespace: string): Promise<number> {
  const objects = renderSandbox({
    namespace,
    sandboxId: namespace,
    learnerKey: learnerKey(namespace),
    learnerName: namespace,
    lesson: 'kubernetes-fundamentals',
    lessonKey: lessonKey('kubernetes-fundamentals'),
    workshop: 'none',
    size: 'small',
    nodes: 'auto',
    createdAt: new Date().toISOString(),
    expiresAt: new Date(Date.now() + 7_200_000).toISOString(),
  });
  const dir = path.join(baseDir, namespace);
  await fs.mkdir(dir, { recursive: true });
  // Namespace first in its own file: kubectl applies files in name order.
  await fs.writeFile(path.join(dir, '0-namespace.yaml'), stringify(objects[0]));
  await fs.writeFile(path.join(dir, '1-objects.yaml'), objects.slice(1).map((o) => stringify(o)).join('---\n'));
  const started = performance.now();
  await run(kubectl, ['--kubeconfig', kubeconfig, 'apply', '--server-side', '--field-manager', 'kubedojo', '-f', dir]);
  const { stdout: token } = await run(kubectl, ['--kubeconfig', kubeconfig, '-n', namespace, 'create', 'token', 'kubedojo-learner', '--duration', '2h']);
  const learnerConfig = path.join(dir, 'kubeconfig');
  await fs.writeFile(
    learnerConfig,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: cluster.server, 'certificate-authority-data': cluster.caData } }],
      users: [{ name: 'u', user: { token: token.trim() } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u', namespace } }],
      'current-context': 'c',
    }),
  );
  await run(kubectl, ['--kubeconfig', learnerConfig, 'get', 'pods']);
  return performance.now() - started;
}

async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.ok) throw new Error(config.problems.join('\n'));
  const versions = await readVersions();
  const controlPlane = await ensureControlPlane({ cacheDir: config.config.cacheDir, go: 'go', env: config.config.env, progress: silentProgress, logger: silentLogger() });
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-bench-sbx-'));
  console.log(`kubedojo bench: sandboxes  (${os.availableParallelism()} cores, Node ${process.version}, Kubernetes ${versions.kubernetes}; fresh local cluster, etcd with fsync)`);
  try {
    const up = JSON.parse((await runCliOk(['cluster', 'up', '--json', '--data-dir', dataDir])).stdout) as { kubeconfig: string };
    const settings = { maxPerLearner: 10, capacity: 10_000, ttlMinutes: 120 };
    const service = await sandboxService(up.kubeconfig, settings, { dataDir });
    // As the server runs it: policies installed, the sandbox watch started.
    await service.start();
    // Installs the policies and warms discovery: not part of any figure.
    await timedCreate(service, 'warm-up');

    const single: number[] = [];
    for (let i = 0; i < counts.single; i += 1) single.push((await timedCreate(service, `single-${i}`)).ms);
    single.sort((a, b) => a - b);

    const pooled = await sandboxService(up.kubeconfig, { ...settings, warmPool: counts.pool, warmPoolSize: 'small' }, { dataDir });
    await pooled.start();
    await pooled.fillPool();
    // Claims would refill the pool in the background; measure claims, not refills competing with them.
    pooled.setWarmPool(0);
    const claims: number[] = [];
    for (let i = 0; i < counts.pool; i += 1) {
      const claim = await timedCreate(pooled, `pool-${i}`);
      if (!claim.fromPool) throw new Error('the pool ran dry during the benchmark');
      claims.push(claim.ms);
    }
    pooled.stop();
    claims.sort((a, b) => a - b);

    const burstStarted = performance.now();
    await Promise.all(Array.from({ length: counts.burst }, (_, i) => timedCreate(service, `burst-${i}`)));
    const burst = performance.now() - burstStarted;

    // Baseline: what an operator would script with kubectl, one sandbox after another, then
    // `burst` of them at once in parallel (as a script with `&` would).
    const kubectl = controlPlane.binaries.kubectl;
    const admin = kubeConfigFrom(up.kubeconfig).getCurrentCluster();
    const script = (name: string) => kubectlSandbox(kubectl, up.kubeconfig, { server: admin?.server, caData: admin?.caData }, path.join(dataDir, 'baseline'), name);
    const baseline: number[] = [];
    for (let i = 0; i < counts.baseline; i += 1) baseline.push(await script(`kd-baseline-${i}`));
    baseline.sort((a, b) => a - b);
    const parallelStarted = performance.now();
    await Promise.all(Array.from({ length: counts.burst }, (_, i) => script(`kd-baseline-p${i}`)));
    const parallel = performance.now() - parallelStarted;

    const p50 = percentile(single, 50);
    const rows = [
      ['MEASURE', 'RESULT', 'GOAL', ''],
      [`one sandbox to a working kubeconfig, ${counts.single} in turn: p50`, ms(p50), '≤ 150 ms', verdict(p50 <= 150)],
      ['one sandbox to a working kubeconfig: p99', ms(percentile(single, 99)), '≤ 400 ms', verdict(percentile(single, 99) <= 400)],
      [`claim from the warm pool to a working kubeconfig, ${counts.pool} claims: p50`, ms(percentile(claims, 50)), '≤ 20 ms', verdict(percentile(claims, 50) <= 20)],
      ['claim from the warm pool to a working kubeconfig: p99', ms(percentile(claims, 99)), '', ''],
      [`${counts.burst} sandboxes requested at once: all working`, ms(burst), '≤ 10000 ms', verdict(burst <= 10_000)],
      [`baseline: kubectl apply -f + create token, ${counts.baseline} in turn: p50`, ms(percentile(baseline, 50)), '', ''],
      ['ratio, one sandbox: kubectl p50 / kubedojo p50', `${(percentile(baseline, 50) / p50).toFixed(1)}× faster`, '', ''],
      [`baseline: the kubectl script for ${counts.burst} sandboxes at once, in parallel: all working`, ms(parallel), '', ''],
      [`ratio, ${counts.burst} sandboxes at once: kubectl in parallel / kubedojo burst`, `${(parallel / burst).toFixed(1)}× faster`, '', ''],
    ];
    printTable(rows);
    service.stop();
  } finally {
    await runCli(['cluster', 'down', '--data-dir', dataDir]);
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}

await main();
