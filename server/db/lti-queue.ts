import type { Db } from './database.ts';

/** The AGS score body (https://www.imsglobal.org/spec/lti-ags/v2p0#score-publish-service). */
export interface ScoreBody {
  userId: string;
  scoreGiven: number;
  scoreMaximum: number;
  activityProgress: 'Initialized' | 'Started' | 'InProgress' | 'Submitted' | 'Completed';
  gradingProgress: 'FullyGraded' | 'Pending' | 'PendingManual' | 'Failed' | 'NotReady';
  timestamp: string;
  comment?: string;
}

export interface QueuedScore {
  id: number;
  linkId: string;
  learnerId: string;
  platformId: string;
  userId: string;
  score: ScoreBody;
  attempts: number;
  nextAttemptAt: number;
}

interface Row {
  id: number;
  link_id: string;
  learner_id: string;
  platform_id: string;
  user_id: string;
  score: string;
  attempts: number;
  next_attempt_at: number;
}

const queuedOf = (r: Row): QueuedScore => ({
  id: r.id,
  linkId: r.link_id,
  learnerId: r.learner_id,
  platformId: r.platform_id,
  userId: r.user_id,
  score: JSON.parse(r.score) as ScoreBody,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
});

/** The oldest pending score of its link and user: only a head may be sent, which keeps the order. */
const HEAD = `q.state = 'pending' AND q.id = (SELECT MIN(p.id) FROM lti_score_queue p WHERE p.state = 'pending' AND p.link_id = q.link_id AND p.user_id = q.user_id)`;

/** Scores waiting for their platform, in SQLite so that nothing is lost across a restart. */
export class ScoreQueueRepository {
  private readonly db: Db;
  constructor(db: Db) {
    this.db = db;
  }

  /** Queues a score; while its platform is backing off, the new one waits with the rest. */
  enqueue(item: { linkId: string; learnerId: string; platformId: string; userId: string; score: ScoreBody }, now: number): number {
    const result = this.db
      .prepare(
        `INSERT INTO lti_score_queue (link_id, learner_id, platform_id, user_id, score, state, next_attempt_at, created_at)
         VALUES (@linkId, @learnerId, @platformId, @userId, @score, 'pending',
           MAX(@now, COALESCE((SELECT MAX(next_attempt_at) FROM lti_score_queue WHERE state = 'pending' AND platform_id = @platformId), 0)), @created)`,
      )
      .run({ ...item, score: JSON.stringify(item.score), now, created: new Date(now).toISOString() });
    return Number(result.lastInsertRowid);
  }

  /** Heads that are due now, oldest first. */
  dueHeads(now: number, limit: number): QueuedScore[] {
    return (this.db.prepare(`SELECT q.* FROM lti_score_queue q WHERE ${HEAD} AND q.next_attempt_at <= ? ORDER BY q.id LIMIT ?`).all(now, limit) as Row[]).map(queuedOf);
  }

  /** When the next head falls due (ms since the epoch), or undefined with nothing pending. */
  nextDue(): number | undefined {
    const value = this.db.prepare(`SELECT MIN(q.next_attempt_at) FROM lti_score_queue q WHERE ${HEAD}`).pluck().get() as number | null;
    return value ?? undefined;
  }

  delivered(id: number, now: number): void {
    this.db.prepare("UPDATE lti_score_queue SET state = 'delivered', attempts = attempts + 1, delivered_at = ?, last_error = NULL WHERE id = ?").run(new Date(now).toISOString(), id);
  }

  retry(id: number, error: string, nextAttemptAt: number): void {
    this.db.prepare('UPDATE lti_score_queue SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?').run(error.slice(0, 1000), nextAttemptAt, id);
  }

  /** Given up: the platform refused this score for good; the next one of the same user may go. */
  failed(id: number, error: string): void {
    this.db.prepare("UPDATE lti_score_queue SET state = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ?").run(error.slice(0, 1000), id);
  }

  /** Holds every pending score of a platform until `until`: one unreachable LMS is tried once, not per score. */
  deferPlatform(platformId: string, until: number): void {
    this.db.prepare("UPDATE lti_score_queue SET next_attempt_at = MAX(next_attempt_at, ?) WHERE state = 'pending' AND platform_id = ?").run(until, platformId);
  }

  counts(): { pending: number; delivered: number; failed: number } {
    const rows = this.db.prepare('SELECT state, COUNT(*) AS n FROM lti_score_queue GROUP BY state').all() as { state: string; n: number }[];
    const count = (state: string) => rows.find((r) => r.state === state)?.n ?? 0;
    return { pending: count('pending'), delivered: count('delivered'), failed: count('failed') };
  }

  /** The most recent failures, for the admin page. */
  recentFailures(limit = 10): { id: number; userId: string; error: string | null; createdAt: string }[] {
    return this.db.prepare("SELECT id, user_id AS userId, last_error AS error, created_at AS createdAt FROM lti_score_queue WHERE state = 'failed' ORDER BY id DESC LIMIT ?").all(limit) as {
      id: number;
      userId: string;
      error: string | null;
      createdAt: string;
    }[];
  }
}
