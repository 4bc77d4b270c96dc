import type { GradeReportView } from '../protocol.ts';
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
  exercises(learnerId: string, canonicalId: string): Map<string, { passed: boolean; bestChecks: number }> {
    const out = new Map<string, { passed: boolean; bestChecks: number }>();
    const passed = this.db.prepare('SELECT exercise FROM exercise_progress WHERE learner_id = ? AND canonical_id = ? AND passed_at IS NOT NULL').pluck().all(learnerId, canonicalId) as string[];
    for (const exercise of passed) out.set(exercise, { passed: true, bestChecks: 0 });
    const reports = this.db.prepare("SELECT report FROM check_runs WHERE learner_id = ? AND canonical_id = ? AND status != 'running' AND report IS NOT NULL").pluck().all(learnerId, canonicalId) as string[];
    for (const text of reports) {
      const report = JSON.parse(text) as GradeReportView;
      for (const result of report.exercises) {
        const count = result.checks.filter((c) => c.status === 'passed').length;
        const known = out.get(result.exercise) ?? { passed: false, bestChecks: 0 };
        out.set(result.exercise, { passed: known.passed || result.passed, bestChecks: Math.max(known.bestChecks, count) });
      }
    }
    return out;
  }

  /** The ids of the quiz questions this learner has answered right at least once. */
  quizCorrect(learnerId: string, canonicalId: string): Set<string> {
    return new Set(this.db.prepare('SELECT DISTINCT question_id FROM quiz_attempts WHERE learner_id = ? AND canonical_id = ? AND correct = 1').pluck().all(learnerId, canonicalId) as string[]);
  }
}
