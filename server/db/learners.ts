import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { LearnerKind, Role } from '../vocabulary.ts';
import { changed, dialectOf, isUniqueViolation, type Db } from './database.ts';

export type { LearnerKind, Role };

/** Everyone the platform knows: a guest, an account, or a workshop participant. */
export interface Learner {
  id: string;
  displayName: string | null;
  kind: LearnerKind;
  role: Role;
  username: string | null;
  workshopId: string | null;
}

const SESSION_DAYS = 365;
/** Sessions of accounts are shorter-lived than a guest's anonymous progress. */
const ACCOUNT_SESSION_DAYS = 14;

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

interface Row {
  id: string;
  display_name: string | null;
  kind: LearnerKind;
  role: Role;
  username: string | null;
  workshop_id: string | null;
}

const COLUMNS = ['id', 'display_name', 'kind', 'role', 'username', 'workshop_id'] as const;

function learnerOf(row: Row): Learner {
  return { id: row.id, displayName: row.display_name, kind: row.kind, role: row.role, username: row.username, workshopId: row.workshop_id };
}

/**
 * Learners and their sessions. Session tokens are 256-bit random and only their hashes are
 * stored, so a leaked database does not leak sessions; password hashes (argon2id) are read only
 * by `passwordHashOf`, never with a learner.
 */
export class LearnerRepository {
  private readonly db: Db;
  constructor(db: Db) {
    this.db = db;
  }

