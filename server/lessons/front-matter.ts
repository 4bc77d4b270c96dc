import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { shown } from './text.ts';
import { LESSON_LEVELS, type LessonLevel } from '../vocabulary.ts';
import { formatPath, lineOfPath } from './yaml-lines.ts';

/**
 * The YAML front matter of a lesson (see shared/LESSON-FORMAT.md). Every problem names the key
 * and the line in the .md file; unknown keys are kept and ignored.
 */

const expected = {
  number: 'an integer',
  title: 'a non-empty string',
  slug: 'a url-safe string of lowercase letters, digits and single hyphens, like "pod-disruption-budgets"',
  level: `one of ${LESSON_LEVELS.join(', ')}`,
  tags: 'a list of strings',
  prerequisites: 'a list of lesson numbers (integers)',
  estimated_minutes: 'an integer',
  contributors: 'a list (it may be empty) of names or mappings',
  canonical_id: 'a non-empty string, like "devops-advanced-01"',
} as const;

type Key = keyof typeof expected;
const must = (key: Key) => ({ error: `must be ${expected[key]}` });

const frontMatterSchema = z.looseObject({
  number: z.int(must('number')).min(0, 'must not be negative'),
  title: z.string(must('title')).trim().min(1, must('title')),
  slug: z.string(must('slug')).regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, must('slug')),
  level: z.enum(LESSON_LEVELS, must('level')),
  tags: z.array(z.string({ error: 'must be a string' }), must('tags')),
  prerequisites: z.array(z.int({ error: 'must be a lesson number (an integer)' }), must('prerequisites')),
  estimated_minutes: z.int(must('estimated_minutes')).positive('must be greater than 0'),
  contributors: z.array(z.union([z.string(), z.record(z.string(), z.unknown())], { error: 'must be a name or a mapping' }), must('contributors')),
  canonical_id: z.string(must('canonical_id')).trim().min(1, must('canonical_id')),
});

export interface FrontMatter {
  number: number;
  title: string;
  slug: string;
  level: LessonLevel;
  tags: string[];
  prerequisites: number[];
  estimatedMinutes: number;
  contributors: (string | Record<string, unknown>)[];
  canonicalId: string;
  /** Keys this platform does not use, kept as written. */
  extra: Record<string, unknown>;
}

export interface LineMessage {
  line: number;
  message: string;
}

export interface FrontMatterResult {
  data: FrontMatter | null;
  errors: LineMessage[];
  /** Line in the .md file of each top-level key, and of each prerequisite item. */
  keyLines: Record<string, number>;
  prerequisiteLines: number[];
  /** The rest of the file, with the front matter replaced by as many empty lines, so body line numbers are file line numbers. */
  body: string;
}

const closing = /^(?:---|\.\.\.)[ \t]*$/;

export function parseFrontMatter(text: string): FrontMatterResult {
  const result: FrontMatterResult = { data: null, errors: [], keyLines: {}, prerequisiteLines: [], body: text };
  const opening = /^---[ \t]*\n/.exec(text);
  if (!opening) {
    result.errors.push({
      line: 1,
      message: 'front matter: missing; a lesson starts with a "---" line, then YAML keys (number, title, slug, level, tags, prerequisites, estimated_minutes, contributors, canonical_id), then a closing "---" line',
    });
    return result;
  }
  // Line by line rather than one regex, so an unclosed block in a huge file stays linear.
  let pos = opening[0].length;
  let line = 2;
  let end = -1;
  for (;;) {
    const nl = text.indexOf('\n', pos);
    const stop = nl === -1 ? text.length : nl;
    if (closing.test(text.slice(pos, stop))) {
      end = stop;
      break;
    }
    if (nl === -1) break;
    pos = nl + 1;
    line += 1;
  }
  if (end === -1) {
    result.errors.push({ line: 1, message: 'front matter: no closing "---" line after the opening "---"' });
    return result;
  }
  const closingLine = line;
  const yamlText = text.slice(opening[0].length, pos);
  result.body = '\n'.repeat(closingLine) + text.slice(end + 1);

  // The YAML starts on line 2 of the file.
  const toFileLine = (yamlLine: number) => Math.min(Math.max(yamlLine + 1, 2), Math.max(closingLine - 1, 1));
  const counter = new LineCounter();
  const doc = parseDocument(yamlText, { lineCounter: counter, prettyErrors: false });
  const yamlError = doc.errors[0];
  if (yamlError) {
    result.errors.push({ line: toFileLine(counter.linePos(yamlError.pos[0]).line), message: `front matter: invalid YAML: ${yamlError.message}` });
    return result;
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    result.errors.push({ line: 1, message: `front matter: invalid YAML: ${error instanceof Error ? error.message : String(error)}` });
    return result;
  }
  raw ??= {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    result.errors.push({ line: 2, message: `front matter: must be YAML keys and values (a mapping), got ${Array.isArray(raw) ? 'a list' : shown(raw)}` });
    return result;
  }
  const values = raw as Record<string, unknown>;
  for (const key of Object.keys(values)) result.keyLines[key] = toFileLine(lineOfPath(doc, counter, [key], 1));
  if (Array.isArray(values.prerequisites)) {
    result.prerequisiteLines = values.prerequisites.map((_, i) => toFileLine(lineOfPath(doc, counter, ['prerequisites', i], 1)));
  }

  const parsed = frontMatterSchema.safeParse(values);
  if (!parsed.success) {
    const seen = new Set<string>();
    for (const issue of parsed.error.issues) {
      const name = formatPath(issue.path);
      if (seen.has(name)) continue;
      seen.add(name);
      const value = valueAt(values, issue.path);
      const key = String(issue.path[0]);
      if (issue.path.length === 1 && value === undefined) {
        result.errors.push({ line: 1, message: `front matter: "${key}" is missing; it must be ${expected[key as Key]}` });
      } else {
        result.errors.push({ line: toFileLine(lineOfPath(doc, counter, issue.path, 1)), message: `front matter: "${name}" ${issue.message}, got ${shown(value)}` });
      }
    }
    return result;
  }
  const { number, title, slug, level, tags, prerequisites, estimated_minutes, contributors, canonical_id, ...extra } = parsed.data;
  result.data = { number, title, slug, level, tags, prerequisites, estimatedMinutes: estimated_minutes, contributors, canonicalId: canonical_id, extra };
  return result;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const part of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return value;
}
