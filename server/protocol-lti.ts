/**
 * The wire of kubedojo's LTI 1.3 tool (re-exported by protocol.ts for the client, as types). The
 * LMS-facing endpoints (/lti/login, /lti/launch, /.well-known/jwks.json, /lti/register/…) speak
 * the LTI and OAuth formats; these are the JSON bodies of the /api endpoints. The views are the
 * LTI service's own (lti/views.ts).
 */

import { z } from 'zod';
import { DNS_LABEL, lessonSlug } from './fields.ts';
import type { LearnerView } from './protocol-auth.ts';

export type { DeepLinkChoiceResponse, DeepLinkItemView, DeepLinkOptionsResponse, LtiAdminResponse, LtiPlatformView, LtiToolUrls, RosterResponse } from './lti/views.ts';

/** POST /api/lti/session: a launch's one-time ticket becomes a session token for this page. */
export const ltiSessionRequestSchema = z.strictObject({ ticket: z.string().regex(/^[A-Za-z0-9_-]{20,100}$/, 'must be a launch ticket') });
export type LtiSessionRequest = z.infer<typeof ltiSessionRequestSchema>;

export interface LtiSessionResponse {
  /** Sent back as `Authorization: Bearer …` (and socket.io `auth.token`) by the page that holds it. */
  token: string;
  learner: LearnerView;
}

/** POST /api/lti/deep-links/:id */
export const deepLinkChoiceRequestSchema = z.strictObject({
  items: z
    .array(z.strictObject({ lesson: lessonSlug('must be a lesson slug'), exercise: z.string().regex(DNS_LABEL, 'must be an exercise id').nullable().optional() }), { error: 'must be a list of lessons and exercises' })
    .min(1, 'pick at least one lesson or exercise')
    .max(50, 'may hold at most 50 items'),
});
export type DeepLinkChoiceRequest = z.infer<typeof deepLinkChoiceRequestSchema>;

const url = z.url({ error: 'must be an absolute URL such as https://lms.example.edu/…' }).max(2000);
const text = (max: number) => z.string({ error: 'must be a string' }).trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);

/** POST /api/admin/lti/platforms */
export const ltiPlatformCreateRequestSchema = z.strictObject({
  name: text(120),
  issuer: url,
  clientId: text(255),
  deployments: z.array(text(255), { error: 'must be a list of deployment ids' }).min(1, 'needs at least one deployment id').max(50),
  authUrl: url,
  tokenUrl: url,
  jwksUrl: url,
  tokenAudience: text(2000).optional(),
  frameOrigins: z.array(url, { error: 'must be a list of origins such as https://school.instructure.com' }).max(20).optional(),
});
export type LtiPlatformCreateRequest = z.infer<typeof ltiPlatformCreateRequestSchema>;

/** POST /api/admin/lti/registration-links */
export interface LtiRegistrationLinkResponse {
  url: string;
  expiresAt: string;
}
