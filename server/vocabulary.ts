/**
 * The platform's closed vocabularies, each said once: one `as const` list per word set, the union
 * type derived from it. Domain code, zod schemas (`z.enum(LIST)`) and the wire types all read
 * these. A leaf without imports, so the browser app's type check can read it too.
 */

/** What an account may do (learners and participants are always `learner`). */
export const ROLES = ['learner', 'instructor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** How a learner came to be: a visitor's session, a signed-up account, a workshop participant. */
export const LEARNER_KINDS = ['guest', 'account', 'participant'] as const;
export type LearnerKind = (typeof LEARNER_KINDS)[number];

/** A sandbox's quota and limits (sandboxes/templates/sizes.yaml), chosen by the lab or the workshop. */
export const SANDBOX_SIZES = ['small', 'medium', 'large'] as const;
export type SandboxSize = (typeof SANDBOX_SIZES)[number];

/**
 * Where a sandbox's Pods run when the cluster has a real node: "auto" on the real node when it can
 * run them (else on simulated nodes), "simulated" always on the simulated nodes (labs about
 * scheduling many Pods over zones and GPUs, or simulated load for autoscalers).
 */
export const SANDBOX_NODES = ['auto', 'simulated'] as const;
export type SandboxNodes = (typeof SANDBOX_NODES)[number];

export const SANDBOX_STATES = ['ready', 'creating', 'terminating'] as const;
export type SandboxState = (typeof SANDBOX_STATES)[number];

/** The kinds of check a lab may declare (their schemas: server/checks/schema.ts). */
export const CHECK_KINDS = ['resource', 'crd', 'operator', 'scheduling', 'autoscaler', 'resources', 'networkpolicy', 'rollout', 'cel'] as const;
export type CheckKind = (typeof CHECK_KINDS)[number];

/** A check's verdict: `error` when it could not be carried out (not the learner's fault). */
export const CHECK_STATUSES = ['passed', 'failed', 'error'] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];

/** In catalog order. */
export const LESSON_LEVELS = ['beginner', 'intermediate', 'advanced'] as const;
export type LessonLevel = (typeof LESSON_LEVELS)[number];

/** The cluster kubedojo runs sandboxes on (`--cluster auto` picks one of these). */
export const CLUSTER_KINDS = ['embedded', 'kubeconfig', 'in-cluster'] as const;
export type ClusterKind = (typeof CLUSTER_KINDS)[number];

export const WORKSHOP_STATES = ['scheduled', 'running', 'ended'] as const;
export type WorkshopState = (typeof WORKSHOP_STATES)[number];
