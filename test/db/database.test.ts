import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../../server/cluster/ports.ts';
import { databaseReady, openDatabase, postgresPool, type Db } from '../../server/db/database.ts';
import { ensureInstance } from '../../server/db/instance.ts';
import { LearnerRepository } from '../../server/db/learners.ts';
import { migratePostgres, migrateSqlite, migrationsDir, readMigrations, type Migration } from '../../server/db/migrate.ts';
import { DIALECTS, testDatabases, type DialectName } from '../helpers/databases.ts';

const databases = testDatabases();

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-db-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** Runs `migrations` on a fresh database of the dialect with that dialect's migrator. */
async function migrator(dialect: DialectName): Promise<{ migrate(migrations: Migration[]): Promise<number[]>; exists(table: string): Promise<boolean>; close(): Promise<void> }> {
  if (dialect === 'sqlite') {
    const db = new Database(path.join(dir, 'm.db'));
    return {
      // As a promise, like PostgreSQL's: a refusal is a rejection.
      migrate: (migrations) => new Promise((resolve) => {
        resolve(migrateSqlite(db, migrations));
      }),
      exists: (table) => Promise.resolve(db.prepare('SELECT count(*) FROM sqlite_master WHERE name = ?').pluck().get(table) === 1),
      close: () => {
        db.close();
        return Promise.resolve();
      },
    };
  }
  const target = await databases.target('postgres');
  if (target.dialect !== 'postgres') throw new Error('unreachable');
  const pool = postgresPool(target.url, 'kubedojo-test', 2);
  return {
    migrate: (migrations) => migratePostgres(pool, migrations),
    exists: async (table) => (await pool.query<{ n: number }>('SELECT count(*) AS n FROM information_schema.tables WHERE table_name = $1', [table])).rows[0]?.n === 1,
    close: () => pool.end(),
  };
}

const columns = async (db: Db): Promise<Record<string, string[]>> =>
  Object.fromEntries(
    (await db.introspection.getTables({ withInternalKyselyTables: false }))
      .filter((t) => !t.name.startsWith('sqlite_'))
      .map((t) => [t.name, t.columns.map((c) => c.name).sort()] as const)
      .sort(([a], [b]) => a.localeCompare(b)),
  );

