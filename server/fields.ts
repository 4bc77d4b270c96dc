import { z } from 'zod';

/** The shapes of names that arrive from outside (HTTP, socket.io, CLI flags), defined once. */

/** A Kubernetes DNS label: namespace names, exercise ids. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const LESSON_SLUG = /^[a-z0-9][a-z0-9-]{0,120}$/;

export const namespaceName = (message = 'must be a namespace name') => z.string().regex(DNS_LABEL, message);
export const lessonSlug = (message = 'must be a lesson slug') => z.string().regex(LESSON_SLUG, message);
