import { hash, verify } from '@node-rs/argon2';
import { z } from 'zod';

/**
 * Passwords are stored as argon2id hashes with OWASP's recommended parameters (19 MiB, 2
 * iterations, 1 lane), by @node-rs/argon2.
 */
/** `algorithm: 2` is Argon2id (the package's const enum cannot be imported under verbatimModuleSyntax). */
const OPTIONS = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const passwordSchema = z
  .string({ error: 'must be a string' })
  .min(10, 'must be at least 10 characters')
  .max(256, 'must be at most 256 characters');

export const usernameSchema = z
  .string({ error: 'must be a string' })
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9][a-z0-9._-]{1,62}$/, 'must be 2-63 characters: letters, digits, ".", "_" or "-", starting with a letter or digit');

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

/** Constant work for unknown users too, so timing does not tell which usernames exist. */
let dummy: Promise<string> | undefined;

export async function verifyPassword(stored: string | undefined, password: string): Promise<boolean> {
  try {
    return await verify(stored ?? (await (dummy ??= hash('kubedojo-no-such-user', OPTIONS))), password);
  } catch {
    return false;
  }
}
