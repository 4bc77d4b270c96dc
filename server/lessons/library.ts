import fs from 'node:fs/promises';
import path from 'node:path';
import type { CompileResult, CompileTask } from './compile.ts';
import { parseFrontMatter, type FrontMatter, type FrontMatterResult, type LineMessage } from './front-matter.ts';
import { blockContext, judgeBlocks } from './blocks.ts';
import { LAB_SUFFIX, loadLab, sortProblems } from './lab.ts';
import { lessonKey } from './links.ts';
import { compileAll, defaultThreads, prestartCompilePool } from './pool.ts';
import { resolvePrerequisites } from './prerequisites.ts';
import { decodeText } from './text.ts';
import type { Lesson, Library, Problem } from './types.ts';
import { LESSON_LEVELS } from '../vocabulary.ts';

/**
 * Loads a lesson library: one folder per level (`01_beginner`, `02_intermediate`, any `NN_name`),
 * one markdown file per lesson, an optional `<name>.lab.yaml` beside it. Problems are collected,
 * never thrown: a lesson with front matter errors or a duplicate slug is left out and reported,
 * the rest load.
 */

export const LEVEL_FOLDER = /^\d+_[^/\\]+$/;
/**
 * 16 times the longest real lesson (~120 KB). Bigger files are refused before reading: a 5 MB
 * lesson would load in about a second but render 12 MB of HTML that no learner page needs.
 */
export const MAX_LESSON_BYTES = 2 * 1024 * 1024;

export interface LoadOptions {
  /** Worker threads besides the calling one; default: one per spare core once the library is big enough. */
  threads?: number;
}

interface Source {
  file: string;
  absPath: string;
  front: FrontMatterResult | null;
}

const byName = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

