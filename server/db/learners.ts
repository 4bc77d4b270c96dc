import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Db } from './database.ts';

export interface Learner {
  id: string;
  displayName: string | null;
}

const SESSION_DAYS = 365;

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Guest learners behind session cookies. Tokens are 256-bit random; only hashes are stored. */
export class LearnerRepository {
  private readonly db: Db;
  constructor(db: Db) {
    this.db = db;
  }

  createGuest(): { learner: Learner; token: string } {
    const now = new Date();
    const learner: Learner = { id: randomUUID(), displayName: null };
    const token = randomBytes(32).toString('base64url');
    const expires = new Date(now.getTime() + SESSION_DAYS * 86_400_000);
    this.db.transaction(() => {
      this.db.prepare('INSERT INTO learners (id, display_name, created_at) VALUES (?, ?, ?)').run(learner.id, null, now.toISOString());
      this.db
        .prepare('INSERT INTO sessions (token_hash, learner_id, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?)')
        .run(hashToken(token), learner.id, now.toISOString(), now.toISOString(), expires.toISOString());
    })();
    return { learner, token };
  }

  /** The learner behind a session token, if the session exists and has not expired. */
  bySession(token: string): Learner | undefined {
    const row = this.db
      .prepare(
        `SELECT l.id AS id, l.display_name AS displayName FROM sessions s JOIN learners l ON l.id = s.learner_id
         WHERE s.token_hash = ? AND s.expires_at > ?`,
      )
      .get(hashToken(token), new Date().toISOString()) as Learner | undefined;
    return row;
  }
}
