import { sql } from 'kysely';
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
const HEAD = sql<boolean>`q.state = 'pending' AND q.id = (SELECT MIN(p.id) FROM lti_score_queue p WHERE p.state = 'pending' AND p.link_id = q.link_id AND p.user_id = q.user_id)`;

/** Scores waiting for their platform, in the database so that nothing is lost across a restart. */
export class ScoreQueueRepository {
  private readonly db: Db;
  constructor(db: Db) {
    this.db = db;
  }

  /** Queues a score; while its platform is backing off, the new one waits with the rest. */
  async enqueue(item: { linkId: string; learnerId: string; platformId: string; userId: string; score: ScoreBody }, now: number): Promise<number> {
    // The latest backoff of the platform's pending scores, or now: CASE for SQLite's MAX(a, b), PostgreSQL's GREATEST.
    const backoff = sql<number>`(SELECT MAX(next_attempt_at) FROM lti_score_queue WHERE state = 'pending' AND platform_id = ${item.platformId})`;
    const row = await this.db
      .insertInto('lti_score_queue')
      .values({
        link_id: item.linkId,
        learner_id: item.learnerId,
        platform_id: item.platformId,
        user_id: item.userId,
        score: JSON.stringify(item.score),
        state: 'pending',
        next_attempt_at: sql<number>`CASE WHEN COALESCE(${backoff}, 0) > ${now} THEN ${backoff} ELSE ${now} END`,
        created_at: new Date(now).toISOString(),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  /** Heads that are due now, oldest first. */
  async dueHeads(now: number, limit: number): Promise<QueuedScore[]> {
    const rows = await this.db.selectFrom('lti_score_queue as q').selectAll('q').where(HEAD).where('q.next_attempt_at', '<=', now).orderBy('q.id').limit(limit).execute();
    return rows.map(queuedOf);
  }

  /** When the next head falls due (ms since the epoch), or undefined with nothing pending. */
  async nextDue(): Promise<number | undefined> {
    const row = await this.db.selectFrom('lti_score_queue as q').select((eb) => eb.fn.min<number | null>('q.next_attempt_at').as('due')).where(HEAD).executeTakeFirst();
    return row?.due ?? undefined;
  }

  async delivered(id: number, now: number): Promise<void> {
    await this.db
      .updateTable('lti_score_queue')
      .set((eb) => ({ state: 'delivered', attempts: eb('attempts', '+', 1), delivered_at: new Date(now).toISOString(), last_error: null }))
      .where('id', '=', id)
      .execute();
  }

  async retry(id: number, error: string, nextAttemptAt: number): Promise<void> {
    await this.db
      .updateTable('lti_score_queue')
      .set((eb) => ({ attempts: eb('attempts', '+', 1), last_error: error.slice(0, 1000), next_attempt_at: nextAttemptAt }))
      .where('id', '=', id)
      .execute();
  }

  /** Given up: the platform refused this score for good; the next one of the same user may go. */
  async failed(id: number, error: string): Promise<void> {
    await this.db
      .updateTable('lti_score_queue')
      .set((eb) => ({ state: 'failed', attempts: eb('attempts', '+', 1), last_error: error.slice(0, 1000) }))
      .where('id', '=', id)
      .execute();
  }

  /** Holds every pending score of a platform until `until`: one unreachable LMS is tried once, not per score. */
  async deferPlatform(platformId: string, until: number): Promise<void> {
    await this.db
      .updateTable('lti_score_queue')
      .set({ next_attempt_at: sql<number>`CASE WHEN next_attempt_at > ${until} THEN next_attempt_at ELSE ${until} END` })
      .where('state', '=', 'pending')
      .where('platform_id', '=', platformId)
      .execute();
  }

  async counts(): Promise<{ pending: number; delivered: number; failed: number }> {
    const rows = await this.db.selectFrom('lti_score_queue').select(['state', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('state').execute();
    const count = (state: string) => rows.find((r) => r.state === state)?.n ?? 0;
    return { pending: count('pending'), delivered: count('delivered'), failed: count('failed') };
  }

  /** The most recent failures, for the admin page. */
  recentFailures(limit = 10): Promise<{ id: number; userId: string; error: string | null; createdAt: string }[]> {
    return this.db.selectFrom('lti_score_queue').select(['id', 'user_id as userId', 'last_error as error', 'created_at as createdAt']).where('state', '=', 'failed').orderBy('id', 'desc').limit(limit).execute();
  }
}
