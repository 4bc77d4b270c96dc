import { randomUUID } from 'node:crypto';
import type { Db } from './database.ts';

export interface Instance {
  instanceId: string;
  createdAt: string;
}

/** The installation's identity, created once. */
export function ensureInstance(db: Db): Instance {
  db.prepare('INSERT OR IGNORE INTO instance (id, instance_id, created_at) VALUES (1, ?, ?)').run(randomUUID(), new Date().toISOString());
  const row = db.prepare('SELECT instance_id AS instanceId, created_at AS createdAt FROM instance WHERE id = 1').get() as Instance;
  return row;
}
