/**
 * The wire of a learner's sandboxes and terminal recordings (re-exported by protocol.ts for the
 * client, as types). SandboxView is the sandbox service's own (sandboxes/views.ts).
 */

import { z } from 'zod';
import { lessonSlug } from './fields.ts';
import type { SandboxView } from './sandboxes/views.ts';

export type { SandboxView };

/** POST /api/sandboxes. The size comes from the lesson's lab (or a workshop's instructor), never from the request. */
export const sandboxCreateRequestSchema = z.strictObject({
  lesson: lessonSlug('must be a lesson slug'),
  // The size is the lab's (or the workshop instructor's): a guest asking for "large" gets a clear no.
  size: z.never({ error: "is chosen by the lesson's lab (or the workshop's instructor), not by the request" }).optional(),
});
export type SandboxCreateRequest = z.infer<typeof sandboxCreateRequestSchema>;

/** POST /api/sandboxes/:namespace/extend */
export const sandboxExtendRequestSchema = z.strictObject({
  minutes: z.number({ error: 'must be a number of minutes' }).int('must be a whole number of minutes').min(5, 'must be at least 5').max(240, 'must be at most 240'),
});
export type SandboxExtendRequest = z.infer<typeof sandboxExtendRequestSchema>;

export interface SandboxListResponse {
  sandboxes: SandboxView[];
}

export interface RecordingView {
  id: string;
  namespace: string;
  lesson: string;
  startedAt: string;
  endedAt: string | null;
  bytes: number;
}
