import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { redactUrl } from '../db/url.ts';
import { EXIT, UsageError, type CliContext } from './context.ts';

/**
 * `kubedojo db backup FILE|-`: a consistent copy of the database while kubedojo serves. SQLite:
 * SQLite's online backup (which a running WAL writer does not disturb), checked with
 * integrity_check. PostgreSQL (--database-url): pg_dump's custom format, one snapshot, for
 * pg_restore. "-" writes it to stdout (kubectl exec … -- kubedojo db backup - > backup.db).
 */

const target = z.string().min(1, '<file> must be a path, or - for stdout');

export async function dbBackup(ctx: CliContext, file: string): Promise<number> {
  const parsed = target.safeParse(file);
  if (!parsed.success) throw new UsageError(parsed.error.issues[0]?.message ?? 'bad <file>');
  const { database } = ctx.config;
  if (database.dialect === 'postgres') return pgDump(ctx, database.url, parsed.data);
  const source = database.file;
  let db: Database.Database;
  try {
    db = new Database(source, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new UsageError(`there is no kubedojo database at ${source} (--data-dir): ${error instanceof Error ? error.message : String(error)}`);
  }
  const toStdout = parsed.data === '-';
  const scratch = toStdout ? await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-backup-')) : undefined;
  const dest = scratch ? path.join(scratch, 'kubedojo.db') : path.resolve(parsed.data);
  try {
    const progress = await db.backup(dest);
    const copy = new Database(dest, { readonly: true });
    const check = copy.pragma('integrity_check', { simple: true }) as string;
    copy.close();
    if (check !== 'ok') {
      process.stderr.write(`kubedojo: the backup failed its integrity check: ${check}\n`);
      return EXIT.failed;
    }
    const summary = `Backed up ${source} (${progress.totalPages} pages, integrity ok)`;
    if (toStdout) {
      await pipeline(createReadStream(dest), ctx.out, { end: false });
      process.stderr.write(`${summary}.\n`);
    } else {
      ctx.out.write(`${summary} to ${dest}.\n`);
    }
    return EXIT.ok;
  } finally {
    db.close();
    if (scratch) await fs.rm(scratch, { recursive: true, force: true });
  }
}

/** pg_dump on PATH, else the newest of Debian's versioned installs. */
async function findPgDump(env: Readonly<Record<string, string>>): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, 'pg_dump');
    if (await fs.access(candidate, fs.constants.X_OK).then(() => true, () => false)) return candidate;
  }
  const versions = await fs.readdir('/usr/lib/postgresql').catch(() => [] as string[]);
  for (const version of versions.sort((a, b) => Number(b) - Number(a))) {
    const candidate = path.join('/usr/lib/postgresql', version, 'bin', 'pg_dump');
    if (await fs.access(candidate, fs.constants.X_OK).then(() => true, () => false)) return candidate;
  }
  return undefined;
}

/** The password goes to pg_dump in its environment, never on its command line (where `ps` shows it). */
async function pgDump(ctx: CliContext, url: string, file: string): Promise<number> {
  const pgDumpPath = await findPgDump(ctx.config.env);
  if (!pgDumpPath) throw new UsageError('backing up PostgreSQL needs pg_dump, which is not installed: apt-get install postgresql-client (Debian), or run pg_dump from a machine that has it');
  const parsed = new URL(url);
  const password = decodeURIComponent(parsed.password) || (parsed.searchParams.get('password') ?? '');
  parsed.password = '';
  parsed.searchParams.delete('password');
  const toStdout = file === '-';
  const dest = toStdout ? undefined : path.resolve(file);
  const args = ['--format=custom', '--no-owner', `--dbname=${parsed.toString()}`, ...(dest ? [`--file=${dest}`] : [])];
  const env = { ...ctx.config.env, ...(password ? { PGPASSWORD: password } : {}) };
  const child = spawn(pgDumpPath, args, { env, stdio: ['ignore', toStdout ? 'pipe' : 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const copied = child.stdout ? pipeline(child.stdout, ctx.out, { end: false }) : Promise.resolve();
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  await copied;
  const shown = redactUrl(url);
  if (code !== 0) {
    process.stderr.write(`kubedojo: pg_dump of ${shown} failed (exit ${String(code)}): ${stderr.trim()}\n`);
    return EXIT.failed;
  }
  const summary = `Backed up ${shown} with pg_dump (custom format; restore with pg_restore)`;
  if (dest) ctx.out.write(`${summary} to ${dest}.\n`);
  else process.stderr.write(`${summary}.\n`);
  return EXIT.ok;
}
