/**
 * npm run bench:pods [-- --runs 20] [-- --execs 100] [-- --sandboxes 10] [-- --per-sandbox 5]
 *
 * Prints, measured in one run against a fresh local cluster with its real node (needs root):
 *   - `kubectl run` (a learner's kubeconfig, the offline busybox image) until the Pod's first log
 *     line can be read: p50 and p99 of `runs`; baseline: the same image started by the node's
 *     containerd itself (`ctr run`, no Kubernetes), until its first line;
 *   - an exec round trip through the API server and kubelet (websocket, as kubectl and the
 *     terminal do): p50 and p99 of `execs`; for reference `kubectl exec` (a process each) and
 *     the runtime's own `ctr task exec`;
 *   - sandboxes × per-sandbox Pods created at once, until every one is Running; baseline: as many
 *     containers started at once by `ctr run`;
 *   - the node's own memory (PSS of the kubelet, containerd, kube-proxy, CoreDNS, the
 *     NetworkPolicy agent and the API bridge), idle and with those Pods (their shims added).
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { CoreV1Api, Exec, type KubeConfig, type V1Status } from '@kubernetes/client-node';
import { Writable } from 'node:stream';
import { readVersions } from '../../server/cluster/build.ts';
import { listBuiltImages } from '../../server/cluster/images/builders.ts';
import { loadConfig } from '../../server/config.ts';
import type { ClusterStatus, UpReport } from '../../server/cluster/local.ts';
import { nodeDirs } from '../../server/cluster/paths.ts';
import { runCli, runCliOk } from '../helpers/cli.ts';
import { kubectlFor, offlineImages } from '../helpers/real-node.ts';
import { kubeConfigFrom, sandboxService } from '../helpers/sandboxes.ts';
import { percentile, printTable, verdict } from './report.ts';

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    execs: { type: 'string', default: '100' },
    sandboxes: { type: 'string', default: '10' },
    'per-sandbox': { type: 'string', default: '5' },
  },
});
const counts = { runs: Number(values.runs), execs: Number(values.execs), sandboxes: Number(values.sandboxes), perSandbox: Number(values['per-sandbox']) };
const ms = (n: number) => (n < 1000 ? `${n.toFixed(n < 100 ? 1 : 0)} ms` : `${(n / 1000).toFixed(2)} s`);
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

async function firstLog(kc: KubeConfig, namespace: string, name: string, line: string): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  for (;;) {
    const text = await core.readNamespacedPodLog({ name, namespace }).catch(() => '');
    if (typeof text === 'string' && text.includes(line)) return;
    await sleep(10);
  }
}

/** One exec through the API server and kubelet, until its output and exit status are back (`kubectl run` names the container after the Pod). */
function execOnce(kc: KubeConfig, namespace: string, pod: string): Promise<number> {
  const started = performance.now();
  let out = '';
  const sink = new Writable({
    write(chunk: Buffer, _e, done) {
      out += chunk.toString();
      done();
    },
  });
  return new Promise((resolve, reject) => {
    new Exec(kc)
      .exec(namespace, pod, pod, ['echo', 'pong'], sink, sink, null, false, (status: V1Status) => {
        if (status.status !== 'Success' || !out.includes('pong')) reject(new Error(`exec failed: ${status.message ?? out}`));
        else resolve(performance.now() - started);
      })
      .catch(reject);
  });
}

/** `ctr run` of the busybox image on the node's own containerd until its first line. */
function ctrRun(socket: string, image: string, id: string): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('ctr', ['--address', socket, '-n', 'kubedojo-bench', 'run', '--rm', image, id, 'sh', '-c', 'echo ready'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve(performance.now() - started);
    });
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`ctr run: ${err}`));
    });
  });
}

function loadedConfig() {
  const result = loadConfig();
  if (!result.ok) throw new Error(result.problems.join('\n'));
  return result.config;
}

async function pss(pids: number[]): Promise<number> {
  let total = 0;
  for (const pid of pids) {
    const rollup = await fs.readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => '');
    total += Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0) * 1024;
  }
  return total;
}

