/**
 * The wire of the admins' endpoints under /api/admin (re-exported by protocol.ts for the client,
 * as types).
 */

import type { SandboxView } from './sandboxes/views.ts';
import type { SandboxSize, SandboxState } from './vocabulary.ts';

/** GET /api/admin/capacity: how full the platform is. */
export interface CapacityResponse {
  sandboxes: {
    /** Learners' sandboxes in the cluster, in any state: what counts against the capacity. Null when the cluster could not be read. */
    inUse: number | null;
    /** The most the platform makes (--sandbox-capacity). */
    capacity: number;
    byState: Record<SandboxState, number> | null;
  };
  /** Ready sandboxes waiting to be claimed, held by this server. */
  warmPool: { total: number; bySize: Record<SandboxSize, number> };
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
