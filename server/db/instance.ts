import { randomUUID } from 'node:crypto';
import type { Db } from './database.ts';

export interface Instance {
  instanceId: string;
  createdAt: string;
}

/** The installation's identity, created once. */
export function ensureInstance(db: Db): Instance {
  db.prepare('INSERT OR IGNORE INTO instance (id, instance_id, created_at) VALUES (1, ?, ?)').run(randomUUID(), new Date().toISOString());
  return readInstance(db);
}

/** The installation's identity, made by `ensureInstance` when the platform starts. */
export function readInstance(db: Db): Instance {
  const row = db.prepare('SELECT instance_id AS instanceId, created_at AS createdAt FROM instance WHERE id = 1').get() as Instance | undefined;
  if (!row) throw new Error('the installation has no identity yet: the platform was not started');
  return row;
}
