import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import readline from 'node:readline';
import { io, type Socket } from 'socket.io-client';
import { cliPath, projectRoot } from '../helpers/cli.ts';
import type { Browser } from '../helpers/http.ts';

/** What every benchmark shares: percentiles, the printed table, and a real server to measure. */

/** The p-th percentile of ascending values (nearest rank); NaN for none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.max(0, Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

export const verdict = (ok: boolean): string => (ok ? 'meets goal' : 'MISSES goal');

/** Prints rows as aligned columns, then the machine they were measured on. */
export function printTable(rows: readonly (readonly string[])[], note = ''): void {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  console.log('');
  for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd());
  console.log(`\nmachine: ${os.cpus()[0]?.model ?? 'unknown cpu'}, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB${note}`);
}

export interface Served {
  url: string;
  pid: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** `kubedojo serve` in its own process, as in production; resolves with the URL it logs. */
export async function serveFor(args: readonly string[]): Promise<Served> {
  const child = spawn(process.execPath, [cliPath, 'serve', '--port', '0', '--log-format', 'json', '--log-level', 'info', ...args], {
    cwd: projectRoot,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env },
  });
  const url = await new Promise<string>((resolve, reject) => {
    const lines: string[] = [];
    readline.createInterface({ input: child.stderr }).on('line', (line) => {
      lines.push(line);
      if (lines.length > 200) lines.shift();
      const match = /kubedojo is serving on (http:\/\/\S+?)"/.exec(line);
      if (match?.[1]) resolve(match[1]);
    });
    child.once('exit', (code) => {
      reject(new Error(`serve exited ${code}: ${lines.slice(-20).join('\n')}`));
    });
  });
  return {
    url,
    pid: child.pid ?? 0,
    child,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** A page's /live socket.io connection with `send`'s session cookie, once connected. */
export function connectLive(url: string, send: Browser): Promise<Socket> {
  const socket = io(`${url}/live`, { extraHeaders: { cookie: send.cookie() }, transports: ['websocket'], forceNew: true });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => {
      resolve(socket);
    });
    socket.once('connect_error', reject);
  });
}
