/**
 * npm run bench:scale [-- --participants 200] [-- --replicas 1,2]
 *
 * kubedojo with several replicas, side by side with one: for each replica count, that many
 * `kubedojo serve` processes (each its own process, as Pods of the Deployment would be) share
 * one real PostgreSQL (the socket.io adapter included) and one fresh local cluster, and the
 * clients are spread over them as a load balancer with sticky sockets would. Printed per
 * replica count:
 *   - `participants` people joining one workshop at the same instant (REST + a socket.io
 *     connection each, on the replica the balancer gave them): each join's own latency, from its
 *     request to a working sandbox (a request with its credentials works), p50/p99/max, and the
 *     time until every participant works;
 *   - every participant pressing Check at once on its replica: the delay from each check
 *     finishing (finishedAt, stamped by the replica that ran it, from this machine's one clock)
 *     to the instructor's grid, connected to the first replica, receiving the row: p50/p99/max,
 *     unclamped; a row that never arrives is counted and fails the goal.
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
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { connectLive as connect, percentile, printTable, serveFor, verdict, type Served } from './report.ts';

const { values } = parseArgs({ options: { participants: { type: 'string', default: '200' }, replicas: { type: 'string', default: '1,2' } } });
const participants = Number(values.participants);
const replicaCounts = values.replicas.split(',').map(Number);
if (!Number.isInteger(participants) || participants < 1) throw new Error('--participants must be a positive whole number');
if (replicaCounts.some((n) => !Number.isInteger(n) || n < 1 || n > 8)) throw new Error('--replicas must list whole numbers from 1 to 8, e.g. 1,2');

const JOIN_GOAL_MS = 15_000;
const GRID_GOAL_MS = 1_000;
const ms = (n: number) => (!Number.isFinite(n) ? '—' : n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${n.toFixed(0)} ms`);
const phase = (text: string) => process.stderr.write(`… ${text}\n`);
const sleep = (msec: number) => new Promise((r) => setTimeout(r, msec));
const spread = (sorted: readonly number[]) => `${ms(percentile(sorted, 50))} / ${ms(percentile(sorted, 99))} / ${ms(sorted.at(-1) ?? Number.NaN)}`;

interface Round {
  replicas: number;
  poolSeconds: number;
  joins: number[];
  allWorking: number;
  grid: number[];
  missing: number;
}

/** A workshop whose warm pool holds a sandbox for every seat (filled by the leading replica). */
async function workshopWithPool(instructor: Browser): Promise<WorkshopView> {
  const created = await instructor('POST', '/api/workshops', {
    title: 'bench (scale)',
    lessons: ['kubernetes-fundamentals'],
    seats: participants,
    startsAt: new Date(Date.now() + 5 * 60_000).toISOString(),
    endsAt: new Date(Date.now() + 3 * 3_600_000).toISOString(),
    sandboxSize: 'small',
  });
  if (created.status !== 201) throw new Error(`workshop: ${created.text}`);
  const workshop = created.json as WorkshopView;
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    const view = (await instructor('GET', `/api/workshops/${workshop.id}`)).json as WorkshopView;
    if (view.warmSandboxes >= participants) return view;
    if (Date.now() > deadline) throw new Error(`the warm pool holds ${view.warmSandboxes} of ${participants} after 10 minutes`);
    await sleep(500);
  }
}

