import type { StoredReport } from './checks.ts';
import type { Db } from './database.ts';

/**
 * What a learner has achieved in a lesson, read for grade passback: per exercise whether it was
 * ever passed and the most checks one run passed, and the quiz questions answered right.
 */
export class LearnerResults {
  private readonly db: Db;
  constructor(db: Db) {
    this.db = db;
  }

  /** Per exercise: passed at some point, and the best number of checks passed in one run. */
  async exercises(learnerId: string, canonicalId: string): Promise<Map<string, { passed: boolean; bestChecks: number }>> {
    const out = new Map<string, { passed: boolean; bestChecks: number }>();
    const passed = await this.db.selectFrom('exercise_progress').select('exercise').where('learner_id', '=', learnerId).where('canonical_id', '=', canonicalId).where('passed_at', 'is not', null).execute();
    for (const { exercise } of passed) out.set(exercise, { passed: true, bestChecks: 0 });
    const reports = await this.db
      .selectFrom('check_runs')
      .select('report')
      .where('learner_id', '=', learnerId)
      .where('canonical_id', '=', canonicalId)
      .where('status', '!=', 'running')
      .where('report', 'is not', null)
      .execute();
    for (const { report: text } of reports) {
      if (text === null) continue;
      const report = JSON.parse(text) as StoredReport;
      for (const result of report.exercises) {
        const count = result.checks.filter((c) => c.status === 'passed').length;
        const known = out.get(result.exercise) ?? { passed: false, bestChecks: 0 };
        out.set(result.exercise, { passed: known.passed || result.passed, bestChecks: Math.max(known.bestChecks, count) });
      }
    }
    return out;
  }

  /** The ids of the quiz questions this learner has answered right at least once. */
  async quizCorrect(learnerId: string, canonicalId: string): Promise<Set<string>> {
    const rows = await this.db.selectFrom('quiz_attempts').select('question_id').distinct().where('learner_id', '=', learnerId).where('canonical_id', '=', canonicalId).where('correct', '=', 1).execute();
    return new Set(rows.map((r) => r.question_id));
  }
}