async function readLevelFolders(dir: string): Promise<{ lessons: string[]; labs: string[] }> {
  const lessons: string[] = [];
  const labs: string[] = [];
  const levels = (await fs.readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory() && LEVEL_FOLDER.test(e.name)).map((e) => e.name).sort(byName);
  for (const level of levels) {
    const entries = (await fs.readdir(path.join(dir, level), { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name).sort(byName);
    for (const name of entries) {
      if (name.endsWith('.md')) lessons.push(path.join(level, name));
      else if (name.endsWith(LAB_SUFFIX)) labs.push(path.join(level, name));
    }
  }
  return { lessons, labs };
}

export async function loadLibrary(dir: string, options: LoadOptions = {}): Promise<Library> {
  const root = path.resolve(dir);
  const { lessons, labs } = await readLevelFolders(root);
  return loadFiles(root, lessons, labs, options);
}

/**
 * Loads the given lesson files (relative to `root`) as a library. `loadLibrary` lists them from
 * the level folders; `lessons render` uses this directly for a lesson outside any library.
 */
export async function loadFiles(root: string, files: readonly string[], labFiles: readonly string[], options: LoadOptions = {}): Promise<Library> {
  const threads = options.threads ?? defaultThreads(files.length);
  prestartCompilePool(threads);
  const errors: Problem[] = [];
  const report = (file: string, problems: readonly LineMessage[]) => {
    for (const p of problems) errors.push({ file, line: p.line, message: p.message });
  };

  const sources: Source[] = await Promise.all(
    files.map(async (file): Promise<Source> => {
      const absPath = path.join(root, file);
      let stat: Awaited<ReturnType<typeof fs.stat>>;
      let bytes: Uint8Array;
      try {
        stat = await fs.stat(absPath);
        bytes = stat.size > MAX_LESSON_BYTES ? new Uint8Array() : await fs.readFile(absPath);
      } catch (error) {
        // Deleted or unreadable between listing and reading (an editor saving, a permission).
        report(file, [{ line: 1, message: `could not read the file: ${error instanceof Error ? error.message : String(error)}` }]);
        return { file, absPath, front: null };
      }
      if (stat.size > MAX_LESSON_BYTES) {
        report(file, [{ line: 1, message: `the file is ${(stat.size / 1024 / 1024).toFixed(1)} MB; a lesson may be at most ${MAX_LESSON_BYTES / 1024 / 1024} MB, so it was not loaded` }]);
        return { file, absPath, front: null };
      }
      const decoded = decodeText(bytes);
      if (!decoded.ok) {
        report(file, [{ line: decoded.line, message: decoded.message }]);
        return { file, absPath, front: null };
      }
      const front = parseFrontMatter(decoded.text);
      report(file, front.errors);
      return { file, absPath, front };
    }),
  );

  // First file (in folder and name order) wins a slug or canonical id; later ones are reported and left out.
  const accepted: { source: Source; data: FrontMatter }[] = [];
  const slugOwner = new Map<string, string>();
  const idOwner = new Map<string, string>();
  for (const source of sources) {
    const data = source.front?.data;
    if (!source.front || !data) continue;
    const lines = source.front.keyLines;
    let duplicate = false;
    const slugFile = slugOwner.get(data.slug);
    if (slugFile !== undefined) {
      report(source.file, [{ line: lines.slug ?? 1, message: `duplicate slug "${data.slug}": ${slugFile} already uses it (this file and ${slugFile} must differ)` }]);
      duplicate = true;
    }
    const idFile = idOwner.get(data.canonicalId);
    if (idFile !== undefined) {
      report(source.file, [{ line: lines.canonical_id ?? 1, message: `duplicate canonical_id "${data.canonicalId}": ${idFile} already uses it (this file and ${idFile} must differ)` }]);
      duplicate = true;
    }
    if (duplicate) continue;
    slugOwner.set(data.slug, source.file);
    idOwner.set(data.canonicalId, source.file);
    accepted.push({ source, data });
  }

  const lessonPaths: Record<string, string> = {};
  for (const { source, data } of accepted) lessonPaths[lessonKey(source.file)] = data.slug;

  // Bodies of rejected files are compiled too, so one check run reports every problem.
  const tasks: CompileTask[] = [];
  for (const source of sources) {
    if (source.front) tasks.push({ file: source.file, slug: source.front.data?.slug ?? '', body: source.front.body });
  }
  const compiled = await compileAll(tasks, lessonPaths, threads);
  const results = new Map<string, CompileResult>();
  for (const result of compiled) {
    results.set(result.file, result);
    report(result.file, result.errors);
  }

  // Labs of every compiled lesson are checked, even of one left out, so all problems show at once.
  const labSet = new Set(labFiles);
  const labs = new Map<string, Lesson['lab']>();
  await Promise.all(
    [...results.values()].map(async (result) => {
      const labFile = result.file.replace(/\.md$/, LAB_SUFFIX);
      if (!labSet.has(labFile)) return;
      const loaded = await loadLab(path.join(root, labFile), labFile, result.rendered.anchors);
      errors.push(...loaded.errors);
      labs.set(result.file, loaded.lab);
    }),
  );
  const lessonFiles = new Set(files);
  for (const file of labSet) {
    if (!lessonFiles.has(file.slice(0, -LAB_SUFFIX.length) + '.md')) errors.push({ file, line: 1, message: `lab: no lesson "${path.basename(file, LAB_SUFFIX)}.md" beside this lab file` });
  }

  const lessonsOut: Lesson[] = [];
  const warningsOf = new Map<Lesson, LineMessage[]>();
  for (const { source, data } of accepted) {
    const result = results.get(source.file);
    if (!result) continue;
    const lesson: Lesson = {
      file: source.file,
      absPath: source.absPath,
      slug: data.slug,
      canonicalId: data.canonicalId,
      title: data.title,
      level: data.level,
      number: data.number,
      tags: data.tags,
      prerequisites: [],
      estimatedMinutes: data.estimatedMinutes,
      contributors: data.contributors,
      sections: result.sections,
      quiz: result.quiz,
      diagrams: result.diagrams,
      links: result.links,
      lab: labs.get(source.file) ?? null,
      warnings: [],
      rendered: result.rendered,
    };
    lessonsOut.push(lesson);
    warningsOf.set(lesson, [...result.warnings, ...placementWarnings(source.file, data, source.front?.keyLines ?? {})]);
  }
  const frontOf = new Map(accepted.map(({ source }) => [source.file, source.front]));
  const prerequisites = resolvePrerequisites(
    accepted.map(({ source, data }) => ({
      slug: data.slug,
      level: data.level,
      number: data.number,
      prerequisites: data.prerequisites,
      lines: source.front?.prerequisiteLines ?? [],
      keyLine: source.front?.keyLines.prerequisites ?? 1,
      links: results.get(source.file)?.links.resolved ?? [],
      unresolvedLinks: results.get(source.file)?.links.unresolved ?? [],
    })),
  );
  for (const lesson of lessonsOut) {
    lesson.prerequisites = prerequisites.resolved.get(lesson.slug) ?? [];
    const warnings = [...(warningsOf.get(lesson) ?? []), ...(prerequisites.warnings.get(lesson.slug) ?? [])];
    warnings.sort((a, b) => a.line - b.line);
    lesson.warnings = warnings.map((w) => `${lesson.file}:${w.line}: ${w.message}`);
  }
  numberWarnings(lessonsOut, frontOf);
  // What the page may offer on each code block depends on the lab (its home files, its nodes).
  await Promise.all(
    lessonsOut.map(async (lesson) => {
      judgeBlocks(lesson.rendered.codeBlocks, await blockContext(lesson.absPath, lesson.lab));
    }),
  );

  return { dir: root, lessons: lessonsOut, errors: sortProblems(errors), bySlug: new Map(lessonsOut.map((l) => [l.slug, l])) };
}

/** The folder and file name say level and number too; when they disagree with the front matter, say so. */
function placementWarnings(file: string, data: FrontMatter, keyLines: Record<string, number>): LineMessage[] {
  const warnings: LineMessage[] = [];
  const folder = path.dirname(file);
  const folderLevel = LESSON_LEVELS.find((level) => folder.endsWith(`_${level}`));
  if (folderLevel !== undefined && folderLevel !== data.level) {
    warnings.push({ line: keyLines.level ?? 1, message: `level "${data.level}" differs from the folder ${folder}` });
  }
  const prefix = /^(\d+)\./.exec(path.basename(file));
  if (prefix && Number(prefix[1]) !== data.number) {
    warnings.push({ line: keyLines.number ?? 1, message: `number ${data.number} differs from the file name's ${prefix[1]}` });
  }
  return warnings;
}

function numberWarnings(lessons: Lesson[], frontOf: Map<string, FrontMatterResult | null>): void {
  const seen = new Map<string, Lesson>();
  for (const lesson of lessons) {
    const key = `${lesson.level}#${lesson.number}`;
    const first = seen.get(key);
    if (!first) {
      seen.set(key, lesson);
      continue;
    }
    const line = frontOf.get(lesson.file)?.keyLines.number ?? 1;
    lesson.warnings.push(`${lesson.file}:${line}: number ${lesson.number} is also used by ${first.file} in the same level; prerequisites naming it resolve to that lesson`);
  }
}
