/**
 * Wire types of the REST API and socket.io events. The client imports these as types only;
 * the server builds responses that satisfy them.
 */

import type { CodeBlockView, TerminalRunDone, TerminalRunProgress, TerminalRunRequest, TerminalRunResponse } from './protocol-blocks.ts';

export interface ApiErrorBody {
  error: {
    code: 'invalid' | 'unauthenticated' | 'forbidden' | 'not_found' | 'conflict' | 'rate_limited' | 'unavailable' | 'internal';
    message: string;
    /** For `invalid`: each problem with the field it concerns (a dotted path). */
    issues?: { field: string; message: string }[];
    details?: Record<string, unknown>;
  };
}

export interface HealthResponse {
  status: 'ok';
}

export interface ReadinessCheck {
  ok: boolean;
  message?: string;
}

export interface ReadyResponse {
  status: 'ready' | 'not-ready';
  checks: { database: ReadinessCheck; cluster: ReadinessCheck };
}

export type ClusterKind = 'embedded' | 'kubeconfig' | 'in-cluster';

export interface ClusterInfoResponse {
  kind: ClusterKind;
  /** Why this cluster was chosen. */
  reason: string;
  /** The API server's address and the kubeconfig context: for admins only (null for everyone else). */
  server: string | null;
  context: string | null;
  reachable: boolean;
  /** When unreachable: why, in the API's or the network's words. */
  problem: string | null;
  version: string | null;
  nodes: { total: number; ready: number; zones: string[] } | null;
}

export interface InstanceResponse {
  instanceId: string;
  createdAt: string;
  version: string;
}

// ---- Lessons, quizzes and progress -------------------------------------------------------

export type LessonLevel = 'beginner' | 'intermediate' | 'advanced';
export type LessonStatusView = 'not-started' | 'started' | 'completed';

export interface LessonProgressView {
  status: LessonStatusView;
  /** Questions answered right at least once. */
  quizCorrect: number;
  quizTotal: number;
  lastSection: string | null;
  updatedAt: string | null;
}

export interface PrerequisiteView {
  number: number;
  slug: string | null;
  title: string | null;
}

export interface LessonSummary {
  slug: string;
  title: string;
  level: LessonLevel;
  number: number;
  tags: string[];
  estimatedMinutes: number;
  prerequisites: PrerequisiteView[];
  diagrams: number;
  quizQuestions: number;
  hasLab: boolean;
  progress: LessonProgressView;
}

export interface CatalogResponse {
  levels: { level: LessonLevel; lessons: LessonSummary[] }[];
  tags: { tag: string; count: number }[];
}

/** A question as the learner sees it before answering: no answer, no explanation. */
export interface PublicQuestion {
  id: string;
  number: number;
  questionHtml: string;
  options: { letter: string; html: string }[];
}

/** What the learner has done with one question so far. */
export interface QuestionState {
  attempts: number;
  lastChoice: string;
  correct: boolean;
  /** Only once answered right. */
  answer: string | null;
  explanationHtml: string | null;
}

export interface LessonResponse extends LessonSummary {
  html: string;
  toc: { level: number; id: string; text: string }[];
  quiz: PublicQuestion[];
  answers: Record<string, QuestionState>;
  codeBlocks: CodeBlockView[];
}

export interface QuizAnswerRequest {
  choice: string;
  /** Milliseconds the learner spent on the question, measured in the browser. */
  timeMs?: number;
}

export interface QuizAnswerResponse {
  questionId: string;
  state: QuestionState;
  progress: LessonProgressView;
}

export interface ProgressUpdateRequest {
  status: 'started' | 'completed';
  section?: string;
}

export interface ProgressResponse {
  lessons: { slug: string; title: string; level: LessonLevel; progress: LessonProgressView }[];
}

// ---- Sandboxes ----------------------------------------------------------------------------

