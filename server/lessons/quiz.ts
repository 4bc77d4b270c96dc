import type { Token } from 'markdown-it';
import type { LineMessage } from './front-matter.ts';
import { inlineText } from './headings.ts';
import { lessonEnv, htmlBlock, renderInline, renderTokens, type RenderEnv } from './render.ts';
import { escapeHtml } from './text.ts';
import type { Lesson, PublicQuizQuestion, QuizQuestion } from './types.ts';

/**
 * The quiz under `## Quiz`: `### Question N`, the question, one paragraph of `**A)** text`
 * lines, then `**Answer: X** - explanation`. Answers and explanations stay on the server; the
 * learner page gets a form with the questions and options only.
 */

const optionLine = /^\s{0,3}\*\*([A-Z])\)\*\*[ \t]*(.*)$/;
const answerStart = /^\s{0,3}\*\*Answer\b/i;
const answerLine = /^\s{0,3}\*\*Answer\s*:\s*(?:([A-Za-z])\s*\*\*|\*\*\s*([A-Za-z])(?![A-Za-z]))\s*(?:[-–—:]\s*)?([\s\S]*)$/i;
const questionHeading = /^Question\s+(\d+)\s*:?\s*$/i;

interface Block {
  tokens: Token[];
  paragraph: boolean;
  /** 1-based file line of the block's first line. */
  line: number;
  source: string[];
}

function blocksOf(tokens: Token[], lines: readonly string[]): Block[] {
  const blocks: Block[] = [];
  let i = 0;
  while (i < tokens.length) {
    const first = tokens[i];
    if (!first) break;
    let end = i + 1;
    if (first.nesting === 1) {
      let depth = 1;
      while (end < tokens.length && depth > 0) {
        depth += tokens[end]?.nesting ?? 0;
        end += 1;
      }
    }
    const map = first.map;
    blocks.push({
      tokens: tokens.slice(i, end),
      paragraph: first.type === 'paragraph_open',
      line: map ? map[0] + 1 : 0,
      source: map ? lines.slice(map[0], map[1]) : [],
    });
    i = end;
  }
  return blocks;
}

interface Option {
  letter: string;
  text: string;
  line: number;
  hardBreak: boolean;
}

interface Draft {
  number: number;
  line: number;
  /** Tokens shown to the learner as the question (whole blocks, or a rendered part of a paragraph). */
  questionTokens: Token[];
  questionSource: string[];
  options: Option[];
  answer: { letter: string | null; line: number; text: string[] } | null;
  extraExplanation: { tokens: Token[]; source: string[] }[];
}

export interface QuizParse {
  questions: QuizQuestion[];
  /** Tokens that take the place of the whole `## Quiz` section in the learner page. */
  replacement: Token[];
  errors: LineMessage[];
  warnings: LineMessage[];
  /** Fills `questionHtml` once code blocks have been numbered (a question may contain one). */
  finish: () => void;
}

const hasHardBreak = (line: string) => / {2,}$/.test(line) || line.endsWith('\\');
const stripBreak = (text: string) => text.replace(/(?: {2,}|\\)$/, '').trimEnd();

/**
 * `tokens` is the quiz section after its `## Quiz` heading, up to the next H1/H2; `headingLine`
 * is the line of that heading.
 */
