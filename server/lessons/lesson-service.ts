import { EventEmitter } from 'node:events';
import type { LessonProgress, ProgressRepository, QuizAttempt } from '../db/progress.ts';
import { Invalid, NotFound } from '../errors.ts';
import { LESSON_LEVELS, type LessonLevel } from '../vocabulary.ts';
import type { Lesson, Library } from './types.ts';
import type { CatalogResponse, LessonProgressView, LessonResponse, LessonSummary, ProgressResponse, PublicQuestion, QuestionState, QuizAnswerResponse } from './views.ts';

/**
 * What learners see of the library: the catalog, lesson pages and their own progress. The
 * static part of each lesson is prepared once; answers and explanations leave this service
 * only for a question the learner has answered right.
 */

interface Prepared {
  lesson: Lesson;
  quiz: PublicQuestion[];
}

export interface CatalogFilter {
  level?: LessonLevel | undefined;
  tag?: string | undefined;
}

export class LessonService extends EventEmitter<{ answered: [{ learnerId: string; slug: string }] }> {
  private readonly library: Library;
  private readonly progress: ProgressRepository;
  private readonly prepared = new Map<string, Prepared>();

  constructor(library: Library, progress: ProgressRepository) {
    super();
    this.library = library;
    this.progress = progress;
    for (const lesson of library.lessons) {
      this.prepared.set(lesson.slug, {
        lesson,
        quiz: lesson.quiz.map((q) => ({
          id: q.id,
          number: q.number,
          questionHtml: q.questionHtml,
          options: Object.entries(q.optionsHtml).map(([letter, html]) => ({ letter, html })),
        })),
      });
    }
  }

  get lessons(): readonly Lesson[] {
    return this.library.lessons;
  }

  private get(slug: string): Prepared {
    const prepared = this.prepared.get(slug);
    if (!prepared) throw new NotFound(`there is no lesson "${slug}"`);
    return prepared;
  }

  private progressView(lesson: Lesson, row: LessonProgress | undefined, correct: Set<string> | undefined): LessonProgressView {
    return {
      status: row?.status ?? 'not-started',
      quizCorrect: correct ? lesson.quiz.filter((q) => correct.has(q.id)).length : 0,
      quizTotal: lesson.quiz.length,
      lastSection: row?.lastSection ?? null,
      updatedAt: row?.updatedAt ?? null,
    };
  }

  private summary(lesson: Lesson, progress: LessonProgressView): LessonSummary {
    return {
      slug: lesson.slug,
      title: lesson.title,
      level: lesson.level,
      number: lesson.number,
      tags: lesson.tags,
      estimatedMinutes: lesson.estimatedMinutes,
      prerequisites: lesson.prerequisites.map((p) => ({
        number: p.number,
        slug: p.slug,
        title: p.slug ? (this.library.bySlug.get(p.slug)?.title ?? null) : null,
      })),
      diagrams: lesson.diagrams,
      quizQuestions: lesson.quiz.length,
      hasLab: lesson.lab !== null,
      progress,
    };
  }

  async catalog(learnerId: string | undefined, filter: CatalogFilter = {}): Promise<CatalogResponse> {
    const rows = learnerId ? new Map((await this.progress.all(learnerId)).map((p) => [p.canonicalId, p])) : new Map<string, LessonProgress>();
    const scores = learnerId ? await this.progress.quizScores(learnerId) : new Map<string, Set<string>>();
    const tagCounts = new Map<string, number>();
    for (const lesson of this.library.lessons) for (const tag of lesson.tags) tagCounts.set(tag, (tagCounts.get(tag) ?? 0) + 1);
    const lessons = this.library.lessons
      .filter((l) => (filter.level === undefined || l.level === filter.level) && (filter.tag === undefined || l.tags.includes(filter.tag)))
      .sort((a, b) => LESSON_LEVELS.indexOf(a.level) - LESSON_LEVELS.indexOf(b.level) || a.number - b.number || a.title.localeCompare(b.title));
    return {
      levels: LESSON_LEVELS.map((level) => ({
        level,
        lessons: lessons.filter((l) => l.level === level).map((l) => this.summary(l, this.progressView(l, rows.get(l.canonicalId), scores.get(l.canonicalId)))),
      })).filter((group) => group.lessons.length > 0),
      tags: [...tagCounts].map(([tag, count]) => ({ tag, count })).sort((a, b) => b.count - a.count || a.tag.localeCompare(b.tag)),
    };
  }

