import type { LessonLevel } from '../vocabulary.ts';
import type { Lab } from './lab-schema.ts';

/** The shapes a loaded library hands to the rest of the server. Quiz answers stay server-side. */

/** An error in the library: `file` is relative to the library folder, `line` is 1-based. */
export interface Problem {
  file: string;
  line: number;
  message: string;
}

export interface QuizQuestion {
  /** `q<number>`: the radio group name and the id the client posts back. */
  id: string;
  number: number;
  /** The question as the author wrote it (markdown source). */
  question: string;
  questionHtml: string;
  /** Letter → option text as written (markdown source). */
  options: Record<string, string>;
  optionsHtml: Record<string, string>;
  answer: string;
  explanation: string;
  explanationHtml: string;
  line: number;
}

/** A question as a learner may see it before answering. */
export interface PublicQuizQuestion {
  id: string;
  number: number;
  question: string;
  questionHtml: string;
  options: Record<string, string>;
  optionsHtml: Record<string, string>;
}

export interface TocEntry {
  level: number;
  id: string;
  text: string;
}

export interface CodeBlock {
  /** Position among the page's code blocks (diagrams excluded); `data-index` in the HTML. */
  index: number;
  lang: string;
  /** One or more complete Kubernetes manifests: may be offered as "apply to my sandbox". */
  apply: boolean;
  /** A shell block with kubectl lines: a candidate for "run in my terminal" (see `runnable`). */
  run: boolean;
  source: string;
  line: number;
  /**
   * Set once the lab is known (blocks.ts): a `run` block is offered only when it runs as written
   * in a fresh sandbox of the lab; `notRunnable` says why not, each at a line of the file.
   */
  runnable: boolean;
  notRunnable: { line: number; message: string }[];
  /** It needs containers that really run (logs, exec): offered only where the cluster has a real node. */
  needsRealNode: boolean;
  /** An `apply` block's objects as "Kind name", for button names and the preview. */
  objects: string[];
  /** A file name for "Save to my home": the one the lesson applies it from, else kind-name.yaml. */
  saveAs: string | null;
}

export interface RenderedLesson {
  /** Learner-facing body HTML: no H1 (the page shows the title), no quiz answers. */
  html: string;
  toc: TocEntry[];
  codeBlocks: CodeBlock[];
  /** Every heading id on the page, for lab exercises that point at a section. */
  anchors: string[];
}

export interface LessonLinks {
  /** Target lesson slugs, then external hrefs, each once. */
  resolved: string[];
  /** Hrefs as written that point at lessons or files not in this library. */
  unresolved: string[];
}

export interface Prerequisite {
  number: number;
  slug: string | null;
}

export interface Lesson {
  file: string;
  absPath: string;
  slug: string;
  canonicalId: string;
  title: string;
  level: LessonLevel;
  number: number;
  tags: string[];
  prerequisites: Prerequisite[];
  estimatedMinutes: number;
  contributors: (string | Record<string, unknown>)[];
  /** H2 titles in order. */
  sections: string[];
  quiz: QuizQuestion[];
  diagrams: number;
  links: LessonLinks;
  lab: Lab | null;
  /** `file:line: message`, ready to print. */
  warnings: string[];
  rendered: RenderedLesson;
}

export interface Library {
  dir: string;
  lessons: Lesson[];
  errors: Problem[];
  bySlug: Map<string, Lesson>;
}
