/**
 * The wire of workshops: the instructor's room and grid, joining, broadcasts and the end
 * (re-exported by protocol.ts for the client, as types). The views are the workshop service's
 * own (workshops/views.ts).
 */

import { z } from 'zod';
import { lessonSlug } from './fields.ts';
import type { LearnerView } from './protocol-auth.ts';
import type { SandboxView } from './sandboxes/views.ts';
import { SANDBOX_SIZES } from './vocabulary.ts';
import type { NewWorkshop, ParticipantWorkshopView, WorkshopView } from './workshops/views.ts';

export type { BroadcastView, GridCell, GridResponse, GridRow, ParticipantWorkshopView, WorkshopEndedEvent, WorkshopView } from './workshops/views.ts';

const isoDate = z.iso.datetime({ offset: true, error: 'must be a date and time such as 2026-12-01T09:00:00Z' });

/** POST /api/workshops */
export const workshopCreateRequestSchema = z.strictObject({
  title: z.string({ error: 'must be a string' }).trim().min(1, 'must not be empty').max(120, 'must be at most 120 characters'),
  lessons: z.array(lessonSlug('must be a lesson slug'), { error: 'must be a list of lesson slugs' }).min(1, 'needs at least one lesson').max(20, 'may hold at most 20 lessons'),
  seats: z.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').max(1000, 'must be at most 1000'),
  startsAt: isoDate,
  endsAt: isoDate,
  sandboxSize: z.enum(SANDBOX_SIZES, { error: `must be one of ${SANDBOX_SIZES.join(', ')}` }).optional(),
}) satisfies z.ZodType<NewWorkshop>;
export type WorkshopCreateRequest = z.infer<typeof workshopCreateRequestSchema>;

/** POST /api/join */
export const joinRequestSchema = z.strictObject({
  code: z.string({ error: 'must be a string' }).trim().min(4, 'must be a join code such as K7M2-QX9P').max(20, 'must be a join code such as K7M2-QX9P'),
  displayName: z.string({ error: 'must be a string' }).trim().min(1, 'must not be empty').max(60, 'must be at most 60 characters'),
});
export type JoinRequest = z.infer<typeof joinRequestSchema>;

/** POST /api/workshops/:id/broadcast */
export const broadcastRequestSchema = z.strictObject({ text: z.string({ error: 'must be a string' }).trim().min(1, 'must not be empty').max(500, 'must be at most 500 characters') });
export type BroadcastRequest = z.infer<typeof broadcastRequestSchema>;

/** POST /api/workshops/:id/sandboxes/:namespace/extend */
export const extendRequestSchema = z.strictObject({ minutes: z.number({ error: 'must be a number of minutes' }).int().min(5, 'must be at least 5').max(240, 'must be at most 240') });
export type ExtendRequest = z.infer<typeof extendRequestSchema>;

export interface WorkshopListResponse {
  workshops: WorkshopView[];
}

export interface JoinResponse {
  learner: LearnerView;
  workshop: ParticipantWorkshopView;
  /** The sandbox made (or claimed) for the first lesson, or why there is none yet. */
  sandbox: SandboxView | null;
  problem: string | null;
}