  private questionStates(lesson: Lesson, attempts: QuizAttempt[]): Record<string, QuestionState> {
    const states: Record<string, QuestionState> = {};
    for (const attempt of attempts) {
      const question = lesson.quiz.find((q) => q.id === attempt.questionId);
      if (!question) continue; // the author removed the question since
      const previous = states[attempt.questionId];
      const correct = (previous?.correct ?? false) || attempt.correct;
      states[attempt.questionId] = {
        attempts: (previous?.attempts ?? 0) + 1,
        lastChoice: attempt.choice,
        correct,
        answer: correct ? question.answer : null,
        explanationHtml: correct ? question.explanationHtml : null,
      };
    }
    return states;
  }

  async lesson(slug: string, learnerId: string | undefined): Promise<LessonResponse> {
    const { lesson, quiz } = this.get(slug);
    const attempts = learnerId ? await this.progress.attempts(learnerId, lesson.canonicalId) : [];
    const row = learnerId ? await this.progress.lesson(learnerId, lesson.canonicalId) : undefined;
    const correct = new Set(attempts.filter((a) => a.correct).map((a) => a.questionId));
    return {
      ...this.summary(lesson, this.progressView(lesson, row, correct)),
      html: lesson.rendered.html,
      toc: lesson.rendered.toc,
      quiz,
      answers: this.questionStates(lesson, attempts),
      codeBlocks: lesson.rendered.codeBlocks.map((b) => ({
        index: b.index,
        lang: b.lang,
        apply: b.apply,
        run: b.run,
        runnable: b.runnable,
        notRunnable: b.notRunnable[0]?.message ?? null,
        needsRealNode: b.needsRealNode,
        objects: b.objects,
        saveAs: b.saveAs,
      })),
    };
  }

  async answer(slug: string, learnerId: string, questionId: string, choice: string, timeMs: number | undefined): Promise<QuizAnswerResponse> {
    const { lesson } = this.get(slug);
    const question = lesson.quiz.find((q) => q.id === questionId);
    if (!question) throw new NotFound(`lesson "${slug}" has no question "${questionId}"`);
    if (!(choice in question.options)) {
      throw new Invalid(`body.choice: "${choice}" is not an option of ${questionId} (options: ${Object.keys(question.options).join(', ')})`, {
        issues: [{ field: 'body.choice', message: `must be one of ${Object.keys(question.options).join(', ')}` }],
      });
    }
    await this.progress.addAttempt(learnerId, lesson.canonicalId, { questionId, choice, correct: choice === question.answer, timeMs: timeMs ?? null });
    // Answering a question means the lesson has been started.
    const row = (await this.progress.lesson(learnerId, lesson.canonicalId)) ?? (await this.progress.record(learnerId, lesson.canonicalId, 'started', null));
    const attempts = await this.progress.attempts(learnerId, lesson.canonicalId);
    const states = this.questionStates(lesson, attempts);
    const state = states[questionId];
    if (!state) throw new Error('the attempt just stored is missing');
    const correct = new Set(attempts.filter((a) => a.correct).map((a) => a.questionId));
    this.emit('answered', { learnerId, slug });
    return { questionId, state, progress: this.progressView(lesson, row, correct) };
  }

  /**
   * Real progress on a lesson (its sandbox started, a check run): it is "in progress" from now
   * on, unless it is further along already. Opening a page is not progress.
   */
  async markStarted(slug: string, learnerId: string): Promise<void> {
    const lesson = this.library.bySlug.get(slug);
    if (!lesson || (await this.progress.lesson(learnerId, lesson.canonicalId))) return;
    await this.progress.record(learnerId, lesson.canonicalId, 'started', null);
  }

  async updateProgress(slug: string, learnerId: string, status: 'started' | 'completed', section: string | undefined): Promise<LessonProgressView> {
    const { lesson } = this.get(slug);
    if (section !== undefined && !lesson.rendered.anchors.includes(section)) {
      throw new Invalid(`body.section: "${section}" is not a section of "${slug}"`, { issues: [{ field: 'body.section', message: 'must be a heading id of the lesson' }] });
    }
    const row = await this.progress.record(learnerId, lesson.canonicalId, status, section ?? null);
    const correct = new Set((await this.progress.attempts(learnerId, lesson.canonicalId)).filter((a) => a.correct).map((a) => a.questionId));
    return this.progressView(lesson, row, correct);
  }

  async learnerProgress(learnerId: string): Promise<ProgressResponse> {
    const catalog = await this.catalog(learnerId);
    return {
      lessons: catalog.levels
        .flatMap((g) => g.lessons)
        .filter((l) => l.progress.status !== 'not-started' || l.progress.quizCorrect > 0)
        .map((l) => ({ slug: l.slug, title: l.title, level: l.level, progress: l.progress })),
    };
  }
}
