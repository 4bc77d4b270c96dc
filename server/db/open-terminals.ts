import type { Db } from './database.ts';
import { databaseNow } from './replicas.ts';

/**
 * Which terminal sessions are open, across replicas: a row per sandbox and replica holding a
 * session of it (two for a moment while a page moves between replicas). Each replica writes
 * only its own rows, so one letting go never unmarks another's session. Whether the holder is
 * alive is the replica heartbeat's answer (server/replica.ts, the table `replicas`): a replica
 * that crashed stops beating, its rows count as closed once its heartbeat is stale, and the
 * leader deletes them when it forgets that replica. One liveness signal for checks and terminals.
 */
export class OpenTerminalRepository {
  private readonly db: Db;
  /** This server's name in the rows (the platform's replica identity). */
  readonly replica: string;
  /** A holder whose heartbeat is older than this is gone (ReplicaPresence.staleAfterMs). */
  private readonly aliveWithinMs: number;

  constructor(db: Db, replica: string, aliveWithinMs: number) {
    this.db = db;
    this.replica = replica;
    this.aliveWithinMs = aliveWithinMs;
  }

  async opened(namespace: string, now = new Date()): Promise<void> {
    const at = now.toISOString();
    await this.db
      .insertInto('open_terminals')
      .values({ namespace, replica: this.replica, opened_at: at })
      .onConflict((oc) => oc.columns(['namespace', 'replica']).doUpdateSet({ opened_at: at }))
      .execute();
  }

  async closed(namespace: string): Promise<void> {
    await this.db.deleteFrom('open_terminals').where('namespace', '=', namespace).where('replica', '=', this.replica).execute();
  }

  /** Rows whose replica is beating. */
  private live() {
    return this.db
      .selectFrom('open_terminals')
      .innerJoin('replicas', 'replicas.id', 'open_terminals.replica')
      .where('replicas.heartbeat_at', '>=', databaseNow(this.db, -this.aliveWithinMs));
  }

  /** Of these sandboxes, those with a session open on some live replica. */
  async openAmong(namespaces: readonly string[]): Promise<Set<string>> {
    if (namespaces.length === 0) return new Set();
    const rows = await this.live().select('open_terminals.namespace').distinct().where('open_terminals.namespace', 'in', [...new Set(namespaces)]).execute();
    return new Set(rows.map((r) => r.namespace));
  }

  /** Sessions open across every live replica (the admin's capacity figure). */
  async count(): Promise<number> {
    const row = await this.live()
      .select((eb) => eb.fn.count<number | string>('open_terminals.namespace').distinct().as('n'))
      .executeTakeFirstOrThrow();
    // PostgreSQL's count is a bigint, which pg hands over as text.
    return Number(row.n);
  }

  /** Deletes the rows of replicas the database no longer knows (the leader's sweep forgot them). */
  async forgetGone(): Promise<number> {
    const result = await this.db
      .deleteFrom('open_terminals')
      .where('replica', 'not in', (eb) => eb.selectFrom('replicas').select('id'))
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