export function parseQuiz(tokens: Token[], lines: readonly string[], env: RenderEnv, slug: string, headingLine: number): QuizParse {
  const errors: LineMessage[] = [];
  const warnings: LineMessage[] = [];
  const intro: Token[] = [];
  const drafts: Draft[] = [];
  let current: Draft | null = null;
  let skipping = false;
  const inlineEnv = (line: number): RenderEnv => {
    const base = lessonEnv(env);
    return base ? { lesson: { ...base, line } } : {};
  };

  for (const block of blocksOf(tokens, lines)) {
    const first = block.tokens[0];
    if (first?.type === 'heading_open' && first.tag === 'h3') {
      const text = inlineText(block.tokens[1]).trim();
      const match = questionHeading.exec(text);
      if (!match) {
        errors.push({ line: block.line, message: `quiz: "### ${text}" is not a question heading; expected "### Question N"` });
        current = null;
        skipping = true;
        continue;
      }
      skipping = false;
      current = { number: Number(match[1]), line: block.line, questionTokens: [], questionSource: [], options: [], answer: null, extraExplanation: [] };
      drafts.push(current);
      continue;
    }
    if (skipping) continue;
    if (!current) {
      intro.push(...block.tokens);
      continue;
    }
    const draft = current;
    if (draft.answer) {
      draft.extraExplanation.push({ tokens: block.tokens, source: block.source });
      continue;
    }
    if (!block.paragraph) {
      draft.questionTokens.push(...block.tokens);
      draft.questionSource.push(block.source.join('\n'));
      continue;
    }
    // A paragraph: walk its lines, since authors sometimes leave out the blank line between parts.
    const questionPart: string[] = [];
    block.source.forEach((raw, offset) => {
      const line = block.line + offset;
      if (draft.answer) {
        draft.answer.text.push(raw);
        return;
      }
      if (answerStart.test(raw)) {
        const m = answerLine.exec(raw);
        const letter = m?.[1] ?? m?.[2];
        draft.answer = { letter: letter === undefined ? null : letter.toUpperCase(), line, text: [m?.[3] ?? ''] };
        return;
      }
      const option = optionLine.exec(raw);
      if (option) {
        draft.options.push({ letter: option[1] ?? '', text: stripBreak(option[2] ?? ''), line, hardBreak: hasHardBreak(raw) });
        return;
      }
      const last = draft.options.at(-1);
      if (last && offset > 0) {
        // A continuation line of an option (same paragraph): GitHub shows it on the option's line.
        last.text = `${last.text} ${stripBreak(raw.trim())}`;
        last.hardBreak = hasHardBreak(raw);
      } else {
        questionPart.push(raw);
      }
    });
    if (questionPart.length === block.source.length) {
      draft.questionTokens.push(...block.tokens);
    } else if (questionPart.length > 0) {
      draft.questionTokens.push(htmlBlock(`<p>${renderInline(questionPart.join('\n').trim(), inlineEnv(block.line))}</p>\n`));
    }
    if (questionPart.length > 0) draft.questionSource.push(questionPart.join('\n').trim());
  }

  const questions: QuizQuestion[] = [];
  const questionTokens = new Map<QuizQuestion, Token[]>();
  const numbers = new Map<number, number>();
  for (const draft of drafts) {
    const label = `quiz question ${draft.number}`;
    const before = errors.length;
    const seenAt = numbers.get(draft.number);
    if (seenAt !== undefined) errors.push({ line: draft.line, message: `quiz: question ${draft.number} appears twice (lines ${seenAt} and ${draft.line})` });
    else numbers.set(draft.number, draft.line);

    const letters = new Map<string, number>();
    for (const option of draft.options) {
      const at = letters.get(option.letter);
      if (at !== undefined) errors.push({ line: option.line, message: `${label}: option ${option.letter} appears twice (lines ${at} and ${option.line})` });
      else letters.set(option.letter, option.line);
    }
    if (draft.options.length < 2) {
      errors.push({ line: draft.options[0]?.line ?? draft.line, message: `${label}: has ${draft.options.length} option${draft.options.length === 1 ? '' : 's'}; a question needs at least 2 lines like "**A)** text"` });
    }
    const unbroken = draft.options.slice(0, -1).filter((o) => !o.hardBreak);
    if (unbroken.length > 0 && unbroken[0]) {
      warnings.push({
        line: unbroken[0].line,
        message: `${label}: option line${unbroken.length === 1 ? '' : 's'} ${unbroken.map((o) => o.letter).join(', ')} ${unbroken.length === 1 ? 'does' : 'do'} not end with two spaces (a markdown hard break), so GitHub renders ${unbroken.length === 1 ? 'it on one line with the next option' : 'those options on one line'}`,
      });
    }
    const answer = draft.answer;
    if (!answer) {
      errors.push({ line: draft.line, message: `${label}: no answer line; expected "**Answer: X** - explanation" after the options` });
    } else if (answer.letter === null) {
      errors.push({ line: answer.line, message: `${label}: the answer line does not name an option; expected "**Answer: X** - explanation"` });
    } else if (draft.options.length > 0 && !letters.has(answer.letter)) {
      errors.push({ line: answer.line, message: `${label}: answer "${answer.letter}" is not one of its options (${[...letters.keys()].join(', ')})` });
    }
    if (errors.length > before || !answer || answer.letter === null) continue;

    const explanation = [answer.text.join('\n').trim(), ...draft.extraExplanation.map((e) => e.source.join('\n'))].filter((s) => s !== '').join('\n\n');
    if (explanation === '') warnings.push({ line: answer.line, message: `${label}: the answer has no explanation` });
    const options: Record<string, string> = {};
    const optionsHtml: Record<string, string> = {};
    for (const option of draft.options) {
      options[option.letter] = option.text;
      optionsHtml[option.letter] = renderInline(option.text, inlineEnv(option.line));
    }
    const firstExplanation = answer.text.join('\n').trim();
    const question: QuizQuestion = {
      id: `q${draft.number}`,
      number: draft.number,
      question: draft.questionSource.join('\n\n').trim(),
      questionHtml: '',
      options,
      optionsHtml,
      answer: answer.letter,
      explanation,
      explanationHtml:
        (firstExplanation === '' ? '' : `<p>${renderInline(firstExplanation, inlineEnv(answer.line))}</p>\n`) +
        draft.extraExplanation.map((e) => renderTokens(e.tokens, env)).join(''),
      line: draft.line,
    };
    questions.push(question);
    questionTokens.set(question, draft.questionTokens);
  }
  if (drafts.length === 0) warnings.push({ line: headingLine, message: 'quiz: the "## Quiz" section has no "### Question N" headings' });

  const replacement: Token[] = [htmlBlock(`<section class="quiz" id="quiz" data-quiz="${escapeHtml(slug)}">\n<h2>Quiz</h2>\n`), ...intro];
  for (const question of questions) {
    replacement.push(htmlBlock(`<fieldset class="quiz-question" data-question="${question.id}">\n<legend>Question ${question.number}</legend>\n<div class="quiz-prompt">\n`));
    replacement.push(...(questionTokens.get(question) ?? []));
    const options = Object.entries(question.optionsHtml)
      .map(([letter, html]) => `<label class="quiz-option"><input type="radio" name="${question.id}" value="${letter}"> <span class="quiz-letter">${letter})</span> <span class="quiz-text">${html}</span></label>\n`)
      .join('');
    replacement.push(htmlBlock(`</div>\n<div class="quiz-options">\n${options}</div>\n</fieldset>\n`));
  }
  replacement.push(htmlBlock('</section>\n'));

  return {
    questions,
    replacement,
    errors,
    warnings,
    finish: () => {
      for (const [question, qTokens] of questionTokens) question.questionHtml = renderTokens(qTokens, env);
    },
  };
}

/** The quiz as the learner may see it before answering: no answer, no explanation. */
export function publicQuiz(lesson: Pick<Lesson, 'quiz'>): PublicQuizQuestion[] {
  return lesson.quiz.map(({ id, number, question, questionHtml, options, optionsHtml }) => ({ id, number, question, questionHtml, options: { ...options }, optionsHtml: { ...optionsHtml } }));
}

export type QuizGrade =
  | { ok: true; correct: boolean; answer: string; explanation: string; explanationHtml: string }
  | { ok: false; reason: 'unknown-question' | 'unknown-option' };

/** Grades one answer on the server; only after this does the learner see the explanation. */
export function gradeAnswer(lesson: Pick<Lesson, 'quiz'>, questionId: string, choice: string): QuizGrade {
  const question = lesson.quiz.find((q) => q.id === questionId);
  if (!question) return { ok: false, reason: 'unknown-question' };
  if (!Object.hasOwn(question.options, choice)) return { ok: false, reason: 'unknown-option' };
  return { ok: true, correct: choice === question.answer, answer: question.answer, explanation: question.explanation, explanationHtml: question.explanationHtml };
}
