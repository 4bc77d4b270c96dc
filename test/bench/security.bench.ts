/**
 * npm run bench:security [-- --flood-minutes 10] [-- --participants 200]
 *
 * What one hostile visitor can consume, measured against a fresh local cluster and the real
 * server (`kubedojo serve` in its own process, default limits), over REST and socket.io on
 * loopback. Each client speaks through X-Forwarded-For, as behind a reverse proxy on the same
 * machine (which the default --trust-proxy believes), so one run plays many addresses:
 *   - 50 guests from one address: how many are made, how many refused (429 + Retry-After);
 *   - 500 sandbox requests within a minute from one address, spread over as many guests as it
 *     may make: how many get through, how many are refused, how many sandboxes exist after;
 *   - a workshop of N participants joining from one NAT address, each then asking for its
 *     sandbox: all must get in;
 *   - `yes` in a terminal whose tab is then closed, for M minutes: the server's memory (RSS),
 *     its event-loop delay (p99 of each 10 s window, from the server's own monitor via
 *     /metrics), its CPU time and the disk the recordings take; `yes > /dev/null` alongside.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { promisify } from 'node:util';
import type { JoinResponse, SandboxView, WorkshopView } from '../../server/protocol.ts';
import { runCli, runCliOk } from '../helpers/cli.ts';
import { browser, type Browser } from '../helpers/http.ts';
import { TerminalClient } from '../helpers/terminal.ts';
import { printTable, serveFor, verdict, type Served } from './report.ts';

const { values } = parseArgs({ options: { 'flood-minutes': { type: 'string', default: '10' }, participants: { type: 'string', default: '200' } } });
const floodMs = Number(values['flood-minutes']) * 60_000;
const seats = Number(values.participants);
const phase = (text: string) => process.stderr.write(`… ${text}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MiB = 1024 * 1024;

/** A browser behind a proxy: every request says it comes from `address`. */
function from(url: string, address: string): Browser {
  const send = browser(() => url);
  return Object.assign((method: string, p: string, body?: unknown) => send(method, p, body, { 'x-forwarded-for': address }), { cookie: send.cookie, setCookie: send.setCookie, csrfToken: send.csrfToken });
}

