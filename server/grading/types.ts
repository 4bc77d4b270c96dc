import type { Logger } from '../logger.ts';
import type { CheckOf } from '../checks/schema.ts';
import type { CheckKind } from '../vocabulary.ts';
import type { CheckResultView, ExerciseResultView, GradeReportView } from './views.ts';
import type { SandboxScope } from './scope.ts';
import type { UsageSimulator } from './usage.ts';

/**
 * What one attempt of a check found. A failure is `settled` when it cannot turn into a pass
 * without the learner changing something (a field they wrote is wrong); the runner then stops
 * waiting after a short grace instead of polling until the timeout, so wrong answers get their
 * feedback in seconds while Pods, endpoints and status still get the time they need.
 */
export type Outcome =
  | { status: 'passed'; message: string }
  | { status: 'failed'; message: string; expected?: string; found?: string; settled?: boolean; /** Not to be tried again (the check ran its own timeline). */ final?: boolean }
  /** The check could not be carried out (the lab is wrong, the cluster cannot do it); not retried. */
  | { status: 'error'; message: string };

export interface CheckContext {
  scope: SandboxScope;
  /** When the check's time is up (epoch ms); kinds with their own timeline plan by it. */
  deadline: number;
  signal: AbortSignal;
  log: Logger;
  /** Simulated Pod usage for autoscaler load tests, where the cluster supports it. */
  usage: UsageSimulator | undefined;
}

export type CheckEvaluator<K extends CheckKind> = (check: CheckOf<K>, ctx: CheckContext) => Promise<Outcome>;

/** The engine's results are the shapes the browser sees (views.ts). */
export type CheckResult = CheckResultView;
export type ExerciseResult = ExerciseResultView;
export type GradeReport = GradeReportView;

/** Progress while a grade runs: a check started, is still waiting, or finished. */
export type GradeProgress =
  | { type: 'check-started'; exercise: string; check: string; description: string }
  | { type: 'check-waiting'; exercise: string; check: string; message: string; elapsedMs: number }
  | { type: 'check-finished'; exercise: string; result: CheckResult };
