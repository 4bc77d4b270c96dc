import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import { openSync, closeSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Component processes are started detached (their own session) so they outlive the command
 * that started them, and are identified later by pid *and* kernel start time, so a recycled
 * pid is never mistaken for ours and `down` never signals a stranger.
 */

export interface ProcessRecord {
  pid: number;
  /** Field 22 of /proc/<pid>/stat: clock ticks after boot when the process started. */
  startTime: number;
  binary: string;
  startedAt: string;
}

export async function procStartTime(pid: number): Promise<number | undefined> {
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: parse after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state); field 22 is rest[19].
    if (rest[0] === 'Z') return undefined; // a zombie has already exited
    const value = Number(rest[19]);
    return Number.isFinite(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

export async function isAlive(record: ProcessRecord | undefined): Promise<boolean> {
  if (!record) return false;
  return (await procStartTime(record.pid)) === record.startTime;
}

export async function spawnDetached(options: {
  binary: string;
  args: string[];
  logFile: string;
  env: Record<string, string>;
  cwd: string;
}): Promise<ProcessRecord> {
  await fs.mkdir(path.dirname(options.logFile), { recursive: true });
  // Keep the previous run's log beside the new one: it explains the last crash.
  try {
    await fs.rename(options.logFile, `${options.logFile}.1`);
  } catch {
    // no previous log
  }
  const fd = openSync(options.logFile, 'a', 0o600);
  try {
    const child = spawn(options.binary, options.args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', () => {
        resolve(child.pid ?? -1);
      });
    });
    child.unref();
    const startTime = await procStartTime(pid);
    if (startTime === undefined) throw new Error(`${path.basename(options.binary)} exited immediately`);
    return { pid, startTime, binary: options.binary, startedAt: new Date().toISOString() };
  } finally {
    closeSync(fd);
  }
}

/**
 * SIGTERM, then SIGKILL after the grace period. Only ever signals the process we started, or
 * with `group`, its process group (it leads one: it was started detached), so the children a
 * proxy forked for each connection go with it.
 */
export async function terminate(record: ProcessRecord, graceMs = 10_000, group = false): Promise<'stopped' | 'killed' | 'not-running'> {
  if (!(await isAlive(record))) return 'not-running';
  const signal = (name: NodeJS.Signals) => {
    if (group) {
      try {
        process.kill(-record.pid, name);
        return;
      } catch {
        // no group (any more): signal the process itself
      }
    }
    process.kill(record.pid, name);
  };
  try {
    signal('SIGTERM');
  } catch {
    return 'not-running';
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await sleep(50);
    if (!(await isAlive(record))) return 'stopped';
  }
  if (await isAlive(record)) {
    try {
      signal('SIGKILL');
    } catch {
      return 'stopped';
    }
    while (await isAlive(record)) await sleep(20);
    return 'killed';
  }
  return 'stopped';
}

/** The last lines of a log file, for naming why a component died. */
export async function tailFile(file: string, lines = 15): Promise<string[]> {
  let handle;
  try {
    handle = await fs.open(file, 'r');
    const { size } = await handle.stat();
    const length = Math.min(size, 64 * 1024);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return buffer.toString('utf8').split('\n').filter((l) => l.trim() !== '').slice(-lines);
  } catch {
    return [];
  } finally {
    await handle?.close();
  }
}