async function indexes(db: Db, dialect: DialectName): Promise<string[]> {
  const rows =
    dialect === 'sqlite'
      ? (await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL`.execute(db)).rows
      : (await sql<{ name: string }>`SELECT indexname AS name FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE '%\\_pkey' AND indexname NOT LIKE '%\\_key'`.execute(db)).rows;
  return rows.map((r) => r.name).sort();
}

describe('the migrations', () => {
  it('are the same numbered files for both databases', () => {
    const shape = (dialect: DialectName) => readMigrations(migrationsDir(dialect)).map((m) => `${String(m.version)}_${m.name}`);
    expect(shape('postgres')).toEqual(shape('sqlite'));
    expect(shape('sqlite').length).toBeGreaterThanOrEqual(6);
  });

  it('refuses two migrations with the same number', async () => {
    await fs.writeFile(path.join(dir, '001_a.sql'), 'SELECT 1');
    await fs.writeFile(path.join(dir, '001_b.sql'), 'SELECT 1');
    expect(() => readMigrations(dir)).toThrow(/two migrations are numbered 1/);
  });

  it('make the same tables, columns and indexes on both', async () => {
    const sqlite = await databases.open('sqlite');
    const postgres = await databases.open('postgres');
    const tables = await columns(sqlite);
    expect(await columns(postgres)).toEqual(tables);
    expect(Object.keys(tables)).toEqual(expect.arrayContaining(['learners', 'sessions', 'workshops', 'lti_score_queue', 'recordings', 'schema_migrations']));
    expect(await indexes(postgres, 'postgres')).toEqual(await indexes(sqlite, 'sqlite'));
  });
});

describe.each(DIALECTS)('the database on %s', (dialect) => {
  it('is migrated once, answers /readyz and keeps a stable instance id', async () => {
    const target = await databases.target(dialect);
    const db = await openDatabase(target);
    const first = await ensureInstance(db);
    await db.destroy();
    const reopened = await openDatabase(target);
    try {
      expect(await ensureInstance(reopened)).toEqual(first);
      const versions = await reopened.selectFrom('schema_migrations').select('version').orderBy('version').execute();
      expect(versions.map((v) => v.version)).toEqual(readMigrations(migrationsDir(dialect)).map((m) => m.version));
      expect(await databaseReady(reopened)).toEqual({ ok: true });
    } finally {
      await reopened.destroy();
    }
    // A closed database is not ready, and says why.
    expect(await databaseReady(reopened)).toMatchObject({ ok: false, message: expect.any(String) as string });
  });

  it('applies only new migrations, in order, each atomically', async () => {
    const m = await migrator(dialect);
    try {
      expect(await m.migrate([{ version: 1, name: 'a', sql: 'CREATE TABLE a (x INTEGER)' }])).toEqual([1]);
      expect(await m.migrate([{ version: 1, name: 'a', sql: 'CREATE TABLE a (x INTEGER)' }, { version: 2, name: 'b', sql: 'CREATE TABLE b (x INTEGER)' }])).toEqual([2]);
      // A failing migration leaves nothing half-applied.
      await expect(m.migrate([{ version: 3, name: 'c', sql: 'CREATE TABLE c (x INTEGER); CREATE TABLE a (x INTEGER)' }])).rejects.toThrow(/already exists/);
      expect(await m.exists('c')).toBe(false);
      expect(await m.exists('b')).toBe(true);
    } finally {
      await m.close();
    }
  });

  it('refuses a database migrated by a newer kubedojo', async () => {
    const m = await migrator(dialect);
    try {
      await m.migrate([{ version: 1, name: 'a', sql: 'SELECT 1' }, { version: 9, name: 'z', sql: 'SELECT 1' }]);
      await expect(m.migrate([{ version: 1, name: 'a', sql: 'SELECT 1' }])).rejects.toThrow(/migrated by a newer kubedojo \(schema 9/);
    } finally {
      await m.close();
    }
  });
});

describe('PostgreSQL', () => {
  it('that cannot be reached is named without its password', async () => {
    const port = await freePort();
    const failure = await openDatabase({ dialect: 'postgres', url: `postgres://kubedojo:s3cret-pw@127.0.0.1:${String(port)}/kubedojo` }).then(
      () => new Error('opened a database that is not there'),
      (error: unknown) => error as Error,
    );
    expect(failure.message).toContain(`could not prepare the database at PostgreSQL postgres://kubedojo:***@127.0.0.1:${String(port)}/kubedojo`);
    expect(failure.message).not.toContain('s3cret-pw');
  });
});

describe('SQLite', () => {
  it('is a WAL-mode file, owner-only', async () => {
    const file = path.join(dir, 'nested', 'kubedojo.db');
    const db = await openDatabase({ dialect: 'sqlite', file });
    try {
      expect((await sql<{ journal_mode: string }>`PRAGMA journal_mode`.execute(db)).rows[0]?.journal_mode).toBe('wal');
      expect((await sql<{ foreign_keys: number }>`PRAGMA foreign_keys`.execute(db)).rows[0]?.foreign_keys).toBe(1);
      expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    } finally {
      await db.destroy();
    }
  });

  it('opens a database made by the synchronous migrator of earlier versions, unchanged', async () => {
    // What kubedojo up to this version did: each file run with exec and recorded, in one transaction.
    const file = path.join(dir, 'old.db');
    const old = new Database(file);
    old.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    for (const m of readMigrations(migrationsDir('sqlite'))) {
      old.transaction(() => {
        old.exec(m.sql);
        old.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, '2026-01-01T00:00:00.000Z');
      })();
    }
    old.prepare("INSERT INTO learners (id, display_name, created_at, kind, role, username, password_hash) VALUES ('old-1', 'Old Admin', '2026-01-01T00:00:00.000Z', 'account', 'admin', 'old-admin', 'hash')").run();
    old.close();

    const db = await openDatabase({ dialect: 'sqlite', file });
    try {
      const applied = await db.selectFrom('schema_migrations').select(['version', 'applied_at']).execute();
      expect(applied.every((row) => row.applied_at === '2026-01-01T00:00:00.000Z')).toBe(true);
      const learners = new LearnerRepository(db);
      expect(await learners.hasAdmin()).toBe(true);
      expect(await learners.passwordHashOf('old-admin')).toEqual({ learnerId: 'old-1', hash: 'hash' });
    } finally {
      await db.destroy();
    }
  });
});
