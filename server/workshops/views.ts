/**
 * What the workshop service hands out, as the browser sees it: workshops (the instructor's and
 * the participants'), broadcasts, the end, and the live grid. Plain data of the domain;
 * server/protocol-workshops.ts sends them as they are. A leaf the browser app's type check reads
 * too: no imports beyond the vocabulary.
 */

import type { CheckStatus, SandboxSize, WorkshopState } from '../vocabulary.ts';

/** What an instructor asks for (the HTTP body's schema lives in server/protocol-workshops.ts). */
export interface NewWorkshop {
  title: string;
  lessons: string[];
  seats: number;
  startsAt: string;
  endsAt: string;
  sandboxSize?: SandboxSize | undefined;
}

export interface WorkshopView {
  id: string;
  code: string;
  /** The link participants open (it fills in the code). */
  joinUrl: string;
  title: string;
  lessons: { slug: string; title: string }[];
  seats: number;
  participants: number;
  sandboxSize: SandboxSize;
  startsAt: string;
  endsAt: string;
  state: WorkshopState;
  /** Pre-made sandboxes waiting for participants. */
  warmSandboxes: number;
}

export interface BroadcastView {
  text: string;
  sentAt: string;
}

/** socket.io `workshop:ended`, to the room and every participant at once. */
export interface WorkshopEndedEvent {
  workshopId: string;
  title: string;
  /** Participant sandboxes being removed. */
  sandboxes: number;
}

/** A workshop as its participants see it. */
export interface ParticipantWorkshopView {
  id: string;
  title: string;
  lessons: { slug: string; title: string }[];
  startsAt: string;
  endsAt: string;
  state: WorkshopState;
  messages: BroadcastView[];
}

export interface GridCell {
  lesson: string;
  exercise: string;
  status: CheckStatus | 'running' | 'not-started';
  attempts: number;
  lastCheckedAt: string | null;
}

export interface GridRow {
  learnerId: string;
  displayName: string;
  lastActivity: string | null;
  sandboxes: { namespace: string; lesson: string; expiresAt: string }[];
  quiz: { lesson: string; correct: number; total: number }[];
  cells: GridCell[];
  /** Why this learner looks stuck, or null. */
  stuck: string | null;
  terminalOpen: boolean;
}

export interface GridResponse {
  workshop: WorkshopView;
  columns: { lesson: string; exercise: string; title: string }[];
  rows: GridRow[];
}
