import type { Token } from 'markdown-it';
import type { LineMessage } from './front-matter.ts';
import { inlineText, Slugger } from './headings.ts';
import type { LessonPaths, LinkContext } from './links.ts';
import { hasKubectlLine, isCompleteManifest, SHELL_LANGS, YAML_LANGS } from './manifests.ts';
import { parseQuiz } from './quiz.ts';
import { fenceLang, parseMarkdown, renderTokens, type CodeMeta, type LessonEnv } from './render.ts';
import type { CodeBlock, LessonLinks, QuizQuestion, RenderedLesson, TocEntry } from './types.ts';

/**
 * Everything about one lesson body that needs no other file: markdown → learner HTML, quiz,
 * TOC, code blocks, links. Pure and serializable both ways, so it runs in worker threads.
 */

export interface CompileTask {
  file: string;
  slug: string;
  /** The lesson text with its front matter blanked out (line numbers are file line numbers). */
  body: string;
}

export interface CompileResult {
  file: string;
  /** The H1 as written, or null. */
  title: string | null;
  sections: string[];
  quiz: QuizQuestion[];
  diagrams: number;
  links: LessonLinks;
  rendered: RenderedLesson;
  errors: LineMessage[];
  warnings: LineMessage[];
}

const QUIZ_TITLE = /^quiz$/i;

export function compileLesson(task: CompileTask, lessons: LessonPaths): CompileResult {
  const links: LinkContext = { file: task.file, lessons, resolved: new Set(), unresolved: new Map() };
  const lessonState: LessonEnv = { links };
  const env = { lesson: lessonState };
  let tokens = parseMarkdown(task.body, env);
  const errors: LineMessage[] = [];
  const warnings: LineMessage[] = [];

  // The page shows the title itself, so the first H1 is not repeated in the body.
  let title: string | null = null;
  const h1 = tokens.findIndex((t) => t.type === 'heading_open' && t.tag === 'h1' && t.level === 0);
  if (h1 !== -1) {
    title = inlineText(tokens[h1 + 1]).trim();
    tokens.splice(h1, 3);
  }

  const sections: string[] = [];
  for (let i = 0; i < tokens.length; i += 1) {
    const t = tokens[i];
    if (t?.type === 'heading_open' && t.tag === 'h2' && t.level === 0) sections.push(inlineText(tokens[i + 1]).trim());
  }

  let quiz: QuizQuestion[] = [];
  let finishQuiz = (): void => undefined;
  const quizStart = tokens.findIndex((t, i) => t.type === 'heading_open' && t.tag === 'h2' && t.level === 0 && QUIZ_TITLE.test(inlineText(tokens[i + 1]).trim()));
  if (quizStart !== -1) {
    let quizEnd = tokens.findIndex((t, i) => i > quizStart && t.type === 'heading_open' && t.level === 0 && (t.tag === 'h1' || t.tag === 'h2'));
    if (quizEnd === -1) quizEnd = tokens.length;
    const headingLine = (tokens[quizStart]?.map?.[0] ?? 0) + 1;
    const parsed = parseQuiz(tokens.slice(quizStart + 3, quizEnd), task.body.split('\n'), env, task.slug, headingLine);
    const marker = parsed.replacement[0];
    if (marker) marker.meta = { toc: { level: 2, id: 'quiz', text: inlineText(tokens[quizStart + 1]).trim() } };
    tokens = [...tokens.slice(0, quizStart), ...parsed.replacement, ...tokens.slice(quizEnd)];
    quiz = parsed.questions;
    errors.push(...parsed.errors);
    warnings.push(...parsed.warnings);
    finishQuiz = parsed.finish;
  }

  const toc: TocEntry[] = [];
  const anchors: string[] = [];
  const slugger = new Slugger();
  if (quizStart !== -1) slugger.reserve('quiz');
  const codeBlocks: CodeBlock[] = [];
  let diagrams = 0;
  for (let i = 0; i < tokens.length; i += 1) {
    const t = tokens[i];
    if (!t) continue;
    if (t.type === 'heading_open') {
      const text = inlineText(tokens[i + 1]).trim();
      const id = slugger.slug(text);
      t.attrSet('id', id);
      anchors.push(id);
      if (t.level === 0 && (t.tag === 'h2' || t.tag === 'h3')) toc.push({ level: t.tag === 'h2' ? 2 : 3, id, text });
    } else if (t.type === 'html_block' && t.meta !== null) {
      const entry = (t.meta as { toc?: TocEntry }).toc;
      if (entry) {
        toc.push(entry);
        anchors.push(entry.id);
      }
    } else if (t.type === 'fence' || t.type === 'code_block') {
      const lang = t.type === 'fence' ? fenceLang(t) : '';
      if (lang === 'mermaid') {
        diagrams += 1;
        continue;
      }
      const meta = codeMetaFor(t, lang, codeBlocks.length);
      t.meta = { code: meta };
      codeBlocks.push({ ...meta, source: t.content, line: (t.map?.[0] ?? 0) + 1, runnable: false, notRunnable: [], needsRealNode: false, objects: [], saveAs: null });
    }
  }
  finishQuiz();
  const html = renderTokens(tokens, env);

  for (const [href, line] of links.unresolved) {
    warnings.push({ line, message: `link "${href}" points to a lesson or file that is not in this library; it is shown as unavailable` });
  }
  return {
    file: task.file,
    title,
    sections,
    quiz,
    diagrams,
    links: { resolved: [...links.resolved], unresolved: [...links.unresolved.keys()] },
    rendered: { html, toc, codeBlocks, anchors },
    errors,
    warnings,
  };
}

function codeMetaFor(token: Token, lang: string, index: number): CodeMeta {
  return {
    index,
    lang,
    apply: YAML_LANGS.has(lang) && isCompleteManifest(token.content),
    run: SHELL_LANGS.has(lang) && hasKubectlLine(token.content),
  };
}

/** compileLesson that never throws: a renderer bug becomes an error on that lesson, not a failed load. */
export function compileSafely(task: CompileTask, lessons: LessonPaths): CompileResult {
  try {
    return compileLesson(task, lessons);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      file: task.file,
      title: null,
      sections: [],
      quiz: [],
      diagrams: 0,
      links: { resolved: [], unresolved: [] },
      rendered: { html: '', toc: [], codeBlocks: [], anchors: [] },
      errors: [{ line: 1, message: `could not render this lesson: ${message}` }],
      warnings: [],
    };
  }
}
