/**
 * Wire types of workshops: the instructor's room and grid, joining, broadcasts and the end
 * (types only; re-exported by protocol.ts for the client).
 */

import type { LearnerView, SandboxView } from './protocol.ts';

export type SandboxSizeName = 'small' | 'medium' | 'large';

export interface WorkshopCreateRequest {
  title: string;
  lessons: string[];
  seats: number;
  startsAt: string;
  endsAt: string;
  sandboxSize?: SandboxSizeName;
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
  sandboxSize: SandboxSizeName;
  startsAt: string;
  endsAt: string;
  state: 'scheduled' | 'running' | 'ended';
  /** Pre-made sandboxes waiting for participants. */
  warmSandboxes: number;
}

export interface WorkshopListResponse {
  workshops: WorkshopView[];
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

export interface JoinRequest {
  code: string;
  displayName: string;
}

/** A workshop as its participants see it. */
export interface ParticipantWorkshopView {
  id: string;
  title: string;
  lessons: { slug: string; title: string }[];
  startsAt: string;
  endsAt: string;
  state: 'scheduled' | 'running' | 'ended';
  messages: BroadcastView[];
}

export interface JoinResponse {
  learner: LearnerView;
  workshop: ParticipantWorkshopView;
  /** The sandbox made (or claimed) for the first lesson, or why there is none yet. */
  sandbox: SandboxView | null;
  problem: string | null;
}

export interface GridCell {
  lesson: string;
  exercise: string;
  status: 'passed' | 'failed' | 'error' | 'running' | 'not-started';
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

export interface BroadcastRequest {
  text: string;
}

export interface ExtendRequest {
  minutes: number;
}
