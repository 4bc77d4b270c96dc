import { sql } from 'kysely';
import type { Db } from './database.ts';

export type LessonStatus = 'started' | 'completed';

export interface LessonProgress {
  canonicalId: string;
  status: LessonStatus;
  lastSection: string | null;
  startedAt: string;
  updatedAt: string;
  completedAt: string | null;
}

export interface QuizAttempt {
  questionId: string;
  choice: string;
  correct: boolean;
  timeMs: number | null;
  answeredAt: string;
}

const LESSON_COLUMNS = ['canonical_id as canonicalId', 'status', 'last_section as lastSection', 'started_at as startedAt', 'updated_at as updatedAt', 'completed_at as completedAt'] as const;

/** Per-learner lesson progress and quiz attempts. Every query is scoped by learner id. */
export class ProgressRepository {
  private readonly db: Db;
  constructor(db: Db) {
    this.db = db;
  }

  /** Moves a lesson forward (never back from completed to started). */
  async record(learnerId: string, canonicalId: string, status: LessonStatus, lastSection: string | null): Promise<LessonProgress> {
    const now = new Date().toISOString();
    await this.db
      .insertInto('lesson_progress')
      .values({ learner_id: learnerId, canonical_id: canonicalId, status, last_section: lastSection, started_at: now, updated_at: now, completed_at: status === 'completed' ? now : null })
      .onConflict((oc) =>
        oc.columns(['learner_id', 'canonical_id']).doUpdateSet((eb) => ({
          status: sql<LessonStatus>`CASE WHEN lesson_progress.status = 'completed' THEN 'completed' ELSE excluded.status END`,
          last_section: eb.fn.coalesce('excluded.last_section', 'lesson_progress.last_section'),
          updated_at: eb.ref('excluded.updated_at'),
          completed_at: eb.fn.coalesce('lesson_progress.completed_at', 'excluded.completed_at'),
        })),
      )
      .execute();
    const progress = await this.lesson(learnerId, canonicalId);
    if (!progress) throw new Error('progress row vanished');
    return progress;
  }

  lesson(learnerId: string, canonicalId: string): Promise<LessonProgress | undefined> {
    return this.db.selectFrom('lesson_progress').select(LESSON_COLUMNS).where('learner_id', '=', learnerId).where('canonical_id', '=', canonicalId).executeTakeFirst();
  }

  all(learnerId: string): Promise<LessonProgress[]> {
    return this.db.selectFrom('lesson_progress').select(LESSON_COLUMNS).where('learner_id', '=', learnerId).orderBy('updated_at', 'desc').execute();
  }

  async addAttempt(learnerId: string, canonicalId: string, attempt: Omit<QuizAttempt, 'answeredAt'>): Promise<QuizAttempt> {
    const answeredAt = new Date().toISOString();
    await this.db
      .insertInto('quiz_attempts')
      .values({ learner_id: learnerId, canonical_id: canonicalId, question_id: attempt.questionId, choice: attempt.choice, correct: attempt.correct ? 1 : 0, time_ms: attempt.timeMs, answered_at: answeredAt })
      .execute();
    return { ...attempt, answeredAt };
  }

  async attempts(learnerId: string, canonicalId: string): Promise<QuizAttempt[]> {
    const rows = await this.db
      .selectFrom('quiz_attempts')
      .select(['question_id as questionId', 'choice', 'correct', 'time_ms as timeMs', 'answered_at as answeredAt'])
      .where('learner_id', '=', learnerId)
      .where('canonical_id', '=', canonicalId)
      .orderBy('id')
      .execute();
    return rows.map((r) => ({ ...r, correct: r.correct === 1 }));
  }

  /** For the catalog: per lesson, how many questions this learner has answered right. */
  async quizScores(learnerId: string): Promise<Map<string, Set<string>>> {
    const rows = await this.db.selectFrom('quiz_attempts').select(['canonical_id as canonicalId', 'question_id as questionId']).distinct().where('learner_id', '=', learnerId).where('correct', '=', 1).execute();
    const scores = new Map<string, Set<string>>();
    for (const row of rows) {
      const set = scores.get(row.canonicalId) ?? new Set<string>();
      set.add(row.questionId);
      scores.set(row.canonicalId, set);
    }
    return scores;
  }
}
