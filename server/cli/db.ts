import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { EXIT, UsageError, type CliContext } from './context.ts';

/**
 * `kubedojo db backup FILE|-`: a consistent copy of the SQLite database while kubedojo serves
 * (SQLite's online backup, which a running WAL writer does not disturb), checked with
 * integrity_check; "-" writes it to stdout (kubectl exec … -- kubedojo db backup - > backup.db).
 */

const target = z.string().min(1, '<file> must be a path, or - for stdout');

export async function dbBackup(ctx: CliContext, file: string): Promise<number> {
  const parsed = target.safeParse(file);
  if (!parsed.success) throw new UsageError(parsed.error.issues[0]?.message ?? 'bad <file>');
  const source = path.join(ctx.config.dataDir, 'kubedojo.db');
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
