/**
 * npm run bench:terminal [-- --keys 500] [-- --megabytes 50] [-- --idle 20] [-- --sessions 200]
 *
 * Prints, measured in one run against a fresh local cluster and the real server (`kubedojo
 * serve`, its own process, as in production) over socket.io on loopback, with jailed shells:
 *   - keystroke echo round trip (a key typed, until that key's echo arrives): p50, p99;
 *   - output throughput for N MB, every byte counted at the client, which acknowledges as the
 *     browser's page does: after writing the bytes into an xterm (headless here), in batches of
 *     32 KiB or after 50 ms, so the server's flow control engages;
 *   - memory per idle session: the server's share plus the jail's processes (PSS);
 *   - M concurrent sessions held, each answering a command.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import xtermHeadless from '@xterm/headless';
import type { SandboxView } from '../../server/protocol.ts';
import { runCli, runCliOk } from '../helpers/cli.ts';
import { TerminalClient } from '../helpers/terminal.ts';
import { browser } from '../helpers/http.ts';
import { percentile, printTable, serveFor, verdict, type Served } from './report.ts';

const { values } = parseArgs({
  options: {
    keys: { type: 'string', default: '500' },
    megabytes: { type: 'string', default: '50' },
    idle: { type: 'string', default: '20' },
    sessions: { type: 'string', default: '200' },
  },
});
const counts = { keys: Number(values.keys), megabytes: Number(values.megabytes), idle: Number(values.idle), sessions: Number(values.sessions) };


async function pssOf(pid: number): Promise<number> {
  const rollup = await fs.readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
  return Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0) * 1024;
}


async function newLearner(server: Served, lesson = 'kubernetes-fundamentals'): Promise<{ cookie: string; namespace: string }> {
  const send = browser(() => server.url);
  const response = await send('POST', '/api/sandboxes', { lesson });
  if (response.status >= 300) throw new Error(`sandbox: HTTP ${response.status} ${response.text}`);
  return { cookie: send.cookie(), namespace: (response.json as SandboxView).namespace };
}

/** As the page's terminal acknowledges (client/src/terminal.ts): after xterm has drawn the bytes. */
const ACK_EVERY = 32 * 1024;

function drawAndAcknowledge(client: TerminalClient): void {
  const term = new xtermHeadless.Terminal({ cols: 120, rows: 32, scrollback: 5000, allowProposedApi: true });
  let unacked = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    clearTimeout(timer);
    if (unacked > 0 && client.socket.connected) client.socket.emit('ack', { bytes: unacked });
    unacked = 0;
  };
  client.socket.on('output', (chunk: ArrayBuffer) => {
    const bytes = new Uint8Array(chunk);
    term.write(bytes, () => {
      unacked += bytes.length;
      if (unacked >= ACK_EVERY) {
        flush();
        return;
      }
      clearTimeout(timer);
      timer = setTimeout(flush, 50);
    });
  });
  client.socket.on('disconnect', () => {
    clearTimeout(timer);
    term.dispose();
  });
}

async function openTerminal(server: Served, who: { cookie: string; namespace: string }): Promise<TerminalClient> {
  const client = new TerminalClient(server.url, who.cookie, { autoAck: false });
  drawAndAcknowledge(client);
  const reply = await client.attach(who.namespace);
  if (!reply.ok) throw new Error(reply.error);
  await client.run('true', 60_000);
  return client;
}

/** Proportional set size of every process in the session's cgroups (shared pages split fairly). */
async function jailPss(namespace: string): Promise<number> {
  const roots = ['/sys/fs/cgroup/pids/kubedojo', '/sys/fs/cgroup/kubedojo'];
  for (const root of roots) {
    const groups = await fs.readdir(root).catch(() => [] as string[]);
    const group = groups.find((g) => g.includes(namespace));
    if (!group) continue;
    const pids = (await fs.readFile(path.join(root, group, 'cgroup.procs'), 'utf8')).split('\n').filter(Boolean);
    let total = 0;
    for (const pid of pids) {
      const rollup = await fs.readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => '');
      const match = /^Pss:\s+(\d+) kB/m.exec(rollup);
      total += Number(match?.[1] ?? 0) * 1024;
    }
    return total;
  }
  return Number.NaN;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

