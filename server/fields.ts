import { z } from 'zod';

/** The shapes of names that arrive from outside (HTTP, socket.io, CLI flags), defined once. */

/** A Kubernetes DNS label: namespace names, exercise ids. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const LESSON_SLUG = /^[a-z0-9][a-z0-9-]{0,120}$/;

export const namespaceName = (message = 'must be a namespace name') => z.string().regex(DNS_LABEL, message);
export const lessonSlug = (message = 'must be a lesson slug') => z.string().regex(LESSON_SLUG, message);

/** An account's password as chosen (sign-up, setup, `kubedojo admin create`); argon2id hashes it (auth/passwords.ts). */
export const passwordSchema = z
  .string({ error: 'must be a string' })
  .min(10, 'must be at least 10 characters')
  .max(256, 'must be at most 256 characters');

export const usernameSchema = z
  .string({ error: 'must be a string' })
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9][a-z0-9._-]{1,62}$/, 'must be 2-63 characters: letters, digits, ".", "_" or "-", starting with a letter or digit');