async function rssOf(pid: number): Promise<number> {
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(await fs.readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
}

async function cpuSecondsOf(pid: number): Promise<number> {
  const fields = (await fs.readFile(`/proc/${pid}/stat`, 'utf8')).replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The server's event-loop delay p99 since the last scrape (prom-client resets its histogram on each). */
async function loopP99(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^nodejs_eventloop_lag_p99_seconds (\S+)/m.exec(text)?.[1] ?? Number.NaN) * 1000;
}

async function diskOf(dir: string): Promise<number> {
  const { stdout } = await promisify(execFile)('du', ['-sb', dir]);
  return Number(stdout.split(/\s/)[0]);
}

const count = (statuses: number[], status: number) => statuses.filter((s) => s === status).length;

async function main(): Promise<void> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-bench-sec-'));
  console.log(`kubedojo bench: security  (${os.availableParallelism()} cores, Node ${process.version}; fresh local cluster, kubedojo serve with default limits, jailed shells)`);
  let served: Served | undefined;
  const clients: TerminalClient[] = [];
  try {
    const up = JSON.parse((await runCliOk(['cluster', 'up', '--json', '--data-dir', dataDir])).stdout) as { kubeconfig: string };
    const platform = path.join(dataDir, 'platform');
    const made = await runCliOk(['admin', 'create', '--username', 'instructor', '--role', 'instructor', '--data-dir', platform]);
    const password = /shown once[^:]*: (\S+)/.exec(made.stdout)?.[1] ?? '';
    served = await serveFor(['--data-dir', platform, '--kubeconfig', up.kubeconfig, '--terminal-backend', 'jail', '--sandbox-capacity', '2000', '--reap-interval', '0']);
    const { url, pid } = served;

    phase('50 guests from one address');
    const guests = await Promise.all(Array.from({ length: 50 }, () => from(url, '203.0.113.10')('PUT', '/api/lessons/kubernetes-fundamentals/progress', { status: 'started' })));
    const guestStatuses = guests.map((g) => g.status);
    const retryAfter = guests.find((g) => g.status === 429)?.headers.get('retry-after') ?? '-';

    phase('500 sandbox requests within a minute from one address');
    const script: Browser[] = [];
    for (let i = 0; script.length < 30 && i < 40; i += 1) {
      const send = from(url, '203.0.113.20');
      if ((await send('PUT', '/api/lessons/kubernetes-fundamentals/progress', { status: 'started' })).status === 200) script.push(send);
    }
    const sandboxStarted = performance.now();
    const requests = await Promise.all(Array.from({ length: 500 }, (_, i) => (script[i % script.length] as Browser)('POST', '/api/sandboxes', { lesson: 'kubernetes-fundamentals' })));
    const sandboxSeconds = (performance.now() - sandboxStarted) / 1000;
    const sandboxStatuses = requests.map((r) => r.status);
    const namespaces = new Set(requests.filter((r) => r.status < 300).map((r) => (r.json as SandboxView).namespace));

    phase(`a workshop of ${seats} joining from one NAT address`);
    const instructor = browser(() => url);
    if ((await instructor('POST', '/api/auth/login', { username: 'instructor', password })).status !== 200) throw new Error('the instructor could not sign in');
    const created = await instructor('POST', '/api/workshops', { title: 'classroom', lessons: ['kubernetes-fundamentals'], seats, startsAt: new Date(Date.now() + 60_000).toISOString(), endsAt: new Date(Date.now() + 3_600_000).toISOString(), sandboxSize: 'small' });
    const workshop = created.json as WorkshopView;
    for (let waited = 0; ((await instructor('GET', `/api/workshops/${workshop.id}`)).json as WorkshopView).warmSandboxes < seats; waited += 500) {
      if (waited > 600_000) throw new Error('the warm pool did not fill');
      await sleep(500);
    }
    const joinStarted = performance.now();
    const joins = await Promise.all(
      Array.from({ length: seats }, async (_, i) => {
        await sleep((i / seats) * 10_000);
        const send = from(url, '198.51.100.7');
        const joined = await send('POST', '/api/join', { code: workshop.code, displayName: `student ${i + 1}` });
        const sandbox = joined.status === 201 ? await send('POST', '/api/sandboxes', { lesson: 'kubernetes-fundamentals' }) : joined;
        return { joined: joined.status, hasSandbox: joined.status === 201 && (joined.json as JoinResponse).sandbox !== null, sandbox: sandbox.status };
      }),
    );
    const joinSeconds = (performance.now() - joinStarted) / 1000;
    const joinedOk = joins.filter((j) => j.joined === 201 && j.hasSandbox && j.sandbox === 200).length;

    phase('yes > /dev/null, then `yes` in a tab that is closed');
    const open = async (address: string) => {
      const send = from(url, address);
      const sandbox = (await send('POST', '/api/sandboxes', { lesson: 'kubernetes-fundamentals' })).json as SandboxView;
      const term = new TerminalClient(url, send.cookie(), {});
      clients.push(term);
      const reply = await term.attach(sandbox.namespace);
      if (!reply.ok) throw new Error(reply.error);
      await term.run('true', 60_000);
      return term;
    };
    await loopP99(url);
    await sleep(10_000);
    const idleP99 = await loopP99(url);
    const quiet = await open('192.0.2.30');
    quiet.type('yes > /dev/null\n');
    const cpuQuiet = await cpuSecondsOf(pid);
    await sleep(10_000);
    const quietP99 = await loopP99(url);
    const quietCpu = (await cpuSecondsOf(pid)) - cpuQuiet;
    quiet.type('\x03');

    const flood = await open('192.0.2.31');
    const rssBefore = await rssOf(pid);
    const diskBefore = await diskOf(platform);
    flood.type('yes\n');
    while (flood.bytes < 5 * MiB) await sleep(20);
    const cpuBefore = await cpuSecondsOf(pid);
    flood.close(); // the tab closes: no 'close' event, the shell waits for a reattach
    const windows: number[] = [];
    let rssMax = rssBefore;
    const floodStarted = Date.now();
    while (Date.now() - floodStarted < floodMs) {
      await sleep(10_000);
      windows.push(await loopP99(url));
      rssMax = Math.max(rssMax, await rssOf(pid));
      phase(`  ${((Date.now() - floodStarted) / 60_000).toFixed(1)} min: p99 ${windows.at(-1)?.toFixed(1) ?? ''} ms, RSS ${((await rssOf(pid)) / MiB).toFixed(0)} MiB`);
    }
    const floodCpu = (await cpuSecondsOf(pid)) - cpuBefore;
    const disk = (await diskOf(platform)) - diskBefore;
    const worst = Math.max(...windows);
    const sorted = [...windows].sort((a, b) => a - b);

    const minutes = floodMs / 60_000;
    const rows = [
      ['MEASURE', 'RESULT', 'GOAL', ''],
      ['50 guests from one address: made / refused (429)', `${count(guestStatuses, 200)} / ${count(guestStatuses, 429)} (Retry-After ${retryAfter} s)`, '≤ 30 made', verdict(count(guestStatuses, 200) <= 30 && count(guestStatuses, 429) === 50 - count(guestStatuses, 200))],
      [`500 sandbox requests from one address (${script.length} guests) in ${sandboxSeconds.toFixed(1)} s: through / refused`, `${500 - count(sandboxStatuses, 429)} / ${count(sandboxStatuses, 429)}; ${namespaces.size} sandboxes exist`, '≤ 300 through', verdict(500 - count(sandboxStatuses, 429) <= 300 && namespaces.size <= script.length)],
      [`workshop of ${seats} from one NAT address: joined with a sandbox`, `${joinedOk} of ${seats} in ${joinSeconds.toFixed(1)} s (${joins.filter((j) => j.joined === 429 || j.sandbox === 429).length} refused)`, `${seats}`, verdict(joinedOk === seats)],
      ['event-loop delay p99, idle (10 s; monitor resolution 10 ms)', `${idleP99.toFixed(1)} ms`, '', ''],
      ['`yes > /dev/null` in a terminal: event-loop p99 / server CPU', `${quietP99.toFixed(1)} ms / ${((quietCpu / 10) * 100).toFixed(1)} %`, '≤ 50 ms', verdict(quietP99 <= 50)],
      [`\`yes\`, tab closed, ${minutes} min: event-loop p99, median / worst 10 s window`, `${(sorted[Math.floor(sorted.length / 2)] ?? Number.NaN).toFixed(1)} / ${worst.toFixed(1)} ms`, '≤ 50 ms', verdict(worst <= 50)],
      ['  server memory (RSS): before / highest', `${(rssBefore / MiB).toFixed(0)} / ${(rssMax / MiB).toFixed(0)} MiB (+${((rssMax - rssBefore) / MiB).toFixed(1)})`, '≤ +64 MiB', verdict(rssMax - rssBefore <= 64 * MiB)],
      ['  server CPU while nobody watches', `${((floodCpu / (floodMs / 1000)) * 100).toFixed(2)} %`, '≤ 5 %', verdict(floodCpu / (floodMs / 1000) <= 0.05)],
      ['  disk written (recordings, database)', `${(disk / MiB).toFixed(1)} MiB`, '≤ 21 MiB (cap 20)', verdict(disk <= 21 * MiB)],
    ];
    printTable(rows);
  } finally {
    for (const client of clients) client.close();
    await served?.stop();
    await runCli(['cluster', 'down', '--data-dir', dataDir]);
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}

await main();
