import { hash, verify } from '@node-rs/argon2';

/**
 * Passwords are stored as argon2id hashes with OWASP's recommended parameters (19 MiB, 2
 * iterations, 1 lane), by @node-rs/argon2.
 */
/** `algorithm: 2` is Argon2id (the package's const enum cannot be imported under verbatimModuleSyntax). */
const OPTIONS = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

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
