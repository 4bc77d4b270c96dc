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

// ---- Labs and checks ------------------------------------------------------------------------

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

// ---- Workshops ------------------------------------------------------------------------------

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

// ---- Operations (admin) ---------------------------------------------------------------------

export type SandboxStateName = SandboxView['state'];

/** GET /api/admin/capacity: how full the platform is. */
export interface CapacityResponse {
  sandboxes: {
    /** Learners' sandboxes in the cluster, in any state: what counts against the capacity. Null when the cluster could not be read. */
    inUse: number | null;
    /** The most the platform makes (--sandbox-capacity). */
    capacity: number;
    byState: Record<SandboxStateName, number> | null;
  };
  /** Ready sandboxes waiting to be claimed, held by this server. */
  warmPool: { total: number; bySize: Record<SandboxSizeName, number> };
  terminals: { open: number };
  workshops: { running: number };
  /** Why the sandbox counts are null, in the API's or the network's words. */
  problem: string | null;
  /** When the sandboxes were listed (the list is kept a few seconds). */
  checkedAt: string;
}

/** GET /api/admin/sandboxes: every learner's sandbox, for the platform's admins. */
export interface AdminSandboxListResponse {
  sandboxes: (SandboxView & { learnerName: string; workshop: string | null; lastActivity: string; terminalOpen: boolean })[];
}

/** POST /api/admin/reap: the sandboxes removed (expired, idle, left over from a failed create). */
export interface ReapResponse {
  reaped: { namespace: string; reason: string }[];
}

// ---- LTI 1.3 (types of the LMS integration live beside this file) -------------------------
export type * from './protocol-lti.ts';
