/**
 * npm run bench:workshop [-- --participants 200] [-- --window 10]
 *
 * Prints, measured in one run against a fresh local cluster and the real server (`kubedojo
 * serve`, its own process, as in production):
 *   - `participants` people joining one workshop within `window` seconds, each over REST with
 *     its own socket.io connection, the warm pool sized for them: each join's own latency, from
 *     its request to a working sandbox (a request made with its credentials works), p50/p99/max,
 *     and the time from the first join until every participant works;
 *   - the same for a second workshop whose `participants` all join at the same instant;
 *   - every participant pressing Check at once: the delay from each check finishing (the run's
 *     finishedAt, stamped by the server from the machine's wall clock, which this process reads
 *     too) to the instructor's grid receiving the row that carries that run: p50 / p99 / max,
 *     unclamped.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { Socket } from 'socket.io-client';
import type { CheckRunView, GridRow, JoinResponse, WorkshopView } from '../../server/protocol.ts';
import { runCli, runCliOk } from '../helpers/cli.ts';
import { browser, type Browser } from '../helpers/http.ts';
import { connectLive as connect, percentile, printTable, serveFor, verdict, type Served } from './report.ts';

const { values } = parseArgs({ options: { participants: { type: 'string', default: '200' }, window: { type: 'string', default: '10' } } });
const counts = { participants: Number(values.participants), windowMs: Number(values.window) * 1000 };

const ms = (n: number) => (n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${n.toFixed(0)} ms`);
const phase = (text: string) => process.stderr.write(`… ${text}\n`);
const sleep = (msec: number) => new Promise((r) => setTimeout(r, msec));

/** Where each join's time went: the join request, the socket's connect, the first Kubernetes request. */
interface Stages {
  join: number[];
  socket: number[];
  kube: number[];
}
const stagesOf = (s: Stages) => `${ms(percentile(s.join, 50))} / ${ms(percentile(s.socket, 50))} / ${ms(percentile(s.kube, 50))}`;

const spreadOf = (sorted: readonly number[]) => `${ms(percentile(sorted, 50))} / ${ms(percentile(sorted, 99))} / ${ms(sorted[sorted.length - 1] ?? Number.NaN)}`;

/** A workshop for `participants`, returned once its warm pool holds a sandbox for each seat. */
async function workshopWithPool(instructor: Browser, title: string): Promise<WorkshopView> {
  const created = await instructor('POST', '/api/workshops', {
    title,
    lessons: ['kubernetes-fundamentals'],
    seats: counts.participants,
    startsAt: new Date(Date.now() + 5 * 60_000).toISOString(),
    endsAt: new Date(Date.now() + 3 * 3_600_000).toISOString(),
    sandboxSize: 'small',
  });
  if (created.status !== 201) throw new Error(`workshop: ${created.text}`);
  const workshop = created.json as WorkshopView;
  const started = performance.now();
  for (;;) {
    const view = (await instructor('GET', `/api/workshops/${workshop.id}`)).json as WorkshopView;
    if (view.warmSandboxes >= counts.participants) return workshop;
    if (performance.now() - started > 600_000) throw new Error(`the pool reached only ${view.warmSandboxes}`);
    await sleep(500);
  }
}

interface Joined {
  send: Browser;
  socket: Socket;
  learnerId: string;
  namespace: string;
}

/**
 * Every participant joins `code`, spread evenly over `windowMs` (0: all at once), connects its
 * socket and makes a request with its sandbox's credentials. Each join's latency runs from its
 * own request until that request worked; `allWorking` from the first join until the last works.
 */
async function joinAll(url: string, platform: string, code: string, windowMs: number, sockets: Socket[]): Promise<{ joined: Joined[]; latencies: number[]; allWorking: number; stages: Stages }> {
  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: counts.participants }, async (_, i) => {
      if (windowMs > 0) await sleep((i / counts.participants) * windowMs);
      const requested = performance.now();
      const send = browser(() => url);
      const joined = await send('POST', '/api/join', { code, displayName: `Participant ${i + 1}` });
      if (joined.status !== 201) throw new Error(`join ${i}: ${joined.text}`);
      const answered = performance.now();
      const body = joined.json as JoinResponse;
      if (!body.sandbox) throw new Error(`join ${i} got no sandbox: ${body.problem ?? ''}`);
      const socket = await connect(url, send);
      sockets.push(socket);
      const connected = performance.now();
      const kc = new KubeConfig();
      kc.loadFromFile(path.join(platform, 'sandboxes', body.sandbox.namespace, 'kubeconfig'));
      await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: body.sandbox.namespace });
      const done = performance.now();
      const stage = { join: answered - requested, socket: connected - answered, kube: done - connected };
      return { joined: { send, socket, learnerId: body.learner.id, namespace: body.sandbox.namespace }, latency: done - requested, at: done - started, stage };
    }),
  );
  return {
    joined: results.map((r) => r.joined),
    latencies: results.map((r) => r.latency).sort((a, b) => a - b),
    allWorking: Math.max(...results.map((r) => r.at)),
    stages: {
      join: results.map((r) => r.stage.join).sort((a, b) => a - b),
      socket: results.map((r) => r.stage.socket).sort((a, b) => a - b),
      kube: results.map((r) => r.stage.kube).sort((a, b) => a - b),
    },
  };
}

