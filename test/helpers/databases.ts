import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { openDatabase, type Db } from '../../server/db/database.ts';
import type { DatabaseTarget } from '../../server/db/url.ts';
import { startPostgres, type TestPostgres } from './postgres.ts';

/** Both databases kubedojo runs on; every database suite runs once on each (`describe.each`). */
export const DIALECTS = ['sqlite', 'postgres'] as const;
export type DialectName = (typeof DIALECTS)[number];

export interface TestDatabases {
  /** A fresh, empty database of this dialect: a SQLite file in a temp dir, or a new database on this file's PostgreSQL. */
  target(dialect: DialectName): Promise<DatabaseTarget>;
  /** `target` opened and migrated; closed at the end of the file. */
  open(dialect: DialectName): Promise<Db>;
  /** The file's PostgreSQL server (started on first use). */
  postgres(): Promise<TestPostgres>;
}

/**
 * Per test file (call it at the top level): a throwaway PostgreSQL server started on first use
 * and SQLite files in temp dirs; all of it closed, stopped and removed after the file's tests.
 */
export function testDatabases(): TestDatabases {
  let server: Promise<TestPostgres> | undefined;
  const dirs: string[] = [];
  const opened: Db[] = [];
  afterAll(async () => {
    await Promise.all(opened.map((db) => db.destroy().catch(() => undefined)));
    if (server) await (await server).stop();
    await Promise.all(dirs.map((dir) => fs.rm(dir, { recursive: true, force: true })));
  });
  const postgres = () => (server ??= startPostgres());
  const target = async (dialect: DialectName): Promise<DatabaseTarget> => {
    if (dialect === 'postgres') return { dialect, url: await (await postgres()).createDatabase() };
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-db-'));
    dirs.push(dir);
    return { dialect, file: path.join(dir, 'kubedojo.db') };
  };
  return {
    target,
    postgres,
    async open(dialect) {
      const db = await openDatabase(await target(dialect));
      opened.push(db);
      return db;
    },
  };
}
