import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrate, openDatabase, readMigrations } from '../../server/db/database.ts';
import { ensureInstance } from '../../server/db/instance.ts';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-db-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('the database', () => {
  it('is a WAL-mode SQLite file, owner-only, migrated once, with a stable instance id', () => {
    const file = path.join(dir, 'nested', 'kubedojo.db');
    const db = openDatabase(file);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    const first = ensureInstance(db);
    db.close();
    const reopened = openDatabase(file);
    expect(ensureInstance(reopened)).toEqual(first);
    const versions = reopened.prepare('SELECT version FROM schema_migrations').pluck().all();
    expect(versions).toEqual(readMigrations().map((m) => m.version));
    reopened.close();
  });

  it('applies only new migrations, in order, each atomically', () => {
    const db = new Database(path.join(dir, 'm.db'));
    expect(migrate(db, [{ version: 1, name: 'a', sql: 'CREATE TABLE a (x)' }])).toEqual([1]);
    expect(migrate(db, [{ version: 1, name: 'a', sql: 'CREATE TABLE a (x)' }, { version: 2, name: 'b', sql: 'CREATE TABLE b (x)' }])).toEqual([2]);
    // A failing migration leaves nothing half-applied.
    expect(() => migrate(db, [{ version: 3, name: 'c', sql: 'CREATE TABLE c (x); CREATE TABLE a (x)' }])).toThrow(/already exists/);
    expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'c'").pluck().get()).toBe(0);
    db.close();
  });

  it('refuses a database migrated by a newer kubedojo', () => {
    const db = new Database(path.join(dir, 'newer.db'));
    migrate(db, [{ version: 1, name: 'a', sql: 'SELECT 1' }, { version: 9, name: 'z', sql: 'SELECT 1' }]);
    expect(() => migrate(db, [{ version: 1, name: 'a', sql: 'SELECT 1' }])).toThrow(/migrated by a newer kubedojo \(schema 9/);
    db.close();
  });

  it('refuses two migrations with the same number', async () => {
    await fs.writeFile(path.join(dir, '001_a.sql'), 'SELECT 1');
    await fs.writeFile(path.join(dir, '001_b.sql'), 'SELECT 1');
    expect(() => readMigrations(dir)).toThrow(/two migrations are numbered 1/);
  });
});