async function main(): Promise<void> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-bench-ws-'));
  console.log(`kubedojo bench: workshop  (${os.availableParallelism()} cores, Node ${process.version}; fresh local cluster, etcd with fsync, kubedojo serve in its own process)`);
  let served: Served | undefined;
  const sockets: Socket[] = [];
  try {
    const up = JSON.parse((await runCliOk(['cluster', 'up', '--json', '--data-dir', dataDir])).stdout) as { kubeconfig: string };
    const platform = path.join(dataDir, 'platform');
    const made = await runCliOk(['admin', 'create', '--username', 'instructor', '--role', 'instructor', '--data-dir', platform]);
    const password = /shown once[^:]*: (\S+)/.exec(made.stdout)?.[1] ?? '';
    // Every participant comes from this one machine: the per-address limits are for strangers
    // (bench:security measures a classroom behind one NAT address with the defaults).
    served = await serveFor(['--data-dir', platform, '--kubeconfig', up.kubeconfig, '--sandbox-capacity', '2000', '--reap-interval', '0', '--rate-limits', 'sandboxes-address=100000/1m,checks-address=100000/1m']);
    const url = served.url;

    const instructor = browser(() => url);
    if ((await instructor('POST', '/api/auth/login', { username: 'instructor', password })).status !== 200) throw new Error('the instructor could not sign in');

    phase(`warm pools: ${counts.participants} sandboxes before the start, for each of two workshops`);
    const fillStarted = performance.now();
    const spread = await workshopWithPool(instructor, 'bench (spread)');
    const fillSeconds = (performance.now() - fillStarted) / 1000;
    const burstWorkshop = await workshopWithPool(instructor, 'bench (burst)');

    const grid = await connect(url, instructor);
    sockets.push(grid);
    const ack = (await grid.emitWithAck('grid:watch', { workshopId: spread.id })) as { ok: boolean };
    if (!ack.ok) throw new Error('the instructor could not watch the grid');
    // When each row carrying a finished check arrived, keyed by learner and the run's finishedAt.
    const rowsSeen = new Map<string, number>();
    grid.on('grid:row', (update: { row: GridRow }) => {
      const at = Date.now();
      const cell = update.row.cells.find((c) => c.exercise === 'deploy-web');
      const key = `${update.row.learnerId} ${cell?.lastCheckedAt ?? ''}`;
      if (cell?.lastCheckedAt && !rowsSeen.has(key)) rowsSeen.set(key, at);
    });

    phase(`${counts.participants} participants join within ${counts.windowMs / 1000} s`);
    const participants = await joinAll(url, platform, spread.code, counts.windowMs, sockets);
    phase(`${counts.participants} participants join another workshop at the same instant`);
    const burst = await joinAll(url, platform, burstWorkshop.code, 0, sockets);

    phase(`${counts.participants} participants press Check at once`);
    // Each learner's page hears its own result over its socket, as the browser does.
    const finished = await Promise.all(
      participants.joined.map(async (p) => {
        const done = new Promise<CheckRunView>((resolve) => {
          p.socket.on('check:finished', (run: CheckRunView) => {
            resolve(run);
          });
        });
        const started = await p.send('POST', `/api/sandboxes/${p.namespace}/checks`, { exercise: 'deploy-web' });
        if (started.status !== 202) throw new Error(`check: ${started.text}`);
        const run = await done;
        return { learnerId: p.learnerId, finishedAt: run.finishedAt ?? '' };
      }),
    );
    await sleep(2000);
    const delays = finished
      .map((f) => {
        const seen = rowsSeen.get(`${f.learnerId} ${f.finishedAt}`);
        return seen === undefined ? Number.POSITIVE_INFINITY : seen - Date.parse(f.finishedAt);
      })
      .sort((a, b) => a - b);
    const missing = delays.filter((d) => !Number.isFinite(d)).length;

    const rows = [
      ['MEASURE', 'RESULT', 'GOAL', ''],
      [`warm pool for ${counts.participants} seats, filled before the start`, `${fillSeconds.toFixed(1)} s`, '', ''],
      [`${counts.participants} participants join within ${counts.windowMs / 1000} s: all with a working sandbox`, `${ms(participants.allWorking)} after the first join`, '≤ 15 s', verdict(participants.allWorking <= 15_000)],
      ['  each join, request to a working sandbox: p50 / p99 / max', spreadOf(participants.latencies), '', ''],
      ['  p50 of its parts: join request / socket connect / first Kubernetes request', stagesOf(participants.stages), '', ''],
      [`${counts.participants} participants join at the same instant: all with a working sandbox`, ms(burst.allWorking), '≤ 15 s', verdict(burst.allWorking <= 15_000)],
      ['  each join, request to a working sandbox: p50 / p99 / max', spreadOf(burst.latencies), '', ''],
      ['  p50 of its parts: join request / socket connect / first Kubernetes request', stagesOf(burst.stages), '', ''],
      [`check finished → instructor grid, ${counts.participants} checks at once: p50`, ms(percentile(delays, 50)), '', ''],
      ['check finished → instructor grid: p99 / max', `${ms(percentile(delays, 99))} / ${ms(delays[delays.length - 1] ?? Number.NaN)}${missing > 0 ? ` (${missing} never shown!)` : ''}`, '≤ 1 s', verdict(percentile(delays, 99) <= 1000 && missing === 0)],
    ];
    printTable(rows);
  } finally {
    for (const socket of sockets) socket.close();
    await served?.stop();
    await runCli(['cluster', 'down', '--data-dir', dataDir]);
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}

await main();