/** The node's processes: its components (and their children: the API bridge's forks), and container shims. */
async function nodePids(status: ClusterStatus, socket: string): Promise<{ components: number[]; shims: number[] }> {
  const ids = ['api-bridge', 'api-bridge-node', 'containerd', 'kube-network-policies', 'kubelet', 'kube-proxy', 'coredns'];
  const roots = status.components.filter((c) => ids.includes(c.id)).map((c) => c.pid ?? 0);
  const { stdout } = await run('ps', ['-eo', 'pid=,pgid=,args=']);
  const components: number[] = [];
  const shims: number[] = [];
  for (const line of stdout.split('\n')) {
    const [pid = 0, pgid = 0] = line.trim().split(/\s+/).map(Number);
    if (roots.includes(pgid)) components.push(pid);
    else if (line.includes('containerd-shim') && line.includes(socket)) shims.push(pid);
  }
  return { components, shims };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench:pods measures the real node, which needs root: run it as root');
  const versions = await readVersions();
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-bench-pods-'));
  console.log(`kubedojo bench: pods  (${os.availableParallelism()} cores, Node ${process.version}, Kubernetes ${versions.kubernetes}; fresh local cluster with its real node, etcd with fsync, offline images)`);
  try {
    const up = JSON.parse((await runCliOk(['cluster', 'up', '--json', '--data-dir', dataDir], { timeoutMs: 30 * 60_000 })).stdout) as UpReport;
    if (!up.realNode) throw new Error('the cluster came up without its real node');
    const socket = nodeDirs(dataDir).containerdSocket;
    const { busybox } = await offlineImages();
    const service = await sandboxService(up.kubeconfig, { maxPerLearner: 100, capacity: 10_000 }, { dataDir });
    const sandboxes = await Promise.all(Array.from({ length: counts.sandboxes }, (_, i) => service.create({ learnerId: `bench-${i}`, lesson: 'kubernetes-fundamentals' })));
    const first = sandboxes[0];
    if (!first) throw new Error('no sandbox');
    const kc = kubeConfigFrom(first.kubeconfig);
    const ns = first.sandbox.namespace;
    const kubectl = await kubectlFor(first.kubeconfig);
    const status = JSON.parse((await runCliOk(['cluster', 'status', '--json', '--data-dir', dataDir])).stdout) as ClusterStatus;

    // The baseline's containers live in a containerd namespace of their own, beside the CRI's.
    const built = (await listBuiltImages(loadedConfig().cacheDir)).find((i) => i.name === busybox);
    if (!built) throw new Error(`${busybox} is not in the image cache`);
    await run('ctr', ['--address', socket, '-n', 'kubedojo-bench', 'images', 'import', built.archive]);
    // Warm-up (not measured): the first container of the node, and kubectl's discovery cache.
    await kubectl(['run', 'warm', `--image=${busybox}`, '--restart=Never', '--', 'sh', '-c', 'echo warm; sleep 3600']);
    await firstLog(kc, ns, 'warm', 'warm');
    await ctrRun(socket, busybox, 'warm-ctr');
    await sleep(2000);
    const idle = await nodePids(status, socket);
    const idleBytes = await pss(idle.components);

    // Round the sandboxes, as a class would: each sandbox's quota holds 20 Pods.
    const learners = await Promise.all(sandboxes.map(async (s) => ({ s, kc: kubeConfigFrom(s.kubeconfig), kubectl: await kubectlFor(s.kubeconfig) })));
    const toLog: number[] = [];
    for (let i = 0; i < counts.runs; i += 1) {
      const who = learners[i % learners.length] ?? learners[0];
      if (!who) throw new Error('no sandbox');
      const started = performance.now();
      const made = await who.kubectl(['run', `run-${i}`, `--image=${busybox}`, '--restart=Never', '--', 'sh', '-c', `echo ready-${i}; sleep 3600`]);
      if (made.code !== 0) throw new Error(made.stderr);
      await firstLog(who.kc, who.s.sandbox.namespace, `run-${i}`, `ready-${i}`);
      toLog.push(performance.now() - started);
    }
    const ctrStarts: number[] = [];
    for (let i = 0; i < counts.runs; i += 1) ctrStarts.push(await ctrRun(socket, busybox, `ctr-${i}`));

    const execs: number[] = [];
    for (let i = 0; i < counts.execs; i += 1) execs.push(await execOnce(kc, ns, 'warm'));
    const kubectlExecs: number[] = [];
    for (let i = 0; i < 20; i += 1) {
      const started = performance.now();
      await kubectl(['exec', 'warm', '--', 'echo', 'pong']);
      kubectlExecs.push(performance.now() - started);
    }
    const ctrId = (await run('ctr', ['--address', socket, '-n', 'k8s.io', 'containers', 'list', '-q'])).stdout
      .split('\n')
      .filter(Boolean);
    const ctrExecs: number[] = [];
    const task = await (async () => {
      for (const id of ctrId) {
        const info = await run('ctr', ['--address', socket, '-n', 'k8s.io', 'containers', 'info', id]).catch(() => ({ stdout: '' }));
        if (info.stdout.includes('"io.kubernetes.pod.name": "warm"') && info.stdout.includes('"io.kubernetes.container.name": "warm"')) return id;
      }
      return undefined;
    })();
    if (task) {
      for (let i = 0; i < 20; i += 1) {
        const started = performance.now();
        await run('ctr', ['--address', socket, '-n', 'k8s.io', 'tasks', 'exec', '--exec-id', `b${i}`, task, 'echo', 'pong']);
        ctrExecs.push(performance.now() - started);
      }
    }

    // Many Pods at once, from many sandboxes, as a class would.
    const burstStarted = performance.now();
    await Promise.all(
      sandboxes.flatMap((s) =>
        Array.from({ length: counts.perSandbox }, (_, j) =>
          kubeConfigFrom(s.kubeconfig)
            .makeApiClient(CoreV1Api)
            .createNamespacedPod({
              namespace: s.sandbox.namespace,
              body: { metadata: { name: `burst-${j}` }, spec: { containers: [{ name: 'c', image: busybox, command: ['sleep', '3600'], resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '32Mi' } } }] } },
            }),
        ),
      ),
    );
    const admin = kubeConfigFrom(up.kubeconfig).makeApiClient(CoreV1Api);
    let onReal = 0;
    for (;;) {
      const pods = (await admin.listPodForAllNamespaces({ labelSelector: '' })).items.filter((p) => p.metadata?.name?.startsWith('burst-'));
      const runningPods = pods.filter((p) => p.status?.containerStatuses?.[0]?.state?.running);
      if (runningPods.length === sandboxes.length * counts.perSandbox) {
        onReal = runningPods.filter((p) => p.spec?.nodeName === 'real-node').length;
        break;
      }
      await sleep(50);
    }
    const burst = performance.now() - burstStarted;
    const busy = await nodePids(status, socket);
    const busyBytes = await pss([...busy.components, ...busy.shims]);
    const ctrBurstStarted = performance.now();
    await Promise.all(Array.from({ length: sandboxes.length * counts.perSandbox }, (_, i) => ctrRun(socket, busybox, `burst-ctr-${i}`)));
    const ctrBurst = performance.now() - ctrBurstStarted;

    const [l, c, e, k, x] = [sorted(toLog), sorted(ctrStarts), sorted(execs), sorted(kubectlExecs), sorted(ctrExecs)];
    const mib = (b: number) => `${(b / 1024 ** 2).toFixed(0)} MiB`;
    const total = sandboxes.length * counts.perSandbox;
    printTable([
      ['measure', 'result', 'goal', ''],
      [`kubectl run → Running with its first log line, ${counts.runs} in turn`, `p50 ${ms(percentile(l, 50))}, p99 ${ms(percentile(l, 99))}`, 'p50 ≤ 2 s', verdict(percentile(l, 50) <= 2000)],
      ['  baseline: ctr run on the node’s containerd (no Kubernetes), first line', `p50 ${ms(percentile(c, 50))}, p99 ${ms(percentile(c, 99))}`, '', ''],
      [`exec round trip (API server → kubelet → runtime), ${counts.execs}`, `p50 ${ms(percentile(e, 50))}, p99 ${ms(percentile(e, 99))}`, 'p99 ≤ 50 ms', verdict(percentile(e, 99) <= 50)],
      ['  kubectl exec (a new process each), 20', `p50 ${ms(percentile(k, 50))}`, '', ''],
      ['  baseline: ctr task exec on the runtime (a new process each), 20', x.length > 0 ? `p50 ${ms(percentile(x, 50))}` : 'n/a', '', ''],
      [`${total} Pods from ${sandboxes.length} sandboxes at once, until all Running (${onReal} on the real node)`, ms(burst), '≤ 15 s', verdict(burst <= 15_000 && onReal === total)],
      [`  baseline: ${total} containers by ctr run at once`, ms(ctrBurst), '', ''],
      ['node memory, idle (kubelet, containerd, kube-proxy, CoreDNS, NetworkPolicy agent, API bridge; PSS)', mib(idleBytes), '≤ 300 MB', verdict(idleBytes <= 300 * 1e6)],
      [`node memory with ${total} Pods (and their ${busy.shims.length} shims)`, mib(busyBytes), '', ''],
    ]);
    service.stop();
  } finally {
    await runCli(['cluster', 'down', '--data-dir', dataDir]);
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}

await main();
