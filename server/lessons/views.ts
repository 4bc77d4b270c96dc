/**
 * What the lesson service hands out, as the browser sees it: the catalog, lesson pages with their
 * quiz (never an answer before it was found) and code blocks, and progress. Plain data of the
 * domain; server/protocol-lessons.ts sends them as they are. A leaf the browser app's type check
 * reads too: no imports beyond the vocabulary.
 */

import type { LessonLevel } from '../vocabulary.ts';

export type LessonStatusView = 'not-started' | 'started' | 'completed';

export interface LessonProgressView {
  status: LessonStatusView;
  /** Questions answered right at least once. */
  quizCorrect: number;
  quizTotal: number;
  lastSection: string | null;
  updatedAt: string | null;
}

export interface PrerequisiteView {
  number: number;
  slug: string | null;
  title: string | null;
}

export interface LessonSummary {
  slug: string;
  title: string;
  level: LessonLevel;
  number: number;
  tags: string[];
  estimatedMinutes: number;
  prerequisites: PrerequisiteView[];
  diagrams: number;
  quizQuestions: number;
  hasLab: boolean;
  progress: LessonProgressView;
}

export interface CatalogResponse {
  levels: { level: LessonLevel; lessons: LessonSummary[] }[];
  tags: { tag: string; count: number }[];
}

/** A question as the learner sees it before answering: no answer, no explanation. */
export interface PublicQuestion {
  id: string;
  number: number;
  questionHtml: string;
  options: { letter: string; html: string }[];
}

/** What the learner has done with one question so far. */
export interface QuestionState {
  attempts: number;
  lastChoice: string;
  correct: boolean;
  /** Only once answered right. */
  answer: string | null;
  explanationHtml: string | null;
}

/** A code block of a lesson page (`data-index` in its HTML) and what the page may offer on it. */
export interface CodeBlockView {
  index: number;
  lang: string;
  /** One or more complete Kubernetes manifests: Apply and Save to my home. */
  apply: boolean;
  /** A shell block with kubectl commands. */
  run: boolean;
  /** It runs as written in a fresh sandbox of the lesson's lab: "Run in my terminal". */
  runnable: boolean;
  /** Why a `run` block is not offered, in one sentence (`lessons check` lists every reason). */
  notRunnable: string | null;
  /** It needs containers that really run (logs, exec): offered only where the cluster has a real node. */
  needsRealNode: boolean;
  /** A manifest's objects, "Deployment web", for button names and the preview. */
  objects: string[];
  /** The file name Save to my home proposes. */
  saveAs: string | null;
}

export interface LessonResponse extends LessonSummary {
  html: string;
  toc: { level: number; id: string; text: string }[];
  quiz: PublicQuestion[];
  answers: Record<string, QuestionState>;
  codeBlocks: CodeBlockView[];
}

export interface QuizAnswerResponse {
  questionId: string;
  state: QuestionState;
  progress: LessonProgressView;
}

export interface ProgressResponse {
  lessons: { slug: string; title: string; level: LessonLevel; progress: LessonProgressView }[];
}
