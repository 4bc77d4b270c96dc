import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite from 'better-sqlite3';
import { Kysely, PostgresAdapter, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import type { Logger } from '../logger.ts';
import { migratePostgres, migrateSqlite, migrationsDir, readMigrations, type Dialect } from './migrate.ts';
import type { Database } from './schema.ts';
import { describeDatabase, type DatabaseTarget } from './url.ts';

/** The platform's database, SQLite or PostgreSQL, behind one query builder. `destroy()` closes it. */
export type Db = Kysely<Database>;

export const dialectOf = (db: Db): Dialect => (db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite');

/**
 * COUNT and SUM are BIGINT on PostgreSQL, which pg hands over as strings by default; every
 * number kubedojo stores fits a double (milliseconds, bytes, ids), so BIGINT reads as a number,
 * as it does from SQLite. Set on this pool only, not on pg's global type table.
 */
/** A pool on a PostgreSQL URL; `name` shows in pg_stat_activity. */
export function postgresPool(url: string, name: string, max = 10): pg.Pool {
  const types = new pg.TypeOverrides();
  types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));
  return new pg.Pool({ connectionString: url, max, application_name: name, types });
}

/** Opens (creating if needed) the SQLite file in WAL mode, migrated; the handle Kysely runs on. */
export function openSqlite(file: string, logger?: Logger): BetterSqlite.Database {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const db = new BetterSqlite(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    fs.chmodSync(file, 0o600);
    migrateSqlite(db, readMigrations(migrationsDir('sqlite')), logger);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/** Opens the platform's database, SQLite or PostgreSQL, and brings its schema up to date. */
export async function openDatabase(target: DatabaseTarget, logger?: Logger): Promise<Db> {
  const log = logger?.child({ component: 'db' });
  if (target.dialect === 'sqlite') {
    const sqlite = openSqlite(target.file, log);
    return new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  }
  const pool = postgresPool(target.url, 'kubedojo');
  // An idle client that loses its server emits 'error' on the pool; without a listener that would end the process.
  pool.on('error', (error) => log?.warn({ err: error }, 'a PostgreSQL connection failed'));
  try {
    await migratePostgres(pool, readMigrations(migrationsDir('postgres')), log);
  } catch (error) {
    await pool.end();
    throw new Error(`could not prepare the database at ${describeDatabase(target)}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

/** For /readyz: the database answers a query. */
export async function databaseReady(db: Db): Promise<{ ok: true } | { ok: false; message: string }> {
  try {
    await sql`SELECT 1`.execute(db);
    return { ok: true };
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
}

/** The number a write reports (Kysely's counts are bigints). */
export const changed = (result: { numUpdatedRows?: bigint; numDeletedRows?: bigint; numInsertedOrUpdatedRows?: bigint | undefined }): number =>
  Number(result.numUpdatedRows ?? result.numDeletedRows ?? result.numInsertedOrUpdatedRows ?? 0n);

/** A write refused by a UNIQUE index or primary key, on either database. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
