import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Db } from './database.ts';

export type LearnerKind = 'guest' | 'account' | 'participant';
export type Role = 'learner' | 'instructor' | 'admin';

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

  private insertSession(learnerId: string, days: number): string {
    const token = randomBytes(32).toString('base64url');
    const now = new Date();
    this.db
      .prepare('INSERT INTO sessions (token_hash, learner_id, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?)')
      .run(hashToken(token), learnerId, now.toISOString(), now.toISOString(), new Date(now.getTime() + days * 86_400_000).toISOString());
    return token;
  }

  createGuest(): { learner: Learner; token: string } {
    const learner: Learner = { id: randomUUID(), displayName: null, kind: 'guest', role: 'learner', username: null, workshopId: null };
    const token = this.db.transaction(() => {
      this.db.prepare("INSERT INTO learners (id, display_name, created_at, kind) VALUES (?, NULL, ?, 'guest')").run(learner.id, new Date().toISOString());
      return this.insertSession(learner.id, SESSION_DAYS);
    })();
    return { learner, token };
  }

  /**
   * A workshop participant, known by a display name only; 'full' when the seats are taken (the
   * count and the insert are one transaction, so a rush of joins never overfills the room).
   */
  createParticipant(workshopId: string, displayName: string, seats: number): { learner: Learner; token: string } | 'full' {
    const learner: Learner = { id: randomUUID(), displayName, kind: 'participant', role: 'learner', username: null, workshopId };
    const token = this.db.transaction((): string | undefined => {
      const taken = (this.db.prepare('SELECT COUNT(*) AS n FROM learners WHERE workshop_id = ?').get(workshopId) as { n: number }).n;
      if (taken >= seats) return undefined;
      this.db.prepare("INSERT INTO learners (id, display_name, created_at, kind, workshop_id) VALUES (?, ?, ?, 'participant', ?)").run(learner.id, displayName, new Date().toISOString(), workshopId);
      return this.insertSession(learner.id, SESSION_DAYS);
    })();
    return token === undefined ? 'full' : { learner, token };
  }

  /**
   * Makes an account: on the given guest's row when there is one (their progress comes along),
   * else on a new row. Conflict when the username is taken.
   */
  createAccount(input: { username: string; passwordHash: string; displayName: string; role: Role; fromGuest?: string | undefined }): Learner | 'taken' {
    return this.db.transaction((): Learner | 'taken' => {
      if (this.db.prepare('SELECT 1 FROM learners WHERE username = ?').get(input.username)) return 'taken';
      const guest = input.fromGuest ? (this.db.prepare("SELECT id FROM learners WHERE id = ? AND kind = 'guest'").get(input.fromGuest) as { id: string } | undefined) : undefined;
      const id = guest?.id ?? randomUUID();
      if (guest) {
        this.db
          .prepare("UPDATE learners SET kind = 'account', role = ?, username = ?, password_hash = ?, display_name = ? WHERE id = ?")
          .run(input.role, input.username, input.passwordHash, input.displayName, id);
      } else {
        this.db
          .prepare("INSERT INTO learners (id, display_name, created_at, kind, role, username, password_hash) VALUES (?, ?, ?, 'account', ?, ?, ?)")
          .run(id, input.displayName, new Date().toISOString(), input.role, input.username, input.passwordHash);
      }
      return { id, displayName: input.displayName, kind: 'account', role: input.role, username: input.username, workshopId: null };
    })();
  }

  /** The stored argon2id hash of an account, for verifying a password at login. */
  passwordHashOf(username: string): { learnerId: string; hash: string } | undefined {
    const row = this.db.prepare("SELECT id, password_hash FROM learners WHERE username = ? AND kind = 'account'").get(username) as { id: string; password_hash: string | null } | undefined;
    return row?.password_hash ? { learnerId: row.id, hash: row.password_hash } : undefined;
  }

  /** A fresh session for a learner (login). Earlier tokens are not reused: no session fixation. */
  newSession(learnerId: string): string {
    return this.insertSession(learnerId, ACCOUNT_SESSION_DAYS);
  }

  endSession(token: string): void {
    this.db.prepare('DELETE FROM sessions WHERE token_hash = ?').run(hashToken(token));
  }

  /** The learner behind a session token, if the session exists and has not expired. */
  bySession(token: string): Learner | undefined {
    const row = this.db
      .prepare(
        `SELECT l.id, l.display_name, l.kind, l.role, l.username, l.workshop_id FROM sessions s JOIN learners l ON l.id = s.learner_id
         WHERE s.token_hash = ? AND s.expires_at > ?`,
      )
      .get(hashToken(token), new Date().toISOString()) as Row | undefined;
    return row ? learnerOf(row) : undefined;
  }

  byId(id: string): Learner | undefined {
    const row = this.db.prepare('SELECT id, display_name, kind, role, username, workshop_id FROM learners WHERE id = ?').get(id) as Row | undefined;
    return row ? learnerOf(row) : undefined;
  }

  byWorkshop(workshopId: string): Learner[] {
    const rows = this.db.prepare('SELECT id, display_name, kind, role, username, workshop_id FROM learners WHERE workshop_id = ? ORDER BY created_at').all(workshopId) as Row[];
    return rows.map(learnerOf);
  }

  accounts(): (Learner & { createdAt: string })[] {
    const rows = this.db.prepare("SELECT id, display_name, kind, role, username, workshop_id, created_at FROM learners WHERE kind = 'account' ORDER BY created_at").all() as (Row & { created_at: string })[];
    return rows.map((r) => ({ ...learnerOf(r), createdAt: r.created_at }));
  }

  setRole(learnerId: string, role: Role): boolean {
    return this.db.prepare("UPDATE learners SET role = ? WHERE id = ? AND kind = 'account'").run(role, learnerId).changes === 1;
  }

  hasAdmin(): boolean {
    return this.db.prepare("SELECT 1 FROM learners WHERE role = 'admin' AND kind = 'account' LIMIT 1").get() !== undefined;
  }

  /** Remembers when a learner was last active (the instructor's grid shows it). */
  touch(learnerId: string, at = new Date().toISOString()): void {
    this.db.prepare('UPDATE learners SET last_seen_at = ? WHERE id = ?').run(at, learnerId);
  }

  lastSeen(learnerIds: readonly string[]): Map<string, string | null> {
    const out = new Map<string, string | null>();
    const get = this.db.prepare('SELECT last_seen_at FROM learners WHERE id = ?');
    for (const id of learnerIds) out.set(id, (get.get(id) as { last_seen_at: string | null } | undefined)?.last_seen_at ?? null);
    return out;
  }

  // ---- the one-time setup token for the first admin

  /** A new setup token (only while there is no admin); earlier unused ones stop working. */
  issueSetupToken(): string {
    const token = randomBytes(24).toString('base64url');
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM setup_tokens WHERE used_at IS NULL').run();
      this.db.prepare('INSERT INTO setup_tokens (token_hash, created_at) VALUES (?, ?)').run(hashToken(token), new Date().toISOString());
    })();
    return token;
  }

  /** Uses up a setup token; false when it is unknown or used. */
  consumeSetupToken(token: string): boolean {
    return this.db.prepare('UPDATE setup_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL').run(new Date().toISOString(), hashToken(token)).changes === 1;
  }
}
