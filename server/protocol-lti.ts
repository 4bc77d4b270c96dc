/**
 * Wire types of kubedojo's LTI 1.3 tool (types only; re-exported by protocol.ts for the client).
 * The LMS-facing endpoints (/lti/login, /lti/launch, /.well-known/jwks.json, /lti/register/…)
 * speak the LTI and OAuth formats; these are the JSON bodies of the /api endpoints.
 */

import type { LearnerView } from './protocol.ts';

/** POST /api/lti/session: a launch's one-time ticket becomes a session token for this page. */
export interface LtiSessionRequest {
  ticket: string;
}

export interface LtiSessionResponse {
  /** Sent back as `Authorization: Bearer …` (and socket.io `auth.token`) by the page that holds it. */
  token: string;
  learner: LearnerView;
}

/** Something an instructor can place in a course: a whole lesson or one exercise. */
export interface DeepLinkItemView {
  lesson: string;
  /** null: the whole lesson (its checks and quiz). */
  exercise: string | null;
  title: string;
  lessonTitle: string;
  level: 'beginner' | 'intermediate' | 'advanced';
  /** The line item's maximum: checks of the exercise, or of the lesson plus its quiz questions. */
  scoreMaximum: number;
}

/** GET /api/lti/deep-links/:id */
export interface DeepLinkOptionsResponse {
  platform: string;
  acceptMultiple: boolean;
  items: DeepLinkItemView[];
}

/** POST /api/lti/deep-links/:id */
export interface DeepLinkChoiceRequest {
  items: { lesson: string; exercise?: string | null | undefined }[];
}

/** The signed LtiDeepLinkingResponse and where the page posts it (as the form field `JWT`). */
export interface DeepLinkChoiceResponse {
  returnUrl: string;
  jwt: string;
}

/** The URLs an LMS admin pastes. */
export interface LtiToolUrls {
  login: string;
  launch: string;
  jwks: string;
  deepLinking: string;
  /** The dynamic registration URL has a one-time token: make one with POST /api/admin/lti/registration-links. */
  registration: string;
}

export interface LtiPlatformView {
  id: string;
  name: string;
  issuer: string;
  clientId: string;
  deployments: string[];
  authUrl: string;
  tokenUrl: string;
  jwksUrl: string;
  frameOrigins: string[];
  registeredBy: 'admin' | 'dynamic';
  createdAt: string;
}

/** POST /api/admin/lti/platforms */
export interface LtiPlatformCreateRequest {
  name: string;
  issuer: string;
  clientId: string;
  deployments: string[];
  authUrl: string;
  tokenUrl: string;
  jwksUrl: string;
  tokenAudience?: string | undefined;
  frameOrigins?: string[] | undefined;
}

/** GET /api/admin/lti */
export interface LtiAdminResponse {
  tool: LtiToolUrls;
  platforms: LtiPlatformView[];
  scores: { pending: number; delivered: number; failed: number };
}

/** POST /api/admin/lti/registration-links */
export interface LtiRegistrationLinkResponse {
  url: string;
  expiresAt: string;
}

export interface RosterMemberView {
  name: string;
  roles: string[];
  instructor: boolean;
  status: 'not-started' | 'started';
  /** When they last opened a kubedojo link of the course, if ever. */
  launchedAt: string | null;
}

/** GET /api/lti/workshops/:id/roster: the members of the LMS course whose room this is. */
export interface RosterResponse {
  course: string;
  platform: string;
  members: RosterMemberView[];
  /** Why the platform's member list could not be read now (the stored one is shown). */
  problem: string | null;
}