async function round(replicas: number, pg: TestPostgres, kubeconfig: string, baseDir: string): Promise<Round> {
  const databaseUrl = await pg.createDatabase(`scale_${replicas}`);
  const dirs = Array.from({ length: replicas }, (_, i) => path.join(baseDir, `r${replicas}-${i}`));
  const made = await runCliOk(['admin', 'create', '--username', 'instructor', '--role', 'instructor', '--data-dir', dirs[0] ?? '', '--database-url', databaseUrl]);
  const password = /shown once[^:]*: (\S+)/.exec(made.stdout)?.[1] ?? '';
  const servers: Served[] = [];
  const sockets: Socket[] = [];
  try {
    // Every client comes from this machine: the per-address limits are for strangers.
    const common = ['--kubeconfig', kubeconfig, '--database-url', databaseUrl, '--sandbox-capacity', '2000', '--reap-interval', '0', '--rate-limits', 'sandboxes-address=100000/1m,checks-address=100000/1m'];
    for (const dir of dirs) servers.push(await serveFor(['--data-dir', dir, ...common]));
    const urls = servers.map((s) => s.url);
    const first = urls[0] ?? '';
    const instructor = browser(() => first);
    if ((await instructor('POST', '/api/auth/login', { username: 'instructor', password })).status !== 200) throw new Error('the instructor could not sign in');

    phase(`${replicas} replica(s): a warm pool for ${participants} seats`);
    const poolStarted = performance.now();
    const workshop = await workshopWithPool(instructor);
    const poolSeconds = (performance.now() - poolStarted) / 1000;

    const grid = await connect(first, instructor);
    sockets.push(grid);
    if (!((await grid.emitWithAck('grid:watch', { workshopId: workshop.id })) as { ok: boolean }).ok) throw new Error('the instructor could not watch the grid');
    const rowsSeen = new Map<string, number>();
    grid.on('grid:row', (update: { row: GridRow }) => {
      const at = Date.now();
      const cell = update.row.cells.find((c) => c.exercise === 'deploy-web');
      const key = `${update.row.learnerId} ${cell?.lastCheckedAt ?? ''}`;
      if (cell?.lastCheckedAt && !rowsSeen.has(key)) rowsSeen.set(key, at);
    });

    phase(`${replicas} replica(s): ${participants} participants join at the same instant`);
    const started = performance.now();
    const joined = await Promise.all(
      Array.from({ length: participants }, async (_, i) => {
        // The balancer's choice; the socket follows the page to the same replica (sticky).
        const replica = i % replicas;
        const url = urls[replica] ?? first;
        const requested = performance.now();
        const send = browser(() => url);
        const response = await send('POST', '/api/join', { code: workshop.code, displayName: `Participant ${i + 1}` });
        if (response.status !== 201) throw new Error(`join ${i} on replica ${replica}: ${response.text}`);
        const body = response.json as JoinResponse;
        if (!body.sandbox) throw new Error(`join ${i} got no sandbox: ${body.problem ?? ''}`);
        const socket = await connect(url, send);
        sockets.push(socket);
        const kc = new KubeConfig();
        kc.loadFromFile(path.join(dirs[replica] ?? '', 'sandboxes', body.sandbox.namespace, 'kubeconfig'));
        await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: body.sandbox.namespace });
        const done = performance.now();
        return { send, socket, learnerId: body.learner.id, namespace: body.sandbox.namespace, latency: done - requested, at: done - started };
      }),
    );

    phase(`${replicas} replica(s): ${participants} participants press Check at once`);
    const finished = await Promise.all(
      joined.map(async (p) => {
        const done = new Promise<CheckRunView>((resolve) => {
          p.socket.on('check:finished', (run: CheckRunView) => {
            resolve(run);
          });
        });
        const run = await p.send('POST', `/api/sandboxes/${p.namespace}/checks`, { exercise: 'deploy-web' });
        if (run.status !== 202) throw new Error(`check: ${run.text}`);
        return { learnerId: p.learnerId, finishedAt: (await done).finishedAt ?? '' };
      }),
    );
    await sleep(2000);
    const delays = finished.map((f) => {
      const seen = rowsSeen.get(`${f.learnerId} ${f.finishedAt}`);
      return seen === undefined ? Number.POSITIVE_INFINITY : seen - Date.parse(f.finishedAt);
    });
    return {
      replicas,
      poolSeconds,
      joins: joined.map((j) => j.latency).sort((a, b) => a - b),
      allWorking: Math.max(...joined.map((j) => j.at)),
      grid: delays.filter(Number.isFinite).sort((a, b) => a - b),
      missing: delays.filter((d) => !Number.isFinite(d)).length,
    };
  } finally {
    for (const socket of sockets) socket.close();
    await Promise.all(servers.map((s) => s.stop()));
  }
}

async function main(): Promise<void> {
  const baseDir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-bench-scale-'));
  console.log(`kubedojo bench: scale  (${os.availableParallelism()} cores, Node ${process.version}; one fresh local cluster, one PostgreSQL, kubedojo serve × ${replicaCounts.join(' then ')})`);
  const pg = await startPostgres();
  const rounds: Round[] = [];
  const clusters: string[] = [];
  try {
    for (const replicas of replicaCounts) {
      // Each round on a fresh cluster: the same starting point for every replica count.
      const clusterDir = path.join(baseDir, `cluster-${replicas}`);
      clusters.push(clusterDir);
      const up = JSON.parse((await runCliOk(['cluster', 'up', '--json', '--data-dir', clusterDir])).stdout) as { kubeconfig: string };
      try {
        rounds.push(await round(replicas, pg, up.kubeconfig, baseDir));
      } finally {
        await runCli(['cluster', 'down', '--data-dir', clusterDir]);
      }
    }
    const head = ['MEASURE', ...rounds.map((r) => `${r.replicas} replica${r.replicas > 1 ? 's' : ''}`), 'GOAL', ''];
    const worst = (f: (r: Round) => boolean) => verdict(rounds.every(f));
    printTable([
      head,
      ['warm pool for the seats, filled before the start', ...rounds.map((r) => `${r.poolSeconds.toFixed(1)} s`), '', ''],
      [`${participants} join at once: all with a working sandbox`, ...rounds.map((r) => ms(r.allWorking)), `≤ ${JOIN_GOAL_MS / 1000} s`, worst((r) => r.allWorking <= JOIN_GOAL_MS)],
      ['  each join, request to a working sandbox: p50 / p99 / max', ...rounds.map((r) => spread(r.joins)), '', ''],
      [`${participants} checks finish at once → instructor's grid: p50 / p99 / max`, ...rounds.map((r) => spread(r.grid)), `p99 ≤ ${GRID_GOAL_MS / 1000} s`, worst((r) => r.missing === 0 && percentile(r.grid, 99) <= GRID_GOAL_MS)],
      ['  rows that never reached the grid', ...rounds.map((r) => String(r.missing)), '0', ''],
    ]);
  } finally {
    for (const dir of clusters) await runCli(['cluster', 'down', '--data-dir', dir]);
    await pg.stop();
    await fs.rm(baseDir, { recursive: true, force: true });
  }
}

await main();
