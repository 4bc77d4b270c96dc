import type { ClusterConnection } from '../cluster/connection.ts';
import { NotFound, Unavailable } from '../errors.ts';
import type { Exercise } from '../lessons/lab-schema.ts';
import { fillPlaceholdersDeep } from '../lessons/placeholders.ts';
import type { Lesson, Library } from '../lessons/types.ts';
import type { Logger } from '../logger.ts';
import { runChecks } from './runner.ts';
import { SandboxScope, type SandboxIdentity } from './scope.ts';
import type { CheckDefinition } from '../checks/schema.ts';
import type { ExerciseResult, GradeProgress, GradeReport } from './types.ts';
import type { UsageSimulator } from './usage.ts';

export interface GradeRequest {
  lesson: string;
  /** One exercise, or every exercise of the lab. */
  exercise?: string | undefined;
  sandbox: SandboxIdentity;
  signal?: AbortSignal;
  onProgress?: (progress: GradeProgress) => void;
  /** Problems met before grading (applying a submission), carried into the report. */
  notes?: string[];
  /** Only the checks this keeps (benchmarks of the declarative checks alone). */
  only?: (check: CheckDefinition) => boolean;
}

/** Checks that test by behaviour over time (an operator at work, an autoscaler under load). */
export function isBehavioural(check: CheckDefinition): boolean {
  return check.kind === 'operator' || (check.kind === 'autoscaler' && check.load !== undefined);
}

/**
 * Grades a sandbox against a lesson's lab: the checks of each exercise, with the learner's
 * values filled in, run against the live cluster with the platform's credentials (fenced to the
 * sandbox by SandboxScope). Exercises and their checks all run in parallel.
 */
export class Grader {
  private readonly cluster: ClusterConnection;
  private readonly library: Library;
  private readonly log: Logger;
  private readonly usage: UsageSimulator | undefined;

  constructor(deps: { cluster: ClusterConnection; library: Library; logger: Logger; usage?: UsageSimulator | undefined }) {
    this.cluster = deps.cluster;
    this.library = deps.library;
    this.log = deps.logger.child({ component: 'grading' });
    this.usage = deps.usage;
  }

  /** The lesson and the exercises a request names, or a NotFound that lists what exists. */
  exercisesOf(lessonSlug: string, exercise?: string): { lesson: Lesson; exercises: Exercise[] } {
    const lesson = this.library.bySlug.get(lessonSlug);
    if (!lesson) throw new NotFound(`there is no lesson "${lessonSlug}"`);
    if (!lesson.lab) throw new NotFound(`lesson "${lessonSlug}" has no lab to check`);
    if (exercise === undefined) return { lesson, exercises: lesson.lab.exercises };
    const found = lesson.lab.exercises.find((e) => e.id === exercise);
    if (!found) throw new NotFound(`lesson "${lessonSlug}" has no exercise "${exercise}" (exercises: ${lesson.lab.exercises.map((e) => e.id).join(', ')})`);
    return { lesson, exercises: [found] };
  }

  async grade(request: GradeRequest): Promise<GradeReport> {
    const { exercises } = this.exercisesOf(request.lesson, request.exercise);
    const kc = this.cluster.kubeConfig();
    if (!kc.ok) throw new Unavailable(`cannot grade: ${kc.error.message}`);
    const scope = new SandboxScope(kc.value, request.sandbox);
    const started = Date.now();
    const log = this.log.child({ namespace: request.sandbox.namespace, lesson: request.lesson });
    // Exercises are independent by design, like the checks within one: all run at once.
    const results = (
      await Promise.all(
        exercises.map(async (exercise): Promise<ExerciseResult | undefined> => {
          const exerciseStarted = Date.now();
          const checks = fillPlaceholdersDeep(exercise.checks, request.sandbox).filter((c) => request.only?.(c) ?? true);
          if (checks.length === 0) return undefined;
          const outcome = await runChecks(checks, exercise.id, {
            scope,
            log,
            usage: this.usage,
            ...(request.signal ? { signal: request.signal } : {}),
            ...(request.onProgress ? { onProgress: request.onProgress } : {}),
          });
          return {
            exercise: exercise.id,
            title: exercise.title,
            ...(exercise.section !== undefined ? { section: exercise.section } : {}),
            passed: outcome.every((c) => c.status === 'passed'),
            checks: outcome,
            durationMs: Date.now() - exerciseStarted,
          };
        }),
      )
    ).filter((r): r is ExerciseResult => r !== undefined);
    const report: GradeReport = {
      lesson: request.lesson,
      namespace: request.sandbox.namespace,
      passed: results.length > 0 && results.every((r) => r.passed),
      exercises: results,
      startedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      notes: request.notes ?? [],
    };
    log.info({ exercise: request.exercise ?? 'all', passed: report.passed, ms: report.durationMs }, 'graded');
    return report;
  }
}
