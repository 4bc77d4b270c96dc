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

/** Per-learner lesson progress and quiz attempts. Every query is scoped by learner id. */
export class ProgressRepository {
  private readonly db: Db;
  constructor(db: Db) {
    this.db = db;
  }

  /** Moves a lesson forward (never back from completed to started). */
  record(learnerId: string, canonicalId: string, status: LessonStatus, lastSection: string | null): LessonProgress {
    const now = new Date().toISOString();
    this.db
      .prepare(
        `INSERT INTO lesson_progress (learner_id, canonical_id, status, last_section, started_at, updated_at, completed_at)
         VALUES (@learnerId, @canonicalId, @status, @lastSection, @now, @now, CASE WHEN @status = 'completed' THEN @now END)
         ON CONFLICT (learner_id, canonical_id) DO UPDATE SET
           status = CASE WHEN lesson_progress.status = 'completed' THEN 'completed' ELSE excluded.status END,
           last_section = COALESCE(excluded.last_section, lesson_progress.last_section),
           updated_at = excluded.updated_at,
           completed_at = COALESCE(lesson_progress.completed_at, excluded.completed_at)`,
      )
      .run({ learnerId, canonicalId, status, lastSection, now });
    const progress = this.lesson(learnerId, canonicalId);
    if (!progress) throw new Error('progress row vanished');
    return progress;
  }

  lesson(learnerId: string, canonicalId: string): LessonProgress | undefined {
    return this.db
      .prepare(
        `SELECT canonical_id AS canonicalId, status, last_section AS lastSection, started_at AS startedAt,
                updated_at AS updatedAt, completed_at AS completedAt
         FROM lesson_progress WHERE learner_id = ? AND canonical_id = ?`,
      )
      .get(learnerId, canonicalId) as LessonProgress | undefined;
  }

  all(learnerId: string): LessonProgress[] {
    return this.db
      .prepare(
        `SELECT canonical_id AS canonicalId, status, last_section AS lastSection, started_at AS startedAt,
                updated_at AS updatedAt, completed_at AS completedAt
         FROM lesson_progress WHERE learner_id = ? ORDER BY updated_at DESC`,
      )
      .all(learnerId) as LessonProgress[];
  }

  addAttempt(learnerId: string, canonicalId: string, attempt: Omit<QuizAttempt, 'answeredAt'>): QuizAttempt {
    const answeredAt = new Date().toISOString();
    this.db
      .prepare(
        `INSERT INTO quiz_attempts (learner_id, canonical_id, question_id, choice, correct, time_ms, answered_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(learnerId, canonicalId, attempt.questionId, attempt.choice, attempt.correct ? 1 : 0, attempt.timeMs, answeredAt);
    return { ...attempt, answeredAt };
  }

  attempts(learnerId: string, canonicalId: string): QuizAttempt[] {
    const rows = this.db
      .prepare(
        `SELECT question_id AS questionId, choice, correct, time_ms AS timeMs, answered_at AS answeredAt
         FROM quiz_attempts WHERE learner_id = ? AND canonical_id = ? ORDER BY id`,
      )
      .all(learnerId, canonicalId) as (Omit<QuizAttempt, 'correct'> & { correct: number })[];
    return rows.map((r) => ({ ...r, correct: r.correct === 1 }));
  }

  /** For the catalog: per lesson, how many questions this learner has answered right. */
  quizScores(learnerId: string): Map<string, Set<string>> {
    const rows = this.db
      .prepare('SELECT DISTINCT canonical_id AS canonicalId, question_id AS questionId FROM quiz_attempts WHERE learner_id = ? AND correct = 1')
      .all(learnerId) as { canonicalId: string; questionId: string }[];
    const scores = new Map<string, Set<string>>();
    for (const row of rows) {
      const set = scores.get(row.canonicalId) ?? new Set<string>();
      set.add(row.questionId);
      scores.set(row.canonicalId, set);
    }
    return scores;
  }
}
