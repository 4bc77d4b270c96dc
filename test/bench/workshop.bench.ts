/**
 * npm run bench:workshop [-- --participants 200] [-- --window 10]
 *
 * Prints, measured in one run against a fresh local cluster and the real server (`kubedojo
 * serve`, its own process, as in production):
 *   - `participants` people joining one workshop within `window` seconds, each over REST with
 *     its own socket.io connection, the warm pool sized for them: the time from the first join
 *     until every participant has a working sandbox (a request made with its credentials works);
 *   - every participant pressing Check at once: the delay from each check finishing (the run's
 *     finishedAt, on the same machine's clock) to the instructor's grid receiving the row:
 *     p50 / p99 / max.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { io, type Socket } from 'socket.io-client';
import type { CheckRunView, GridRow, JoinResponse, WorkshopView } from '../../server/protocol.ts';
import { runCli, runCliOk } from '../helpers/cli.ts';
import { browser, type Browser } from '../helpers/http.ts';
import { percentile, printTable, serveFor, verdict, type Served } from './report.ts';

const { values } = parseArgs({ options: { participants: { type: 'string', default: '200' }, window: { type: 'string', default: '10' } } });
const counts = { participants: Number(values.participants), windowMs: Number(values.window) * 1000 };

const ms = (n: number) => (n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${n.toFixed(0)} ms`);
const phase = (text: string) => process.stderr.write(`… ${text}\n`);
const sleep = (msec: number) => new Promise((r) => setTimeout(r, msec));

function connect(url: string, send: Browser): Promise<Socket> {
  const socket = io(`${url}/live`, { extraHeaders: { cookie: send.cookie() }, transports: ['websocket'], forceNew: true });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => {
      resolve(socket);
    });
    socket.once('connect_error', reject);
  });
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
    served = await serveFor(['--data-dir', platform, '--kubeconfig', up.kubeconfig, '--sandbox-capacity', '2000', '--reap-interval', '0']);
    const url = served.url;

    const instructor = browser(() => url);
    if ((await instructor('POST', '/api/auth/login', { username: 'instructor', password })).status !== 200) throw new Error('the instructor could not sign in');
    const created = await instructor('POST', '/api/workshops', {
      title: 'bench',
      lessons: ['kubernetes-fundamentals'],
      seats: counts.participants,
      startsAt: new Date(Date.now() + 5 * 60_000).toISOString(),
      endsAt: new Date(Date.now() + 3 * 3_600_000).toISOString(),
      sandboxSize: 'small',
    });
    if (created.status !== 201) throw new Error(`workshop: ${created.text}`);
    const workshop = created.json as WorkshopView;

    phase(`warm pool: ${counts.participants} sandboxes before the start`);
    const fillStarted = performance.now();
    for (;;) {
      const view = (await instructor('GET', `/api/workshops/${workshop.id}`)).json as WorkshopView;
      if (view.warmSandboxes >= counts.participants) break;
      if (performance.now() - fillStarted > 600_000) throw new Error(`the pool reached only ${view.warmSandboxes}`);
      await sleep(500);
    }
    const fillSeconds = (performance.now() - fillStarted) / 1000;

    const grid = await connect(url, instructor);
    sockets.push(grid);
    const ack = (await grid.emitWithAck('grid:watch', { workshopId: workshop.id })) as { ok: boolean };
    if (!ack.ok) throw new Error('the instructor could not watch the grid');
    const rowsSeen = new Map<string, number[]>();
    grid.on('grid:row', (update: { row: GridRow }) => {
      const cell = update.row.cells.find((c) => c.exercise === 'deploy-web');
      if (cell && cell.status !== 'running' && cell.status !== 'not-started') rowsSeen.set(update.row.learnerId, [...(rowsSeen.get(update.row.learnerId) ?? []), Date.now()]);
    });

    phase(`${counts.participants} participants join within ${counts.windowMs / 1000} s`);
    const started = performance.now();
    const participants = await Promise.all(
      Array.from({ length: counts.participants }, async (_, i) => {
        await sleep((i / counts.participants) * counts.windowMs);
        const send = browser(() => url);
        const joined = await send('POST', '/api/join', { code: workshop.code, displayName: `Participant ${i + 1}` });
        if (joined.status !== 201) throw new Error(`join ${i}: ${joined.text}`);
        const body = joined.json as JoinResponse;
        if (!body.sandbox) throw new Error(`join ${i} got no sandbox: ${body.problem ?? ''}`);
        const socket = await connect(url, send);
        sockets.push(socket);
        // Working: the participant's own credentials reach the sandbox.
        const kc = new KubeConfig();
        kc.loadFromFile(path.join(platform, 'sandboxes', body.sandbox.namespace, 'kubeconfig'));
        await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: body.sandbox.namespace });
        return { send, socket, learnerId: body.learner.id, namespace: body.sandbox.namespace, readyAt: performance.now() - started };
      }),
    );
    const allWorking = Math.max(...participants.map((p) => p.readyAt));

    phase(`${counts.participants} participants press Check at once`);
    // Each learner's page hears its own result over its socket, as the browser does.
    const finished = await Promise.all(
      participants.map(async (p) => {
        const done = new Promise<CheckRunView>((resolve) => {
          p.socket.on('check:finished', (run: CheckRunView) => {
            resolve(run);
          });
        });
        const started = await p.send('POST', `/api/sandboxes/${p.namespace}/checks`, { exercise: 'deploy-web' });
        if (started.status !== 202) throw new Error(`check: ${started.text}`);
        const run = await done;
        return { learnerId: p.learnerId, finishedAt: Date.parse(run.finishedAt ?? '') };
      }),
    );
    await sleep(2000);
    const delays = finished
      .map((f) => {
        const seen = (rowsSeen.get(f.learnerId) ?? []).filter((t) => t >= f.finishedAt - 5);
        return seen.length > 0 ? Math.max(0, Math.min(...seen) - f.finishedAt) : Number.POSITIVE_INFINITY;
      })
      .sort((a, b) => a - b);
    const missing = delays.filter((d) => !Number.isFinite(d)).length;

    const rows = [
      ['MEASURE', 'RESULT', 'GOAL', ''],
      [`warm pool for ${counts.participants} seats, filled before the start`, `${fillSeconds.toFixed(1)} s`, '', ''],
      [`${counts.participants} participants join within ${counts.windowMs / 1000} s: all with a working sandbox`, `${(allWorking / 1000).toFixed(2)} s after the first join`, '≤ 15 s', verdict(allWorking <= 15_000)],
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
