import type { Db } from './database.ts';

/** How often a replica refreshes the rows of the sessions it holds. */
export const OPEN_TERMINAL_HEARTBEAT_MS = 30_000;
/** A row not refreshed for this long belongs to a replica that went away without saying so. */
export const OPEN_TERMINAL_STALE_MS = 3 * OPEN_TERMINAL_HEARTBEAT_MS;

/**
 * Which terminal sessions are open, across replicas: a row per sandbox and replica holding a
 * session of it (two for a moment while a page moves between replicas). Each replica writes
 * only its own rows, so one letting go never unmarks another's session; a replica that crashes
 * leaves rows that stop being refreshed and count as closed once stale (and are then deleted).
 */
export class OpenTerminalRepository {
  private readonly db: Db;
  /** This server's name in the rows (the platform's replica identity). */
  readonly replica: string;

  constructor(db: Db, replica: string) {
    this.db = db;
    this.replica = replica;
  }

  async opened(namespace: string, now = new Date()): Promise<void> {
    const at = now.toISOString();
    await this.db
      .insertInto('open_terminals')
      .values({ namespace, replica: this.replica, opened_at: at, seen_at: at })
      .onConflict((oc) => oc.columns(['namespace', 'replica']).doUpdateSet({ opened_at: at, seen_at: at }))
      .execute();
  }

  async closed(namespace: string): Promise<void> {
    await this.db.deleteFrom('open_terminals').where('namespace', '=', namespace).where('replica', '=', this.replica).execute();
  }

  /** Refreshes this replica's rows and deletes everyone's stale ones; `held` are the sessions open here. */
  async heartbeat(held: readonly string[], now = new Date()): Promise<void> {
    const at = now.toISOString();
    if (held.length > 0) await this.db.updateTable('open_terminals').set({ seen_at: at }).where('replica', '=', this.replica).where('namespace', 'in', held).execute();
    await this.db.deleteFrom('open_terminals').where('seen_at', '<', new Date(now.getTime() - OPEN_TERMINAL_STALE_MS).toISOString()).execute();
  }

  /** Of these sandboxes, those with a session open on some replica. */
  async openAmong(namespaces: readonly string[], now = new Date()): Promise<Set<string>> {
    if (namespaces.length === 0) return new Set();
    const fresh = new Date(now.getTime() - OPEN_TERMINAL_STALE_MS).toISOString();
    const rows = await this.db.selectFrom('open_terminals').select('namespace').distinct().where('namespace', 'in', [...new Set(namespaces)]).where('seen_at', '>=', fresh).execute();
    return new Set(rows.map((r) => r.namespace));
  }

  /** Sessions open across every replica (the admin's capacity figure). */
  async count(now = new Date()): Promise<number> {
    const fresh = new Date(now.getTime() - OPEN_TERMINAL_STALE_MS).toISOString();
    const row = await this.db.selectFrom('open_terminals').select((eb) => eb.fn.count<number>('namespace').distinct().as('n')).where('seen_at', '>=', fresh).executeTakeFirstOrThrow();
    return row.n;
  }

  /** Forgets this replica's rows (it is closing: its sessions are let go). */
  async closeAll(): Promise<void> {
    await this.db.deleteFrom('open_terminals').where('replica', '=', this.replica).execute();
  }
}
