import { createHash } from 'node:crypto';
import { DNS_LABEL } from '../fields.ts';

/**
 * Turns anything people type (capitals, accents, CJK, emoji, spaces, 200 characters) into
 * DNS-1123 names and label values. A hash of the original keeps them collision-free: two
 * names that slugify alike still differ in their suffix.
 */

export const GROUP_SUFFIX = 'labs.kubedojo.dev';

function hash(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/** Lowercase ASCII letters, digits and single dashes; accents folded; may be empty. */
export function slugify(text: string, max: number): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, max)
    .replace(/^-+|-+$/g, '');
}

/** A label value (≤ 63, alphanumeric at both ends) that identifies a learner. */
export function learnerKey(learnerId: string): string {
  return `${slugify(learnerId, 40) || 'learner'}-${hash(`learner\0${learnerId}`, 10)}`;
}

/** A label value for a lesson slug. */
export function lessonKey(lesson: string): string {
  const slug = slugify(lesson, 63);
  return slug === lesson ? slug : `${slugify(lesson, 50) || 'lesson'}-${hash(`lesson\0${lesson}`, 10)}`;
}

/** The namespace of a learner's sandbox for a lesson: readable (from the learner's display
 * name when there is one), ≤ 63, and unique per (learner id, lesson) through the hash. */
export function sandboxNamespace(learnerId: string, lesson: string, displayName = learnerId): string {
  const who = slugify(displayName, 20) || 'learner';
  const what = slugify(lesson, 16) || 'lesson';
  return `kd-${who}-${what}-${hash(`${learnerId}\0${lesson}`, 10)}`.replace(/-+/g, '-');
}

/** Warm-pool namespaces are made before anyone claims them. */
export function poolNamespace(random: string): string {
  return `kd-pool-${slugify(random, 12)}`;
}

export function groupOf(namespace: string): string {
  return `${namespace}.${GROUP_SUFFIX}`;
}

export function priorityClassPrefixOf(namespace: string): string {
  return `${namespace}-`;
}

export function isDnsLabel(name: string): boolean {
  return DNS_LABEL.test(name);
}
