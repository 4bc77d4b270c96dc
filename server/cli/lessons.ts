import fs from 'node:fs/promises';
import path from 'node:path';
import { projectRoot } from '../cluster/paths.ts';
import { LAB_SUFFIX } from '../lessons/lab.ts';
import type { Lab } from '../lessons/lab-schema.ts';
import { LEVEL_FOLDER, loadFiles, loadLibrary } from '../lessons/library.ts';
import type { Lesson, Library, Problem } from '../lessons/types.ts';
import { EXIT, type CliContext } from './context.ts';

/** `kubedojo lessons check [dir] [--json]` and `kubedojo lessons render <file>`, for course authors. */

async function isDirectory(dir: string): Promise<boolean> {
  try {
    return (await fs.stat(dir)).isDirectory();
  } catch {
    return false;
  }
}

/** The lesson as `check --json` reports it: everything an author checks, nothing rendered. */
export function checkedLesson(lesson: Lesson) {
  return {
    file: lesson.file,
    slug: lesson.slug,
    canonicalId: lesson.canonicalId,
    title: lesson.title,
    level: lesson.level,
    number: lesson.number,
    sections: lesson.sections,
    quiz: lesson.quiz.map((q) => ({ question: q.question, options: q.options, answer: q.answer, explanation: q.explanation })),
    diagrams: lesson.diagrams,
    links: lesson.links,
    lab: lesson.lab && checkedLab(lesson.file, lesson.lab),
    /** Every code block: what the page offers on it, and why a shell block is not runnable. */
    codeBlocks: lesson.rendered.codeBlocks.map((b) => ({
      line: b.line,
      lang: b.lang,
      apply: b.apply,
      run: b.run,
      runnable: b.runnable,
      notRunnable: b.notRunnable,
      needsRealNode: b.needsRealNode,
      objects: b.objects,
      saveAs: b.saveAs,
    })),
    warnings: lesson.warnings,
  };
}

/**
 * The lab with each exercise's reference solution and wrong variants as paths relative to the
 * library folder (like `file`), so tools can find and grade them.
 */
function checkedLab(lessonFile: string, lab: Lab) {
  const dir = path.posix.dirname(lessonFile.split(path.sep).join('/'));
  const at = (relative: string) => path.posix.normalize(path.posix.join(dir, relative));
  return {
    ...lab,
    exercises: lab.exercises.map((exercise) => ({
      ...exercise,
      solution: at(exercise.solution),
      wrong: exercise.wrong.map((w) => at(w.path)),
      /** The check each wrong variant must fail, by its path. */
      wrongFails: Object.fromEntries(exercise.wrong.map((w) => [at(w.path), w.fails])),
    })),
  };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function checkReport(library: Library): string {
  const lines: string[] = [];
  const errorsByFile = new Map<string, Problem[]>();
  for (const error of library.errors) errorsByFile.set(error.file, [...(errorsByFile.get(error.file) ?? []), error]);
  const lessonsByFile = new Map(library.lessons.map((l) => [l.file, l]));
  const files = [...new Set([...lessonsByFile.keys(), ...errorsByFile.keys()])].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));

  for (const file of files) {
    const errors = errorsByFile.get(file) ?? [];
    const lesson = lessonsByFile.get(file);
    if (lesson) {
      const blocks = lesson.rendered.codeBlocks;
      const facts = [
        plural(lesson.sections.length, 'section'),
        plural(lesson.quiz.length, 'quiz question'),
        plural(lesson.diagrams, 'diagram'),
        `${plural(blocks.length, 'code block')} (${blocks.filter((b) => b.apply).length} to apply, ${blocks.filter((b) => b.runnable).length} to run${blocks.some((b) => b.run && !b.runnable) ? `, ${blocks.filter((b) => b.run && !b.runnable).length} not runnable` : ''})`,
        lesson.links.unresolved.length > 0 ? plural(lesson.links.unresolved.length, 'unavailable link') : 'all links resolve',
        lesson.lab ? `lab with ${plural(lesson.lab.exercises.length, 'exercise')}` : 'no lab',
      ];
      lines.push(`${file}: ${errors.length > 0 ? plural(errors.length, 'error') : 'ok'} — ${lesson.slug}: ${facts.join(', ')}`);
    } else {
      lines.push(`${file}: ${plural(errors.length, 'error')}${file.endsWith('.md') ? ', not loaded' : ''}`);
    }
    for (const error of errors) lines.push(`  ${error.file}:${error.line}: ${error.message}`);
    for (const warning of lesson?.warnings ?? []) lines.push(`  warning: ${warning}`);
    // Shell blocks the page shows with Copy only, and why: each reason at its line.
    for (const block of lesson?.rendered.codeBlocks.filter((b) => b.run && !b.runnable) ?? []) {
      lines.push(`  not runnable: ${file}:${block.line}:`);
      for (const reason of block.notRunnable) lines.push(`    ${reason.line}: ${reason.message}`);
    }
  }
  const warnings = library.lessons.reduce((n, l) => n + l.warnings.length, 0);
  const failed = new Set(library.errors.map((e) => e.file)).size;
  lines.push(
    '',
    `${library.dir}: ${plural(library.lessons.length, 'lesson')} loaded, ${plural(library.errors.length, 'error')}${failed > 0 ? ` in ${plural(failed, 'file')}` : ''}, ${plural(warnings, 'warning')}.`,
  );
  return `${lines.join('\n')}\n`;
}

