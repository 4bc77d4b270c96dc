/**
 * What grading hands out, as the browser sees it: check verdicts, reports, runs and their
 * progress, a lab's exercises. Plain data of the domain; server/protocol-checks.ts sends them as
 * they are. A leaf read by the browser app's type check too: no imports beyond the vocabulary.
 */

import type { CheckKind, CheckStatus } from '../vocabulary.ts';

/** One check's verdict: what it expected, what it found, and where to look next. */
export interface CheckResultView {
  name: string;
  kind: CheckKind;
  description: string;
  status: CheckStatus;
  /** What is wrong, or what was seen when it passed. */
  message: string;
  expected?: string;
  found?: string;
  hint?: string;
  durationMs: number;
  attempts: number;
}

export interface ExerciseResultView {
  exercise: string;
  title: string;
  /** The lesson heading this exercise belongs to (an anchor of the lesson page). */
  section?: string;
  passed: boolean;
  checks: CheckResultView[];
  durationMs: number;
}

export interface GradeReportView {
  lesson: string;
  namespace: string;
  passed: boolean;
  exercises: ExerciseResultView[];
  startedAt: string;
  durationMs: number;
  /** Problems applying a submission or running its program. */
  notes: string[];
}

/** An exercise as the learner sees it, with their own values filled in. */
export interface ExerciseView {
  id: string;
  title: string;
  section: string | null;
  instructionsHtml: string;
  hintsHtml: string[];
  checks: { name: string; description: string }[];
  progress: { attempts: number; passed: boolean; lastStatus: CheckStatus | null; lastCheckedAt: string | null };
}

export interface LabResponse {
  lesson: string;
  /** The sandbox whose values fill the instructions, if the learner has one for this lesson. */
  namespace: string | null;
  exercises: ExerciseView[];
}

export interface CheckRunView {
  id: string;
  lesson: string;
  exercise: string | null;
  namespace: string;
  status: 'running' | CheckStatus;
  startedAt: string;
  finishedAt: string | null;
  report: GradeReportView | null;
}

/** Progress of a run (socket.io carries it to the page: namespace /live). */
export type CheckProgressEvent =
  | { runId: string; type: 'check-started'; exercise: string; check: string; description: string }
  | { runId: string; type: 'check-waiting'; exercise: string; check: string; message: string; elapsedMs: number }
  | { runId: string; type: 'check-finished'; exercise: string; result: CheckResultView };
