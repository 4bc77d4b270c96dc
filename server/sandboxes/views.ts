/**
 * A sandbox and a manifest block's apply or save, as the browser sees them (never a credential).
 * Plain data of the domain; server/protocol.ts and protocol-blocks.ts send them as they are. A
 * leaf the browser app's type check reads too: no imports beyond the vocabulary.
 */

import type { SandboxNodes, SandboxSize, SandboxState } from '../vocabulary.ts';

/** A learner's sandbox as the browser sees it: never a credential. */
export interface SandboxView {
  namespace: string;
  lesson: string;
  size: SandboxSize;
  /** The learner's own API group for CRDs. */
  group: string;
  /** The learner's PriorityClass name prefix. */
  priorityClassPrefix: string;
  /** Where its Pods run: "auto" (the real node when it can) or "simulated" (the lab's choice). */
  nodes: SandboxNodes;
  /** The cluster's node where containers run, or null when every node is simulated. */
  realNode: string | null;
  createdAt: string;
  expiresAt: string;
  state: SandboxState;
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

export interface SaveBlockResponse {
  /** Where it is, as the shell shows it (`~/web.yaml`). */
  path: string;
  /** What the learner can type next. */
  command: string;
}
