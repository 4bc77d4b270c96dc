import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';

/** Small libraries written to a temporary folder, for the bad cases that need no fixture file. */

export const fixtureLibrary = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/lessons/library');
export const curriculum = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../lessons');

/** Writes `files` (paths relative to the library) and removes the folder when the test ends. */
export async function tempLibrary(files: Record<string, string | Uint8Array>): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-lessons-test-'));
  onTestFinished(() => fs.rm(dir, { recursive: true, force: true }));
  for (const [file, content] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await fs.writeFile(path.join(dir, file), content);
  }
  return dir;
}

const defaults: Record<string, string> = {
  number: '1',
  title: '"A lesson"',
  slug: '"a-lesson"',
  level: '"beginner"',
  tags: '["kubernetes"]',
  prerequisites: '[]',
  estimated_minutes: '30',
  contributors: '[]',
  canonical_id: '"test-beginner-01"',
};

export const QUIZ = `## Quiz

### Question 1
Which one?

**A)** This one  
**B)** That one

**Answer: A** - Because this one is right.
`;

/**
 * A lesson file. Front matter keys are written in the order of `defaults`, one per line, so
 * `number` is on line 2 and `canonical_id` on line 10; `null` leaves a key out.
 */
export function lessonText(front: Record<string, string | null> = {}, body = `# A lesson\n\n## Overview\n\nText.\n\n${QUIZ}`): string {
  const lines = ['---'];
  for (const [key, value] of Object.entries({ ...defaults, ...front })) if (value !== null) lines.push(`${key}: ${value}`);
  lines.push('---', '', body);
  return lines.join('\n');
}
