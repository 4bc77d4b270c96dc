/**
 * Wire types of the admins' endpoints under /api/admin (types only; re-exported by protocol.ts
 * for the client).
 */

import type { SandboxView } from './protocol.ts';
import type { SandboxSizeName } from './protocol-workshops.ts';

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