/** A learner's sandbox as the browser sees it: never a credential. */
export interface SandboxView {
  namespace: string;
  lesson: string;
  size: 'small' | 'medium' | 'large';
  /** The learner's own API group for CRDs. */
  group: string;
  /** The learner's PriorityClass name prefix. */
  priorityClassPrefix: string;
  /** Where its Pods run: "auto" (the real node when it can) or "simulated" (the lab's choice). */
  nodes: 'auto' | 'simulated';
  /** The cluster's node where containers run, or null when every node is simulated. */
  realNode: string | null;
  createdAt: string;
  expiresAt: string;
  state: 'ready' | 'creating' | 'terminating';
}

/** The size comes from the lesson's lab (or a workshop's instructor), never from the request. */
export interface SandboxCreateRequest {
  lesson: string;
}

export interface SandboxExtendRequest {
  minutes: number;
}

export interface SandboxListResponse {
  sandboxes: SandboxView[];
}

// ---- Terminals (socket.io namespace /terminal) ---------------------------------------------

export interface TerminalAttachRequest {
  namespace: string;
  cols: number;
  rows: number;
}

export type TerminalAttachResponse =
  | { ok: true; sessionId: string; backend: 'jail' | 'pod'; /** The screen so far (xterm serialize format). */ screen: string; cols: number; rows: number }
  | { ok: false; error: string; /** Set when the learner opened terminals too fast. */ retryAfterSeconds?: number };

export interface TerminalResize {
  cols: number;
  rows: number;
}

/** The browser has drawn this many more bytes of output (flow control). */
export interface TerminalAck {
  bytes: number;
}

export interface TerminalEnded {
  reason: 'exited' | 'idle' | 'closed' | 'sandbox-deleted' | 'replaced' | 'error';
  message: string;
}

export interface TerminalClientEvents {
  attach: (request: TerminalAttachRequest, reply: (response: TerminalAttachResponse) => void) => void;
  /** Read-only: an instructor watching a participant's terminal. */
  watch: (request: { namespace: string }, reply: (response: TerminalAttachResponse) => void) => void;
  input: (data: string) => void;
  resize: (size: TerminalResize) => void;
  ack: (ack: TerminalAck) => void;
  close: () => void;
  run: (request: TerminalRunRequest, reply: (response: TerminalRunResponse) => void) => void;
}

export interface TerminalServerEvents {
  output: (chunk: Uint8Array) => void;
  ended: (ended: TerminalEnded) => void;
  notice: (message: string) => void;
  'run:progress': (progress: TerminalRunProgress) => void;
  'run:done': (done: TerminalRunDone) => void;
}

export interface RecordingView {
  id: string;
  namespace: string;
  lesson: string;
  startedAt: string;
  endedAt: string | null;
  bytes: number;
}

// ---- Accounts and sessions ------------------------------------------------------------------

export type RoleName = 'learner' | 'instructor' | 'admin';

export interface LearnerView {
  id: string;
  displayName: string | null;
  kind: 'guest' | 'account' | 'participant';
  role: RoleName;
  username: string | null;
  workshopId: string | null;
}

export interface SessionResponse {
  learner: LearnerView | null;
  /** No admin exists yet: the setup link printed at start creates one. */
  setupNeeded: boolean;
  /** Whether anyone may create an account. */
  registration: boolean;
}

export interface LoginRequest {
  username: string;
  password: string;
}

export interface RegisterRequest {
  username: string;
  password: string;
  displayName?: string;
}

export interface SetupRequest extends RegisterRequest {
  token: string;
}

export interface AccountCreateRequest extends RegisterRequest {
  role: RoleName;
}

export interface AccountListResponse {
  accounts: (LearnerView & { createdAt: string })[];
}

// ---- Checks, workshops, admin and LTI 1.3 (their types live beside this file) --------------
export type * from './protocol-checks.ts';
export type * from './protocol-workshops.ts';
export type * from './protocol-admin.ts';
export type * from './protocol-lti.ts';
