import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../server/db/database.ts';
import { LearnerRepository } from '../../server/db/learners.ts';
import { runCli } from '../helpers/cli.ts';
import { testDatabases } from '../helpers/databases.ts';

/** `kubedojo db backup` on both databases: SQLite's online backup, PostgreSQL's pg_dump, restorable. */

const databases = testDatabases();
let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-backup-test-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('kubedojo db backup', { timeout: 60_000 }, () => {
  it('copies the SQLite file, integrity-checked', async () => {
    const dataDir = path.join(dir, 'data');
    const db = await openDatabase({ dialect: 'sqlite', file: path.join(dataDir, 'kubedojo.db') });
    await new LearnerRepository(db).createAccount({ username: 'kept', passwordHash: 'h', displayName: 'Kept', role: 'admin' });
    const copy = path.join(dir, 'copy.db');
    const result = await runCli(['db', 'backup', copy, '--data-dir', dataDir]);
    await db.destroy();
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/integrity ok/);
    const restored = await openDatabase({ dialect: 'sqlite', file: copy });
    expect(await new LearnerRepository(restored).passwordHashOf('kept')).toMatchObject({ hash: 'h' });
    await restored.destroy();
  });

  it('dumps PostgreSQL with pg_dump, never showing the password, and the dump restores', async () => {
    const target = await databases.target('postgres');
    if (target.dialect !== 'postgres') throw new Error('unreachable');
    const db = await openDatabase(target);
    await new LearnerRepository(db).createAccount({ username: 'kept', passwordHash: 'h', displayName: 'Kept', role: 'admin' });
    await db.destroy();
    const dump = path.join(dir, 'kubedojo.pgdump');
    const result = await runCli(['db', 'backup', dump, '--data-dir', path.join(dir, 'unused')], { env: { KUBEDOJO_DATABASE_URL: target.url } });
    expect(result.code, result.stderr).toBe(0);
    const password = new URL(target.url).password;
    expect(`${result.stdout}${result.stderr}`).not.toContain(password);
    expect(result.stdout).toMatch(/pg_dump.*to .*kubedojo\.pgdump/);
    expect((await fs.readFile(dump)).subarray(0, 5).toString()).toBe('PGDMP');

    // Restored into a new database, kubedojo reads it as it was.
    const restoredUrl = await (await databases.postgres()).createDatabase();
    const bin = path.dirname((await fs.readdir('/usr/lib/postgresql')).map((v) => path.join('/usr/lib/postgresql', v, 'bin', 'pg_restore')).sort().at(-1) ?? 'pg_restore');
    const withoutPassword = new URL(restoredUrl);
    withoutPassword.password = '';
    await promisify(execFile)(path.join(bin, 'pg_restore'), ['--no-owner', `--dbname=${withoutPassword.toString()}`, dump], { env: { ...process.env, PGPASSWORD: password } });
    const restored = await openDatabase({ dialect: 'postgres', url: restoredUrl });
    expect(await new LearnerRepository(restored).passwordHashOf('kept')).toMatchObject({ hash: 'h' });
    await restored.destroy();
  });

  it('refuses a database URL of another kind, without echoing its password', async () => {
    const result = await runCli(['db', 'backup', path.join(dir, 'x'), '--database-url', 'mysql://root:hunter2@db/kubedojo']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--database-url');
    expect(result.stderr).toContain('postgres://');
    expect(result.stderr).not.toContain('hunter2');
  });
});
