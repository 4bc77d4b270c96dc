import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from '../../server/cluster/ports.ts';

/**
 * A throwaway PostgreSQL server for the database tests: Debian's `postgresql` binaries, a fresh
 * cluster in a temp dir (initdb), listening on a free loopback port with password
 * authentication, fsync off (its data is thrown away), stopped and removed by `stop()`. Root
 * may not run postgres, so as root the server runs as the `postgres` user the package made.
 * Without the binaries it fails loudly, naming the package: these tests are never skipped.
 */

export interface TestPostgres {
  /** A new empty database on this server; its postgres:// URL (with the password). */
  createDatabase(name?: string): Promise<string>;
  /** The server's port and superuser, for tests that need them. */
  readonly port: number;
  readonly user: string;
  readonly password: string;
  stop(): Promise<void>;
}

const USER = 'kubedojo';

async function binDir(): Promise<string> {
  const versions = await fs.readdir('/usr/lib/postgresql').catch(() => [] as string[]);
  for (const version of versions.sort((a, b) => Number(b) - Number(a))) {
    const dir = path.join('/usr/lib/postgresql', version, 'bin');
    if (await fs.access(path.join(dir, 'initdb')).then(() => true, () => false)) return dir;
  }
  throw new Error(
    'The database tests need a real PostgreSQL server and its binaries are missing (/usr/lib/postgresql/*/bin/initdb). ' +
      'Install them with: sh server/bin/system-deps.sh test (as root), or sudo apt-get install -y postgresql',
  );
}

/** uid and gid of the user postgres runs as: `postgres` when we are root, else ourselves. */
async function runAs(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const line = (await fs.readFile('/etc/passwd', 'utf8')).split('\n').find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) throw new Error('running the PostgreSQL tests as root needs the "postgres" user (made by Debian\'s postgresql package): apt-get install -y postgresql');
  return { uid: Number(uid), gid: Number(gid) };
}

function run(file: string, args: string[], as: { uid: number; gid: number } | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'], ...(as ?? {}) });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${path.basename(file)} failed (exit ${String(code)}): ${stderr.trim()}`));
    });
  });
}

async function waitReady(url: string, server: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`postgres exited (${String(server.exitCode)}) while starting: ${log()}`);
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      return;
    } catch (error) {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`postgres did not accept connections within 30 s: ${error instanceof Error ? error.message : String(error)}\n${log()}`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

export async function startPostgres(): Promise<TestPostgres> {
  const bin = await binDir();
  const as = await runAs();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-pg-'));
  const data = path.join(dir, 'data');
  const password = randomBytes(12).toString('hex');
  await fs.writeFile(path.join(dir, 'pwfile'), `${password}\n`, { mode: 0o600 });
  if (as) {
    await fs.chown(dir, as.uid, as.gid);
    await fs.chown(path.join(dir, 'pwfile'), as.uid, as.gid);
  }
  await run(path.join(bin, 'initdb'), ['-D', data, '-U', USER, `--pwfile=${path.join(dir, 'pwfile')}`, '--auth=scram-sha-256', '--no-locale', '-E', 'UTF8', '--no-sync'], as);
  const port = await freePort();
  const server = spawn(
    path.join(bin, 'postgres'),
    ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200'],
    { stdio: ['ignore', 'ignore', 'pipe'], ...(as ?? {}) },
  );
  let log = '';
  server.stderr.setEncoding('utf8').on('data', (chunk: string) => (log = (log + chunk).slice(-4000)));
  const exited = new Promise<void>((resolve) => {
    server.once('exit', () => {
      resolve();
    });
  });
  const urlOf = (database: string) => `postgres://${USER}:${password}@127.0.0.1:${port}/${database}`;
  const stop = async () => {
    // SIGTERM is PostgreSQL's smart shutdown: it waits for the sessions still open. pg's pools
    // resolve end() before their sockets have closed, and a fast shutdown (SIGINT) would then
    // hand those closing clients an error nobody listens to any more; after 5 s it is fast.
    if (server.exitCode === null) {
      server.kill('SIGTERM');
      const fast = setTimeout(() => server.kill('SIGINT'), 5000);
      await exited;
      clearTimeout(fast);
    }
    await exited;
    await fs.rm(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(urlOf('postgres'), server, () => log);
  } catch (error) {
    server.kill('SIGKILL');
    await stop();
    throw error;
  }
  let count = 0;
  return {
    port,
    user: USER,
    password,
    async createDatabase(name = `test_${process.pid}_${(count += 1)}`) {
      const admin = new pg.Client({ connectionString: urlOf('postgres') });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE "${name}"`);
      } finally {
        await admin.end();
      }
      return urlOf(name);
    },
    stop,
  };
}
