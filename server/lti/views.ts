/**
 * What the LTI service hands out, as kubedojo's own pages see it: the tool's URLs, the registered
 * platforms, the deep-linking picker and an LMS course's roster. Plain data of the domain;
 * server/protocol-lti.ts sends them as they are. A leaf the browser app's type check reads too:
 * no imports beyond the vocabulary.
 */

import type { LessonLevel } from '../vocabulary.ts';

/** Something an instructor can place in a course: a whole lesson or one exercise. */
export interface DeepLinkItemView {
  lesson: string;
  /** null: the whole lesson (its checks and quiz). */
  exercise: string | null;
  title: string;
  lessonTitle: string;
  level: LessonLevel;
  /** The line item's maximum: checks of the exercise, or of the lesson plus its quiz questions. */
  scoreMaximum: number;
}

/** GET /api/lti/deep-links/:id */
export interface DeepLinkOptionsResponse {
  platform: string;
  acceptMultiple: boolean;
  items: DeepLinkItemView[];
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

/** GET /api/admin/lti */
export interface LtiAdminResponse {
  tool: LtiToolUrls;
  platforms: LtiPlatformView[];
  scores: { pending: number; delivered: number; failed: number };
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
