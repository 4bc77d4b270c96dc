import type { CheckRunView, CheckStatusName, GradeReportView } from '../protocol.ts';
import type { Db } from './database.ts';

export interface ExerciseProgress {
  exercise: string;
  attempts: number;
  passed: boolean;
  lastStatus: CheckStatusName;
  lastCheckedAt: string;
}

interface RunRow {
  id: string;
  lesson: string;
  exercise: string | null;
  namespace: string;
  status: CheckRunView['status'];
  report: string | null;
  started_at: string;
  finished_at: string | null;
}

function view(row: RunRow): CheckRunView {
  return {
    id: row.id,
    lesson: row.lesson,
    exercise: row.exercise,
    namespace: row.namespace,
    status: row.status,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    report: row.report === null ? null : (JSON.parse(row.report) as GradeReportView),
  };
}

/** Check runs and per-exercise progress. Every read is scoped by learner id. */
export class CheckRepository {
  private readonly db: Db;
  constructor(db: Db) {
    this.db = db;
  }

  start(run: { id: string; learnerId: string; canonicalId: string; lesson: string; exercise: string | null; namespace: string; startedAt: string }): void {
    this.db
      .prepare(
        `INSERT INTO check_runs (id, learner_id, canonical_id, lesson, exercise, namespace, status, started_at)
         VALUES (@id, @learnerId, @canonicalId, @lesson, @exercise, @namespace, 'running', @startedAt)`,
      )
      .run(run);
  }

  /** Stores the report and moves each exercise's progress, in one transaction. */
  finish(id: string, learnerId: string, canonicalId: string, report: GradeReportView, status: CheckStatusName): void {
    const now = new Date().toISOString();
    this.db.transaction(() => {
      this.db.prepare(`UPDATE check_runs SET status = ?, report = ?, finished_at = ? WHERE id = ? AND learner_id = ?`).run(status, JSON.stringify(report), now, id, learnerId);
      const upsert = this.db.prepare(
        `INSERT INTO exercise_progress (learner_id, canonical_id, exercise, attempts, passed_at, last_status, last_checked_at)
         VALUES (@learnerId, @canonicalId, @exercise, 1, CASE WHEN @status = 'passed' THEN @now END, @status, @now)
         ON CONFLICT (learner_id, canonical_id, exercise) DO UPDATE SET
           attempts = exercise_progress.attempts + 1,
           passed_at = COALESCE(exercise_progress.passed_at, excluded.passed_at),
           last_status = excluded.last_status,
           last_checked_at = excluded.last_checked_at`,
      );
      for (const exercise of report.exercises) {
        const exerciseStatus: CheckStatusName = exercise.passed ? 'passed' : exercise.checks.some((c) => c.status === 'error') ? 'error' : 'failed';
        upsert.run({ learnerId, canonicalId, exercise: exercise.exercise, status: exerciseStatus, now });
      }
    })();
  }

  /** Runs left 'running' by a server that stopped mid-check. */
  abandonRunning(): number {
    return this.db.prepare(`UPDATE check_runs SET status = 'error', finished_at = ? WHERE status = 'running'`).run(new Date().toISOString()).changes;
  }

  get(id: string, learnerId: string): CheckRunView | undefined {
    const row = this.db.prepare(`SELECT * FROM check_runs WHERE id = ? AND learner_id = ?`).get(id, learnerId) as RunRow | undefined;
    return row ? view(row) : undefined;
  }

  runs(learnerId: string, canonicalId: string, limit = 20): CheckRunView[] {
    const rows = this.db.prepare(`SELECT * FROM check_runs WHERE learner_id = ? AND canonical_id = ? ORDER BY started_at DESC LIMIT ?`).all(learnerId, canonicalId, limit) as RunRow[];
    return rows.map(view);
  }

  exercises(learnerId: string, canonicalId: string): ExerciseProgress[] {
    const rows = this.db
      .prepare(`SELECT exercise, attempts, passed_at, last_status, last_checked_at FROM exercise_progress WHERE learner_id = ? AND canonical_id = ?`)
      .all(learnerId, canonicalId) as { exercise: string; attempts: number; passed_at: string | null; last_status: CheckStatusName; last_checked_at: string }[];
    return rows.map((r) => ({ exercise: r.exercise, attempts: r.attempts, passed: r.passed_at !== null, lastStatus: r.last_status, lastCheckedAt: r.last_checked_at }));
  }
}
