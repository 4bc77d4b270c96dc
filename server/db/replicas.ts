import { sql, type RawBuilder } from 'kysely';
import { changed, dialectOf, type Db } from './database.ts';

/**
 * The database's clock, `offsetMs` from now, as ISO-8601 text (the format of every time stored
 * here, so it compares with them as text). Heartbeats are written and judged by this one clock:
 * replicas whose own clocks disagree never take a live replica for a dead one.
 */
export function databaseNow(db: Db, offsetMs = 0): RawBuilder<string> {
  if (dialectOf(db) === 'postgres') {
    return sql<string>`to_char((now() + make_interval(secs => ${offsetMs / 1000})) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  }
  return sql<string>`strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ${`${String(offsetMs / 1000)} seconds`})`;
}

export interface ReplicaRow {
  id: string;
  startedAt: string;
  heartbeatAt: string;
}

/**
 * The server processes on this database and their heartbeats (server/replica.ts beats). A
 * replica whose row is missing or whose heartbeat is old counts as gone: what it owned (its
 * running checks) may be ended by another.
 */
export class ReplicaRepository {
  private readonly db: Db;
  constructor(db: Db) {
    this.db = db;
  }

  /** Records that the replica is alive now; the first beat (or one after `forget`) makes its row. */
  async beat(id: string): Promise<void> {
    const now = databaseNow(this.db);
    await this.db
      .insertInto('replicas')
      .values({ id, started_at: now, heartbeat_at: now })
      .onConflict((oc) => oc.column('id').doUpdateSet({ heartbeat_at: now }))
      .execute();
  }

  /** A replica that shuts down cleanly leaves: its row goes at once. */
  async remove(id: string): Promise<void> {
    await this.db.deleteFrom('replicas').where('id', '=', id).execute();
  }

  /** Deletes the rows of replicas that have not beaten within `aliveWithinMs`; how many. */
  async forget(aliveWithinMs: number): Promise<number> {
    return changed(await this.db.deleteFrom('replicas').where('heartbeat_at', '<', databaseNow(this.db, -aliveWithinMs)).executeTakeFirst());
  }

  async get(id: string): Promise<ReplicaRow | undefined> {
    return this.db.selectFrom('replicas').select(['id', 'started_at as startedAt', 'heartbeat_at as heartbeatAt']).where('id', '=', id).executeTakeFirst();
  }
}
