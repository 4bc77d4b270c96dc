/**
 * Wire types of labs and checks: exercises, check runs and their results, and the /live
 * socket.io events (types only; re-exported by protocol.ts for the client).
 */

import type { BroadcastView, GridRow } from './protocol-workshops.ts';

export type CheckKindName = 'resource' | 'crd' | 'operator' | 'scheduling' | 'autoscaler' | 'resources' | 'networkpolicy' | 'rollout' | 'cel';
export type CheckStatusName = 'passed' | 'failed' | 'error';

/** One check's verdict: what it expected, what it found, and where to look next. */
export interface CheckResultView {
  name: string;
  kind: CheckKindName;
  description: string;
  status: CheckStatusName;
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
  progress: { attempts: number; passed: boolean; lastStatus: CheckStatusName | null; lastCheckedAt: string | null };
}

export interface LabResponse {
  lesson: string;
  /** The sandbox whose values fill the instructions, if the learner has one for this lesson. */
  namespace: string | null;
  exercises: ExerciseView[];
}

export interface CheckRunRequest {
  /** One exercise; the whole lab when left out. */
  exercise?: string;
}

export interface CheckRunView {
  id: string;
  lesson: string;
  exercise: string | null;
  namespace: string;
  status: 'running' | CheckStatusName;
  startedAt: string;
  finishedAt: string | null;
  report: GradeReportView | null;
}

export interface CheckRunListResponse {
  runs: CheckRunView[];
}

/** Progress of a run, over socket.io (namespace /live). */
export type CheckProgressEvent =
  | { runId: string; type: 'check-started'; exercise: string; check: string; description: string }
  | { runId: string; type: 'check-waiting'; exercise: string; check: string; message: string; elapsedMs: number }
  | { runId: string; type: 'check-finished'; exercise: string; result: CheckResultView };

export interface LiveServerEvents {
  'check:progress': (event: CheckProgressEvent) => void;
  'check:finished': (run: CheckRunView) => void;
  /** To an instructor watching a workshop: one participant's row changed. */
  'grid:row': (update: { workshopId: string; row: GridRow }) => void;
  /** To a workshop's participants. */
  'workshop:broadcast': (message: BroadcastView) => void;
  'workshop:ended': (update: { workshopId: string }) => void;
}

export interface LiveClientEvents {
  /** An instructor subscribes to a workshop's grid. */
  'grid:watch': (request: { workshopId: string }, reply: (response: { ok: true } | { ok: false; error: string }) => void) => void;
}