export async function lessonsCheck(ctx: CliContext, dir: string | undefined, options: { json?: boolean }): Promise<number> {
  const root = path.resolve(dir ?? path.join(projectRoot, 'lessons'));
  if (!(await isDirectory(root))) {
    process.stderr.write(`lessons check: ${root} is not a folder. Give the folder that holds the level folders (01_beginner, 02_intermediate, …).\n`);
    return EXIT.usage;
  }
  const library = await loadLibrary(root);
  if (library.lessons.length === 0 && library.errors.length === 0) {
    process.stderr.write(`lessons check: no lessons in ${root}; lessons are .md files in level folders such as 01_beginner/.\n`);
    return EXIT.failed;
  }
  if (options.json) {
    ctx.out.write(`${JSON.stringify({ lessons: library.lessons.map(checkedLesson), errors: library.errors }, null, 2)}\n`);
  } else {
    ctx.out.write(checkReport(library));
  }
  return library.errors.length > 0 ? EXIT.failed : EXIT.ok;
}

/**
 * Prints the learner-facing HTML of one lesson. The whole library that holds it is loaded, so
 * its links resolve; a file outside any level folder is loaded on its own.
 */
export async function lessonsRender(ctx: CliContext, file: string): Promise<number> {
  const absPath = path.resolve(file);
  try {
    if (!(await fs.stat(absPath)).isFile()) throw new Error('not a file');
  } catch {
    process.stderr.write(`lessons render: ${absPath} is not a lesson file.\n`);
    return EXIT.usage;
  }
  const levelDir = path.dirname(absPath);
  let library: Library;
  if (LEVEL_FOLDER.test(path.basename(levelDir))) {
    library = await loadLibrary(path.dirname(levelDir));
  } else {
    const name = path.basename(absPath);
    const lab = name.replace(/\.md$/, LAB_SUFFIX);
    const labs = (await fs.readdir(levelDir)).includes(lab) && lab !== name ? [lab] : [];
    library = await loadFiles(levelDir, [name], labs);
  }
  const lesson = library.lessons.find((l) => l.absPath === absPath);
  const relative = path.relative(library.dir, absPath);
  const problems = library.errors.filter((e) => e.file === relative || e.file === relative.replace(/\.md$/, LAB_SUFFIX));
  for (const p of problems) process.stderr.write(`${p.file}:${p.line}: ${p.message}\n`);
  if (!lesson) {
    process.stderr.write(`lessons render: ${relative} did not load${problems.length > 0 ? '; see the errors above' : ''}.\n`);
    return EXIT.failed;
  }
  ctx.out.write(lesson.rendered.html);
  return EXIT.ok;
}
