import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type BetterSqlite from 'better-sqlite3';
import type { Pool } from 'pg';
import type { Logger } from '../logger.ts';

export type Dialect = 'sqlite' | 'postgres';

/** Each dialect's SQL lives in its own directory, with the same numbered files in both. */
export const migrationsDir = (dialect: Dialect): string => path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations', dialect);

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Numbered migrations: `NNN_name.sql`, applied in order, each in its own transaction. */
export function readMigrations(dir: string): Migration[] {
  const migrations: Migration[] = [];
  for (const file of fs.readdirSync(dir).sort()) {
    const match = /^(\d{3})_([a-z0-9_]+)\.sql$/.exec(file);
    if (!match) continue;
    migrations.push({ version: Number(match[1]), name: match[2] ?? file, sql: fs.readFileSync(path.join(dir, file), 'utf8') });
  }
  const seen = new Set<number>();
  for (const m of migrations) {
    if (seen.has(m.version)) throw new Error(`two migrations are numbered ${m.version} in ${dir}`);
    seen.add(m.version);
  }
  return migrations;
}

const CREATE = 'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)';

function refuseNewer(applied: Set<number>, migrations: Migration[]): void {
  const newest = Math.max(0, ...applied);
  const known = Math.max(0, ...migrations.map((m) => m.version));
  if (newest > known) {
    throw new Error(`the database was migrated by a newer kubedojo (schema ${newest}, this version knows up to ${known}); upgrade kubedojo`);
  }
}

/** SQLite: runs on the better-sqlite3 handle before Kysely gets it (its `exec` takes a whole file). */
export function migrateSqlite(db: BetterSqlite.Database, migrations: Migration[], logger?: Logger): number[] {
  db.exec(CREATE);
  const applied = new Set(db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]);
  refuseNewer(applied, migrations);
  const ran: number[] = [];
  for (const migration of migrations) {
    if (applied.has(migration.version)) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(migration.version, migration.name, new Date().toISOString());
    })();
    logger?.info({ version: migration.version, name: migration.name }, 'applied database migration');
    ran.push(migration.version);
  }
  return ran;
}

/** Any number below 2^63: the advisory lock that lets one replica migrate while the others wait. */
const MIGRATION_LOCK = 4_711_020_612;

/**
 * PostgreSQL: the same bookkeeping, on one connection holding an advisory lock, so replicas that
 * start together migrate once. A file without parameters goes over the simple query protocol,
 * which runs all its statements.
 */
export async function migratePostgres(pool: Pool, migrations: Migration[], logger?: Logger): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query(CREATE);
      const rows = (await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows;
      const applied = new Set(rows.map((r) => r.version));
      refuseNewer(applied, migrations);
      const ran: number[] = [];
      for (const migration of migrations) {
        if (applied.has(migration.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(migration.sql);
          await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [migration.version, migration.name, new Date().toISOString()]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK');
          throw error;
        }
        logger?.info({ version: migration.version, name: migration.name }, 'applied database migration');
        ran.push(migration.version);
      }
      return ran;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}