  private async insertSession(db: Db, learnerId: string, days: number): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    const now = new Date();
    await db
      .insertInto('sessions')
      .values({ token_hash: hashToken(token), learner_id: learnerId, created_at: now.toISOString(), last_seen_at: now.toISOString(), expires_at: new Date(now.getTime() + days * 86_400_000).toISOString() })
      .execute();
    return token;
  }

  async createGuest(): Promise<{ learner: Learner; token: string }> {
    const learner: Learner = { id: randomUUID(), displayName: null, kind: 'guest', role: 'learner', username: null, workshopId: null };
    const token = await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('learners').values({ id: learner.id, display_name: null, created_at: new Date().toISOString(), kind: 'guest' }).execute();
      return this.insertSession(trx, learner.id, SESSION_DAYS);
    });
    return { learner, token };
  }

  /**
   * A workshop participant, known by a display name only; 'full' when the seats are taken (the
   * count and the insert are one transaction, so a rush of joins never overfills the room: on
   * SQLite there is one writer; on PostgreSQL the workshop's row is locked until the commit).
   */
  async createParticipant(workshopId: string, displayName: string, seats: number): Promise<{ learner: Learner; token: string } | 'full'> {
    const learner: Learner = { id: randomUUID(), displayName, kind: 'participant', role: 'learner', username: null, workshopId };
    const token = await this.db.transaction().execute(async (trx): Promise<string | undefined> => {
      if (dialectOf(trx) === 'postgres') await trx.selectFrom('workshops').select('id').where('id', '=', workshopId).forUpdate().execute();
      const { n } = await trx.selectFrom('learners').select((eb) => eb.fn.countAll<number>().as('n')).where('workshop_id', '=', workshopId).executeTakeFirstOrThrow();
      if (n >= seats) return undefined;
      await trx.insertInto('learners').values({ id: learner.id, display_name: displayName, created_at: new Date().toISOString(), kind: 'participant', workshop_id: workshopId }).execute();
      return this.insertSession(trx, learner.id, SESSION_DAYS);
    });
    return token === undefined ? 'full' : { learner, token };
  }

  /**
   * Makes an account: on the given guest's row when there is one (their progress comes along),
   * else on a new row. Conflict when the username is taken (also when another writer takes it
   * between the check and the write: the unique index refuses the second).
   */
  async createAccount(input: { username: string; passwordHash: string; displayName: string; role: Role; fromGuest?: string | undefined }): Promise<Learner | 'taken'> {
    try {
      return await this.db.transaction().execute(async (trx): Promise<Learner | 'taken'> => {
        if (await trx.selectFrom('learners').select('id').where('username', '=', input.username).executeTakeFirst()) return 'taken';
        const guest = input.fromGuest ? await trx.selectFrom('learners').select('id').where('id', '=', input.fromGuest).where('kind', '=', 'guest').executeTakeFirst() : undefined;
        const id = guest?.id ?? randomUUID();
        if (guest) {
          await trx.updateTable('learners').set({ kind: 'account', role: input.role, username: input.username, password_hash: input.passwordHash, display_name: input.displayName }).where('id', '=', id).execute();
        } else {
          await trx
            .insertInto('learners')
            .values({ id, display_name: input.displayName, created_at: new Date().toISOString(), kind: 'account', role: input.role, username: input.username, password_hash: input.passwordHash })
            .execute();
        }
        return { id, displayName: input.displayName, kind: 'account', role: input.role, username: input.username, workshopId: null };
      });
    } catch (error) {
      if (isUniqueViolation(error)) return 'taken';
      throw error;
    }
  }

  /** The stored argon2id hash of an account, for verifying a password at login. */
  async passwordHashOf(username: string): Promise<{ learnerId: string; hash: string } | undefined> {
    const row = await this.db.selectFrom('learners').select(['id', 'password_hash']).where('username', '=', username).where('kind', '=', 'account').executeTakeFirst();
    return row?.password_hash ? { learnerId: row.id, hash: row.password_hash } : undefined;
  }

  /** A fresh session for a learner (login). Earlier tokens are not reused: no session fixation. */
  newSession(learnerId: string): Promise<string> {
    return this.insertSession(this.db, learnerId, ACCOUNT_SESSION_DAYS);
  }

  async endSession(token: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('token_hash', '=', hashToken(token)).execute();
  }

  /** The learner behind a session token, if the session exists and has not expired. */
  async bySession(token: string): Promise<Learner | undefined> {
    const row = await this.db
      .selectFrom('sessions as s')
      .innerJoin('learners as l', 'l.id', 's.learner_id')
      .select(['l.id', 'l.display_name', 'l.kind', 'l.role', 'l.username', 'l.workshop_id'])
      .where('s.token_hash', '=', hashToken(token))
      .where('s.expires_at', '>', new Date().toISOString())
      .executeTakeFirst();
    return row ? learnerOf(row) : undefined;
  }

  async byId(id: string): Promise<Learner | undefined> {
    const row = await this.db.selectFrom('learners').select(COLUMNS).where('id', '=', id).executeTakeFirst();
    return row ? learnerOf(row) : undefined;
  }

  async byWorkshop(workshopId: string): Promise<Learner[]> {
    const rows = await this.db.selectFrom('learners').select(COLUMNS).where('workshop_id', '=', workshopId).orderBy('created_at').execute();
    return rows.map(learnerOf);
  }

  async accounts(): Promise<(Learner & { createdAt: string })[]> {
    const rows = await this.db.selectFrom('learners').select([...COLUMNS, 'created_at']).where('kind', '=', 'account').orderBy('created_at').execute();
    return rows.map((r) => ({ ...learnerOf(r), createdAt: r.created_at }));
  }

  async setRole(learnerId: string, role: Role): Promise<boolean> {
    return changed(await this.db.updateTable('learners').set({ role }).where('id', '=', learnerId).where('kind', '=', 'account').executeTakeFirst()) === 1;
  }

  async hasAdmin(): Promise<boolean> {
    return (await this.db.selectFrom('learners').select('id').where('role', '=', 'admin').where('kind', '=', 'account').limit(1).executeTakeFirst()) !== undefined;
  }

  /** Remembers when a learner was last active (the instructor's grid shows it). */
  async touch(learnerId: string, at = new Date().toISOString()): Promise<void> {
    await this.db.updateTable('learners').set({ last_seen_at: at }).where('id', '=', learnerId).execute();
  }

  async lastSeen(learnerIds: readonly string[]): Promise<Map<string, string | null>> {
    const out = new Map<string, string | null>();
    for (const id of learnerIds) out.set(id, null);
    // One query, in slices that stay under SQLite's limit on bound parameters.
    for (let i = 0; i < learnerIds.length; i += 500) {
      const rows = await this.db.selectFrom('learners').select(['id', 'last_seen_at']).where('id', 'in', learnerIds.slice(i, i + 500)).execute();
      for (const row of rows) out.set(row.id, row.last_seen_at);
    }
    return out;
  }

  // ---- the one-time setup token for the first admin

  /** A new setup token (only while there is no admin); earlier unused ones stop working. */
  async issueSetupToken(): Promise<string> {
    const token = randomBytes(24).toString('base64url');
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('setup_tokens').where('used_at', 'is', null).execute();
      await trx.insertInto('setup_tokens').values({ token_hash: hashToken(token), created_at: new Date().toISOString() }).execute();
    });
    return token;
  }

  /** Uses up a setup token; false when it is unknown or used. */
  async consumeSetupToken(token: string): Promise<boolean> {
    const result = await this.db.updateTable('setup_tokens').set({ used_at: new Date().toISOString() }).where('token_hash', '=', hashToken(token)).where('used_at', 'is', null).executeTakeFirst();
    return changed(result) === 1;
  }
}
