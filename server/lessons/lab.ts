import fs from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { labSchema, plainIssues, type Lab } from './lab-schema.ts';
import { PLACEHOLDERS, stringsIn, unknownPlaceholders } from './placeholders.ts';
import { decodeText, shown } from './text.ts';
import type { Problem } from './types.ts';
import { formatPath, lineOfPath, type FieldPath } from './yaml-lines.ts';

/** Reads and checks a lab file. Every problem names the lab file, the field and its line. */

export const LAB_SUFFIX = '.lab.yaml';

export interface LabResult {
  lab: Lab | null;
  errors: Problem[];
}

type Kind = 'file' | 'folder' | 'any';

async function exists(file: string, kind: Kind): Promise<'ok' | 'missing' | 'wrong-kind'> {
  try {
    const stat = await fs.stat(file);
    if (kind === 'folder' && !stat.isDirectory()) return 'wrong-kind';
    if (kind === 'file' && !stat.isFile()) return 'wrong-kind';
    return 'ok';
  } catch {
    return 'missing';
  }
}

/**
 * `absFile` is the lab file, `file` its name relative to the library (for messages), `anchors`
 * the heading ids of its lesson (an exercise's `section` must be one of them).
 */
export async function loadLab(absFile: string, file: string, anchors: readonly string[]): Promise<LabResult> {
  const errors: Problem[] = [];
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(absFile);
  } catch (error) {
    return { lab: null, errors: [{ file, line: 1, message: `lab: could not read the file: ${error instanceof Error ? error.message : String(error)}` }] };
  }
  const decoded = decodeText(bytes);
  if (!decoded.ok) return { lab: null, errors: [{ file, line: decoded.line, message: `lab: ${decoded.message}` }] };

  const counter = new LineCounter();
  const doc = parseDocument(decoded.text, { lineCounter: counter, prettyErrors: false });
  const yamlError = doc.errors[0];
  if (yamlError) return { lab: null, errors: [{ file, line: counter.linePos(yamlError.pos[0]).line, message: `lab: invalid YAML: ${yamlError.message}` }] };
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    return { lab: null, errors: [{ file, line: 1, message: `lab: invalid YAML: ${error instanceof Error ? error.message : String(error)}` }] };
  }

  const at = (fieldPath: FieldPath, message: string): Problem => ({
    file,
    line: lineOfPath(doc, counter, fieldPath, 1),
    message: fieldPath.length === 0 ? `lab: ${message}` : `lab: ${formatPath(fieldPath)}: ${message}`,
  });

  const known = PLACEHOLDERS.map((p) => `\${${p}}`).join(', ');
  for (const { path: fieldPath, text } of stringsIn(raw)) {
    for (const name of unknownPlaceholders(text)) {
      errors.push(at(fieldPath, `unknown placeholder "\${${name}}"; known placeholders: ${known} (write "$\${" for a literal "\${")`));
    }
  }

  const parsed = labSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    for (const issue of plainIssues(parsed.error.issues)) {
      const value = valueAt(raw, issue.path);
      // "must be …" messages read better with what was found; "needs …" and unknown fields do not.
      errors.push(at(issue.path, issue.message.startsWith('must') && value !== undefined ? `${issue.message}, got ${shown(value)}` : issue.message));
    }
    return { lab: null, errors: sortProblems(errors) };
  }
  const lab = parsed.data;

  const labDir = path.dirname(absFile);
  const folderOf = path.relative(path.dirname(path.dirname(absFile)), labDir) || '.';
  const referenced: { fieldPath: FieldPath; target: string; kind: Kind }[] = [];
  lab.setup.forEach((item, i) => {
    if ('file' in item && typeof item.file === 'string') referenced.push({ fieldPath: ['setup', i, 'file'], target: item.file, kind: 'file' });
  });
  lab.files.forEach((item, i) => {
    if (item.from !== undefined) referenced.push({ fieldPath: ['files', i, 'from'], target: item.from, kind: 'file' });
  });
  lab.exercises.forEach((ex, i) => {
    referenced.push({ fieldPath: ['exercises', i, 'solution'], target: ex.solution, kind: 'folder' });
    ex.wrong.forEach((w, j) => referenced.push({ fieldPath: ['exercises', i, 'wrong', j, 'path'], target: w.path, kind: 'any' }));
    if (ex.section !== undefined && !anchors.includes(ex.section)) {
      errors.push(at(['exercises', i, 'section'], `no heading with id "${ex.section}" in the lesson`));
    }
  });
  const checks = await Promise.all(referenced.map(async (ref) => ({ ref, state: await exists(path.join(labDir, ref.target), ref.kind) })));
  for (const { ref, state } of checks) {
    const noun = ref.kind === 'folder' ? 'folder' : ref.kind === 'file' ? 'file' : 'file or folder';
    if (state === 'missing') errors.push(at(ref.fieldPath, `${noun} "${ref.target}" does not exist in ${folderOf}/ beside the lab file`));
    else if (state === 'wrong-kind') errors.push(at(ref.fieldPath, `"${ref.target}" is not a ${noun}`));
  }
  return errors.length > 0 ? { lab: null, errors: sortProblems(errors) } : { lab, errors: [] };
}

function valueAt(root: unknown, fieldPath: FieldPath): unknown {
  let value = root;
  for (const part of fieldPath) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return value;
}

export function sortProblems(problems: Problem[]): Problem[] {
  return problems.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
}
