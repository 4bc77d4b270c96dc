import { randomUUID } from 'node:crypto';
import type { Db } from './database.ts';

export interface Instance {
  instanceId: string;
  createdAt: string;
}

/** The installation's identity, created once (by whichever replica starts first). */
export async function ensureInstance(db: Db): Promise<Instance> {
  await db
    .insertInto('instance')
    .values({ id: 1, instance_id: randomUUID(), created_at: new Date().toISOString() })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  return readInstance(db);
}

/** The installation's identity, made by `ensureInstance` when the platform starts. */
export async function readInstance(db: Db): Promise<Instance> {
  const row = await db.selectFrom('instance').select(['instance_id as instanceId', 'created_at as createdAt']).where('id', '=', 1).executeTakeFirst();
  if (!row) throw new Error('the installation has no identity yet: the platform was not started');
  return row;
}
