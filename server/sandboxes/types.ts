import type { KubernetesObject } from '@kubernetes/client-node';
import type { SandboxNodes, SandboxSize, SandboxState } from '../vocabulary.ts';

/** What the sandbox rooms share: settings, a sandbox as its namespace's labels say, and what a caller gets. */

export interface SandboxSettings {
  ttlMinutes: number;
  idleMinutes: number;
  maxPerLearner: number;
  capacity: number;
  warmPool: number;
  warmPoolSize: SandboxSize;
  /** Where learner kubeconfigs are written: <dataDir>/sandboxes/<namespace>/kubeconfig. */
  dataDir: string;
  reapIntervalSeconds: number;
  /** A namespace that never became ready this long after creation is a failed create's leftover. */
  leftoverAfterSeconds?: number;
  /** The admission policies' parameters (DEFAULT_FENCES when unset). */
  domain?: string;
  learnerPriorityMax?: number;
  /** LoadBalancer Services per sandbox, whatever its size (0 when unset: they can cost money). */
  loadBalancers?: number;
  /** Install the learner roles and admission policies (default), or only verify an operator did (policies.ts). */
  policies?: 'install' | 'verify';
}

export interface LabSetup {
  size: SandboxSize;
  /** Where its Pods run when the cluster has a real node (see SANDBOX_NODES). */
  nodes: SandboxNodes;
  /** Objects applied into a new or reset sandbox, with ${namespace}, ${group}, ${priorityClassPrefix} unfilled. */
  setup: KubernetesObject[];
  /** Starter files for the learner's home (placeholders unfilled). */
  files: { path: string; content: string }[];
}

export interface Sandbox {
  namespace: string;
  learnerKey: string;
  learnerName: string;
  lesson: string;
  workshop: string | null;
  size: SandboxSize;
  /** Where its Pods run when the cluster has a real node (the lab's choice). */
  nodes: SandboxNodes;
  group: string;
  priorityClassPrefix: string;
  createdAt: string;
  expiresAt: string;
  lastActivity: string;
  state: SandboxState;
  /** Of the namespace object, as last read. */
  resourceVersion: string;
}

export interface SandboxAccess {
  sandbox: Sandbox;
  /** Path of the learner's kubeconfig (mode 0600). */
  kubeconfig: string;
  tokenExpiresAt: string;
  /** Whether this call made it (false: it existed, or came from the warm pool). */
  created: boolean;
  fromPool: boolean;
}

export interface CreateRequest {
  learnerId: string;
  learnerName?: string | undefined;
  lesson: string;
  size?: SandboxSize | undefined;
  workshop?: string | undefined;
}

export type SandboxEvent = { type: 'created' | 'deleted' | 'reset' | 'extended'; namespace: string; reason?: string };

/** Who a sandbox is for, as its labels and annotations record it (everything but its name, size and expiry). */
export interface SandboxOwner {
  nodes: SandboxNodes;
  learnerKey: string;
  learnerName: string;
  lesson: string;
  lessonKey: string;
  workshop: string;
}

/** Everything a new sandbox's objects are rendered from. */
export interface BuildSpec extends SandboxOwner {
  namespace: string;
  size: SandboxSize;
  expiresAt: string;
  /** A warm-pool sandbox: labelled available, no learner token yet. */
  pool?: boolean;
}
