/**
 * The wire of labs and checks: exercises, check runs and their results, and the /live socket.io
 * events (re-exported by protocol.ts for the client, as types). The views are grading's own
 * (grading/views.ts).
 */

import { z } from 'zod';
import { DNS_LABEL } from './fields.ts';
import type { CheckProgressEvent, CheckRunView } from './grading/views.ts';
import type { BroadcastView, GridRow, WorkshopEndedEvent } from './workshops/views.ts';

export type { CheckProgressEvent, CheckResultView, CheckRunView, ExerciseResultView, ExerciseView, GradeReportView, LabResponse } from './grading/views.ts';

/** POST /api/sandboxes/:namespace/checks */
export const checkRunRequestSchema = z.strictObject({
  /** One exercise; the whole lab when left out. */
  exercise: z.string().regex(DNS_LABEL, 'must be an exercise id').optional(),
});
export type CheckRunRequest = z.infer<typeof checkRunRequestSchema>;

export interface CheckRunListResponse {
  runs: CheckRunView[];
}

/** `grid:watch`: an instructor subscribes to a workshop's grid. */
export const gridWatchSchema = z.strictObject({ workshopId: z.uuid('workshopId must be a workshop id') });
export type GridWatchRequest = z.infer<typeof gridWatchSchema>;

/** Server → browser on /live. */
export interface LiveServerEvents {
  'check:progress': (event: CheckProgressEvent) => void;
  'check:finished': (run: CheckRunView) => void;
  /** To an instructor watching a workshop: one participant's row changed. */
  'grid:row': (update: { workshopId: string; row: GridRow }) => void;
  /** To a workshop's participants. */
  'workshop:broadcast': (message: BroadcastView) => void;
  /** To the workshop's participants and its instructors' grids at once. */
  'workshop:ended': (event: WorkshopEndedEvent) => void;
}

/** Browser → server on /live; the server listens to `Untrusted<LiveClientEvents>` (protocol.ts). */
export interface LiveClientEvents {
  'grid:watch': (request: GridWatchRequest, reply: (response: { ok: true } | { ok: false; error: string }) => void) => void;
}
