/**
 * npm run bench:cluster [-- --cold] [-- --runs N] [-- --writes N]
 *
 * Prints, measured in this run against the real local cluster:
 *   - first `cluster up` in a new data directory (certificates, etcd bootstrap, node pool);
 *   - warm `cluster up` to ready (after `down`), over several runs (goal: 15 s or less);
 *   - API round trip of a small write (ConfigMap create), p50 and p99;
 *   - the cold control-plane build: with --cold, measured now with empty Go caches (takes
 *     minutes); otherwise the last --cold measurement saved in the cache directory.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import { readVersions } from '../../server/cluster/build.ts';
import { loadConfig } from '../../server/config.ts';
import { formatDuration } from '../../server/progress.ts';
import { runCli, runCliOk } from '../helpers/cli.ts';
import { adminKubeConfig } from '../helpers/cluster.ts';
import { percentile } from './report.ts';

const { values } = parseArgs({
  options: { cold: { type: 'boolean', default: false }, runs: { type: 'string', default: '5' }, writes: { type: 'string', default: '500' } },
});
const runs = Number(values.runs);
const writes = Number(values.writes);


const config = (() => {
  const result = loadConfig();
  if (!result.ok) throw new Error(result.problems.join('\n'));
  return result.config;
})();
const coldFile = path.join(config.cacheDir, 'bench', 'cold-build.json');

interface ColdBuild {
  seconds: number;
  measuredAt: string;
  components: { name: string; buildSeconds: number }[];
}

async function measureColdBuild(): Promise<ColdBuild> {
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-cold-'));
  try {
    process.stderr.write(`cold build: empty GOCACHE, GOMODCACHE and cache dir under ${scratch} (several minutes)\n`);
    const started = performance.now();
    const result = await runCliOk(['cluster', 'build', '--json', '--cache-dir', path.join(scratch, 'cache')], {
      env: { GOCACHE: path.join(scratch, 'gocache'), GOMODCACHE: path.join(scratch, 'gomod'), GOFLAGS: '-modcacherw' },
      timeoutMs: 60 * 60_000,
    });
    const seconds = (performance.now() - started) / 1000;
    const report = JSON.parse(result.stdout) as { components: { name: string; buildSeconds: number }[] };
    const cold: ColdBuild = { seconds, measuredAt: new Date().toISOString(), components: report.components.map((c) => ({ name: c.name, buildSeconds: c.buildSeconds })) };
    await fs.mkdir(path.dirname(coldFile), { recursive: true });
    await fs.writeFile(coldFile, JSON.stringify(cold, null, 2));
    return cold;
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const versions = await readVersions();
  const cpus = os.cpus().length;
  console.log(`kubedojo bench: cluster  (${cpus} cores, Node ${process.version}, Kubernetes ${versions.kubernetes}, etcd ${versions.etcd}, kwok ${versions.kwok})`);

  let cold: ColdBuild | undefined;
  if (values.cold) cold = await measureColdBuild();
  else cold = await fs.readFile(coldFile, 'utf8').then((t) => JSON.parse(t) as ColdBuild).catch(() => undefined);

  await runCliOk(['cluster', 'build']);
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-bench-'));
  try {
    const t0 = performance.now();
    const first = JSON.parse((await runCliOk(['cluster', 'up', '--json', '--data-dir', dataDir])).stdout) as { kubeconfig: string };
    const firstUp = performance.now() - t0;

    const warm: number[] = [];
    for (let i = 0; i < runs; i += 1) {
      await runCliOk(['cluster', 'down', '--data-dir', dataDir]);
      const start = performance.now();
      await runCliOk(['cluster', 'up', '--data-dir', dataDir]);
      warm.push(performance.now() - start);
    }
    warm.sort((a, b) => a - b);

    const kc = adminKubeConfig(first.kubeconfig);
    const core = kc.makeApiClient(CoreV1Api);
    const namespace = 'bench-rtt';
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    const latencies: number[] = [];
    for (let i = 0; i < writes + 20; i += 1) {
      const start = performance.now();
      await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: `cm-${i}` }, data: { key: 'value' } } });
      if (i >= 20) latencies.push(performance.now() - start);
    }
    latencies.sort((a, b) => a - b);

    const ms = (n: number) => `${n.toFixed(1)} ms`;
    const goal = (ok: boolean) => (ok ? 'meets goal' : 'MISSES goal');
    console.log('');
    console.log(`first cluster up (new data dir, cached binaries)   ${formatDuration(firstUp)}`);
    console.log(
      `warm cluster up to ready (down → up), ${runs} runs      p50 ${formatDuration(percentile(warm, 50))}  max ${formatDuration(warm.at(-1) ?? 0)}   goal ≤ 15 s: ${goal((warm.at(-1) ?? Infinity) <= 15_000)}`,
    );
    console.log(`API round trip, small write (ConfigMap create), ${writes} sequential   p50 ${ms(percentile(latencies, 50))}  p99 ${ms(percentile(latencies, 99))}  (etcd with fsync)`);
    if (cold) {
      const parts = cold.components.map((c) => `${c.name} ${formatDuration(c.buildSeconds * 1000)}`).join(', ');
      console.log(`cold control-plane build (empty Go caches)          ${formatDuration(cold.seconds * 1000)}  [${parts}]  measured ${cold.measuredAt.slice(0, 16)}${values.cold ? ' (now)' : ' (saved; --cold re-measures)'}`);
    } else {
      console.log('cold control-plane build                            not measured yet: run npm run bench:cluster -- --cold');
    }
    console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown cpu'}, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB, ${execFileSync('uname', ['-sr']).toString().trim()}`);
  } finally {
    await runCli(['cluster', 'down', '--data-dir', dataDir]);
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}

await main();