async function main(): Promise<void> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-bench-term-'));
  console.log(`kubedojo bench: terminal  (${os.availableParallelism()} cores, Node ${process.version}; fresh local cluster, jailed shells, socket.io on loopback)`);
  let server: Served | undefined;
  const clients: TerminalClient[] = [];
  try {
    const up = JSON.parse((await runCliOk(['cluster', 'up', '--json', '--data-dir', dataDir])).stdout) as { kubeconfig: string };
    server = await serveFor(['--data-dir', path.join(dataDir, 'platform'), '--kubeconfig', up.kubeconfig, '--terminal-backend', 'jail', '--sandbox-capacity', '1000', '--terminal-idle', '120',
      // Hundreds of learners from this one machine: the per-address limits are for strangers, not this bench.
      '--rate-limits', 'guests=100000/1m,sandboxes-address=100000/1m,terminals-address=100000/1m']);

    const phase = (text: string) => process.stderr.write(`… ${text}\n`);
    phase('keystroke echo');
    // Keystroke echo: type one key, wait until that key's own echo arrives (not any byte: a
    // prompt redraw or a bell would be faster than the echo and prove nothing).
    const typist = await openTerminal(server, await newLearner(server));
    clients.push(typist);
    const echo: number[] = [];
    for (let i = 0; i < counts.keys + 20; i += 1) {
      const key = String.fromCharCode(97 + (i % 26));
      const from = typist.output.length;
      const started = performance.now();
      typist.type(key);
      while (!typist.output.includes(key, from)) await new Promise((r) => setImmediate(r));
      if (i >= 20) echo.push(performance.now() - started);
      if (i % 60 === 59) await typist.run(''); // a fresh prompt keeps the line short
    }
    typist.type('\x15');
    echo.sort((a, b) => a - b);

    phase('throughput');
    // Throughput: exactly N MB of 'a', counted at the client.
    const bytes = counts.megabytes * 1_000_000;
    await typist.run('stty -onlcr');
    const startBytes = typist.output.length;
    const started = performance.now();
    const printed = await typist.run(`head -c ${bytes} /dev/zero | tr '\\0' 'a'`, 600_000);
    const seconds = (performance.now() - started) / 1000;
    const received = (printed.match(/a/g) ?? []).length;
    if (received < bytes) throw new Error(`only ${received} of ${bytes} bytes arrived`);
    typist.output = typist.output.slice(0, startBytes);

    phase('memory per idle session');
    // Memory per idle session.
    const before = await pssOf(server.pid);
    const idle: { client: TerminalClient; namespace: string }[] = [];
    for (let i = 0; i < counts.idle; i += 1) {
      const who = await newLearner(server);
      idle.push({ client: await openTerminal(server, who), namespace: who.namespace });
    }
    await new Promise((r) => setTimeout(r, 2000));
    const serverShare = ((await pssOf(server.pid)) - before) / counts.idle;
    const jail = (await Promise.all(idle.map((s) => jailPss(s.namespace)))).reduce((a, b) => a + b, 0) / counts.idle;
    clients.push(...idle.map((s) => s.client));

    phase(`${counts.sessions} sessions`);
    // Many sessions at once.
    const heldStarted = performance.now();
    const learners = await Promise.all(Array.from({ length: Math.max(0, counts.sessions - clients.length) }, () => newLearner(server as Served)));
    const held = await Promise.all(learners.map((who) => openTerminal(server as Served, who)));
    clients.push(...held);
    const answers = await Promise.all(clients.map((c, i) => c.run(`echo alive-${i}`, 120_000)));
    const alive = answers.filter((a, i) => a.includes(`alive-${i}`)).length;
    const heldSeconds = (performance.now() - heldStarted) / 1000;

    const ms = (n: number) => `${n.toFixed(2)} ms`;
    const rows = [
      ['MEASURE', 'RESULT', 'GOAL', ''],
      [`keystroke echo round trip, ${counts.keys} keys: p50`, ms(percentile(echo, 50)), '', ''],
      ['keystroke echo round trip: p99', ms(percentile(echo, 99)), '≤ 15 ms', verdict(percentile(echo, 99) <= 15)],
      [`output throughput, ${counts.megabytes} MB, every byte arrived`, `${(counts.megabytes / seconds).toFixed(1)} MB/s (${seconds.toFixed(2)} s)`, '≥ 20 MB/s', verdict(counts.megabytes / seconds >= 20)],
      [`memory per idle session (${counts.idle} sessions): server`, mb(serverShare), '', ''],
      ['memory per idle session: jail processes (PSS)', mb(jail), '', ''],
      ['memory per idle session: total', mb(serverShare + jail), '≤ 10 MB', verdict(serverShare + jail <= 10 * 1024 * 1024)],
      [`concurrent sessions held, each answering`, `${alive} of ${clients.length} (opened and answered in ${heldSeconds.toFixed(1)} s)`, `${counts.sessions}`, verdict(alive >= counts.sessions)],
    ];
    printTable(rows);
  } finally {
    for (const client of clients) client.close();
    await server?.stop();
    await runCli(['cluster', 'down', '--data-dir', dataDir]);
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}

await main();
