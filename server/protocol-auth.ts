/**
 * The wire of accounts and sessions: sign-in, sign-up, the first admin, the admins' account list
 * (re-exported by protocol.ts for the client, as types).
 */

import { z } from 'zod';
import { passwordSchema, usernameSchema } from './fields.ts';
import { ROLES, type LearnerKind, type Role } from './vocabulary.ts';

export interface LearnerView {
  id: string;
  displayName: string | null;
  kind: LearnerKind;
  role: Role;
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

export interface AccountListResponse {
  accounts: (LearnerView & { createdAt: string })[];
}

const displayName = z.string({ error: 'must be a string' }).trim().min(1, 'must not be empty').max(80, 'must be at most 80 characters');
const role = z.enum(ROLES, { error: 'must be learner, instructor or admin' });

/** POST /api/auth/login */
export const loginRequestSchema = z.strictObject({ username: usernameSchema, password: z.string({ error: 'must be a string' }).min(1, 'must not be empty').max(256) });
export type LoginRequest = z.infer<typeof loginRequestSchema>;

/** POST /api/auth/register */
export const registerRequestSchema = z.strictObject({ username: usernameSchema, password: passwordSchema, displayName: displayName.optional() });
export type RegisterRequest = z.infer<typeof registerRequestSchema>;

/** POST /api/auth/setup: the first admin, with the token of the setup link printed at start. */
export const setupRequestSchema = z.strictObject({ token: z.string().min(1, 'must not be empty').max(200), username: usernameSchema, password: passwordSchema, displayName: displayName.optional() });
export type SetupRequest = z.infer<typeof setupRequestSchema>;

/** POST /api/admin/accounts */
export const accountCreateRequestSchema = z.strictObject({ username: usernameSchema, password: passwordSchema, displayName: displayName.optional(), role });
export type AccountCreateRequest = z.infer<typeof accountCreateRequestSchema>;

/** PUT /api/admin/accounts/:id/role */
export const roleUpdateRequestSchema = z.strictObject({ role });
export type RoleUpdateRequest = z.infer<typeof roleUpdateRequestSchema>;
