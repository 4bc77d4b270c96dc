import { sql, type Expression, type ExpressionBuilder, type Selectable, type SqlBool } from 'kysely';
import { changed, type Db } from './database.ts';
import type { CheckStatus } from '../vocabulary.ts';
import { databaseNow } from './replicas.ts';
import type { Database } from './schema.ts';

/** A finished run's status (the vocabulary's). */
export type CheckStatusName = CheckStatus;

/** What the store needs of a grade report (stored as JSON; the grading module owns its full type). */
export interface StoredReport {
  exercises: readonly { exercise: string; passed: boolean; checks: readonly { status: string }[] }[];
}

export interface CheckRun<R extends StoredReport = StoredReport> {
  id: string;
  lesson: string;
  exercise: string | null;
  namespace: string;
  status: 'running' | CheckStatusName;
  startedAt: string;
  finishedAt: string | null;
  report: R | null;
}

export interface ExerciseProgress {
  exercise: string;
  attempts: number;
  passed: boolean;
  lastStatus: CheckStatusName;
  lastCheckedAt: string;
}

type RunRow = Selectable<Database['check_runs']>;

/**
 * Whose running runs an `abandon` leaves alone: one replica's own (the only server on a SQLite
 * file, at its start: every other run is a leftover), or those of every replica that has beaten
 * within the time (several replicas on PostgreSQL: a run is ended only once its owner is gone).
 */
export type Spare = { replica: string } | { aliveWithinMs: number };

/** A run ended by `abandon`, with the learner it belongs to (to tell them). */
export type AbandonedRun<R extends StoredReport> = CheckRun<R> & { learnerId: string };

/** Check runs and per-exercise progress. Every read is scoped by learner id. */
export class CheckRepository<R extends StoredReport = StoredReport> {
  private readonly db: Db;
  constructor(db: Db) {
    this.db = db;
  }

  private view(row: RunRow): CheckRun<R> {
    return {
      id: row.id,
      lesson: row.lesson,
      exercise: row.exercise,
      namespace: row.namespace,
      status: row.status,
      startedAt: row.started_at,
      finishedAt: row.finished_at,
      report: row.report === null ? null : (JSON.parse(row.report) as R),
    };
  }

  /** A run begins, owned by the replica grading it (null: by no replica, so any sweep may end it). */
  async start(run: { id: string; learnerId: string; canonicalId: string; lesson: string; exercise: string | null; namespace: string; startedAt: string; replicaId: string | null }): Promise<void> {
    await this.db
      .insertInto('check_runs')
      .values({ id: run.id, learner_id: run.learnerId, canonical_id: run.canonicalId, lesson: run.lesson, exercise: run.exercise, namespace: run.namespace, status: 'running', started_at: run.startedAt, replica_id: run.replicaId })
      .execute();
  }

  /** Stores the report and moves each exercise's progress, in one transaction. */
  async finish(id: string, learnerId: string, canonicalId: string, report: R, status: CheckStatusName): Promise<void> {
    const now = new Date().toISOString();
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('check_runs').set({ status, report: JSON.stringify(report), finished_at: now }).where('id', '=', id).where('learner_id', '=', learnerId).execute();
      for (const exercise of report.exercises) {
        const exerciseStatus: CheckStatusName = exercise.passed ? 'passed' : exercise.checks.some((c) => c.status === 'error') ? 'error' : 'failed';
        await trx
          .insertInto('exercise_progress')
          .values({ learner_id: learnerId, canonical_id: canonicalId, exercise: exercise.exercise, attempts: 1, passed_at: exerciseStatus === 'passed' ? now : null, last_status: exerciseStatus, last_checked_at: now })
          .onConflict((oc) =>
            oc.columns(['learner_id', 'canonical_id', 'exercise']).doUpdateSet((eb) => ({
              attempts: sql<number>`exercise_progress.attempts + 1`,
              passed_at: eb.fn.coalesce('exercise_progress.passed_at', 'excluded.passed_at'),
              last_status: eb.ref('excluded.last_status'),
              last_checked_at: eb.ref('excluded.last_checked_at'),
            })),
          )
          .execute();
      }
    });
  }

  /**
   * Ends as errors, with the report `report` makes, the runs left 'running' by a server that
   * stopped mid-check (those `spare` does not protect). Each is ended only if it is still running
   * and still unprotected (a sweep elsewhere, or its owner coming back, may get there first).
   */
  async abandon(spare: Spare, report: (run: CheckRun<R>) => R): Promise<AbandonedRun<R>[]> {
    const orphaned = (eb: ExpressionBuilder<Database, 'check_runs'>): Expression<SqlBool> =>
      'replica' in spare
        ? eb.or([eb('check_runs.replica_id', 'is', null), eb('check_runs.replica_id', '!=', spare.replica)])
        : eb.not(
            eb.exists(
              eb
                .selectFrom('replicas')
                .select('replicas.id')
                .whereRef('replicas.id', '=', 'check_runs.replica_id')
                .where('replicas.heartbeat_at', '>=', databaseNow(this.db, -spare.aliveWithinMs)),
            ),
          );
    const rows = await this.db.selectFrom('check_runs').selectAll().where('status', '=', 'running').where(orphaned).execute();
    const abandoned: AbandonedRun<R>[] = [];
    for (const row of rows) {
      const finishedAt = new Date().toISOString();
      const stored = report({ ...this.view(row), status: 'error', finishedAt });
      const result = await this.db
        .updateTable('check_runs')
        .set({ status: 'error', finished_at: finishedAt, report: JSON.stringify(stored) })
        .where('id', '=', row.id)
        .where('status', '=', 'running')
        .where(orphaned)
        .executeTakeFirst();
      if (changed(result) === 1) abandoned.push({ ...this.view(row), status: 'error', finishedAt, report: stored, learnerId: row.learner_id });
    }
    return abandoned;
  }

  async get(id: string, learnerId: string): Promise<CheckRun<R> | undefined> {
    const row = await this.db.selectFrom('check_runs').selectAll().where('id', '=', id).where('learner_id', '=', learnerId).executeTakeFirst();
    return row ? this.view(row) : undefined;
  }

  async runs(learnerId: string, canonicalId: string, limit = 20): Promise<CheckRun<R>[]> {
    const rows = await this.db.selectFrom('check_runs').selectAll().where('learner_id', '=', learnerId).where('canonical_id', '=', canonicalId).orderBy('started_at', 'desc').limit(limit).execute();
    return rows.map((row) => this.view(row));
  }

  async exercises(learnerId: string, canonicalId: string): Promise<ExerciseProgress[]> {
    const rows = await this.db
      .selectFrom('exercise_progress')
      .select(['exercise', 'attempts', 'passed_at', 'last_status', 'last_checked_at'])
      .where('learner_id', '=', learnerId)
      .where('canonical_id', '=', canonicalId)
      .execute();
    return rows.map((r) => ({ exercise: r.exercise, attempts: r.attempts, passed: r.passed_at !== null, lastStatus: r.last_status, lastCheckedAt: r.last_checked_at }));
  }
}
