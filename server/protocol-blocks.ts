/**
 * Wire types of what the lesson page does with a code block: run a shell block in the terminal
 * command by command, apply a manifest into the sandbox (with a dry-run preview first), save it
 * into the learner's home. Types only, shared with the client like protocol.ts.
 */

/** A code block of a lesson page (`data-index` in its HTML) and what the page may offer on it. */
export interface CodeBlockView {
  index: number;
  lang: string;
  /** One or more complete Kubernetes manifests: Apply and Save to my home. */
  apply: boolean;
  /** A shell block with kubectl commands. */
  run: boolean;
  /** It runs as written in a fresh sandbox of the lesson's lab: "Run in my terminal". */
  runnable: boolean;
  /** Why a `run` block is not offered, in one sentence (`lessons check` lists every reason). */
  notRunnable: string | null;
  /** It needs containers that really run (logs, exec): offered only where the cluster has a real node. */
  needsRealNode: boolean;
  /** A manifest's objects, "Deployment web", for button names and the preview. */
  objects: string[];
  /** The file name Save to my home proposes. */
  saveAs: string | null;
}

/** POST /api/sandboxes/:namespace/apply: a manifest block of the sandbox's lesson, as the learner. */
export interface ApplyBlockRequest {
  block: number;
  /** true: only the server-side dry run, to show what would change. */
  dryRun: boolean;
}

export interface AppliedObject {
  kind: string;
  name: string;
  /** Its namespace in the sandbox, or null for a cluster-scoped object. */
  namespace: string | null;
  /** What the apply does (or, on a dry run, would do) to it; `refused` carries the API's reason. */
  action: 'create' | 'update' | 'unchanged' | 'refused';
  /** For `update`: a unified diff of the object as it is and as it would be (YAML, status left out). */
  diff: string | null;
  message: string | null;
}

export interface ApplyBlockResponse {
  dryRun: boolean;
  objects: AppliedObject[];
  /** Things the learner should know: a namespace in the manifest replaced by theirs. */
  notes: string[];
}

/** POST /api/sandboxes/:namespace/files: a block's text into the learner's home. */
export interface SaveBlockRequest {
  block: number;
  /** Relative to the home: letters, digits, `.`, `_`, `-` and `/`. */
  path: string;
  /** Replace a file that exists (otherwise 409). */
  overwrite?: boolean;
}

export interface SaveBlockResponse {
  /** Where it is, as the shell shows it (`~/web.yaml`). */
  path: string;
  /** What the learner can type next. */
  command: string;
}

// ---- the terminal's command runner (socket.io /terminal) ------------------------------------

/** `run`: type text into the shell a command at a time, each once the prompt is back. */
export interface TerminalRunRequest {
  text: string;
  /** `paste`: pasted by the learner; typed as it is when the shell is not at its prompt (an editor). */
  source: 'block' | 'paste';
}

export type TerminalRunResponse =
  | { ok: true; runId: string; commands: string[]; /** Typed as it is (the shell was busy with a program). */ typed: boolean }
  | { ok: false; error: string };

/** `run:progress`: a command finished with this exit status. */
export interface TerminalRunProgress {
  runId: string;
  index: number;
  exitCode: number;
}

/** `run:done`: every command ran, or the run stopped (`stopped` says why: the learner typed). */
export interface TerminalRunDone {
  runId: string;
  exitCodes: number[];
  stopped: string | null;
}
