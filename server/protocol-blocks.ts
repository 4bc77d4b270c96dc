/**
 * The wire of what the lesson page does with a manifest block: apply it into the sandbox (with a
 * dry-run preview first), save it into the learner's home (re-exported by protocol.ts for the
 * client, as types). The results are the block service's own (sandboxes/views.ts); running a
 * shell block goes over the terminal's socket (protocol-terminal.ts).
 */

import { z } from 'zod';

export type { AppliedObject, ApplyBlockResponse, SaveBlockResponse } from './sandboxes/views.ts';

const block = z.number({ error: 'must be the number of a code block' }).int('must be a whole number').min(0, 'must be 0 or more').max(10_000, 'must be at most 10000');

/** POST /api/sandboxes/:namespace/apply: a manifest block of the sandbox's lesson, as the learner. */
export const applyBlockRequestSchema = z.strictObject({
  block,
  /** true: only the server-side dry run, to show what would change. */
  dryRun: z.boolean({ error: 'must be true (only show what would change) or false (apply)' }),
});
export type ApplyBlockRequest = z.infer<typeof applyBlockRequestSchema>;

/** A file name in the home: no absolute paths, no `..`, no hidden files (a .bashrc is not a manifest). */
const homePath = z
  .string({ error: 'must be a file name' })
  .max(200, 'must be at most 200 characters')
  .regex(/^(?:[A-Za-z0-9_][A-Za-z0-9._-]*\/)*[A-Za-z0-9_][A-Za-z0-9._-]*$/, 'must be a file name of letters, digits, ".", "_" and "-" (folders with "/"), not starting with "." or "-"');

/** POST /api/sandboxes/:namespace/files: a block's text into the learner's home. */
export const saveBlockRequestSchema = z.strictObject({
  block,
  /** Relative to the home. */
  path: homePath,
  /** Replace a file that exists (otherwise 409). */
  overwrite: z.boolean({ error: 'must be true or false' }).optional(),
});
export type SaveBlockRequest = z.infer<typeof saveBlockRequestSchema>;
