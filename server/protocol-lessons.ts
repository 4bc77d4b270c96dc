/**
 * The wire of lessons: the catalog, lesson pages, quiz answers and progress (re-exported by
 * protocol.ts for the client, as types). The views are the lesson service's own (lessons/views.ts).
 */

import { z } from 'zod';

export type {
  CatalogResponse,
  CodeBlockView,
  LessonProgressView,
  LessonResponse,
  LessonSummary,
  ProgressResponse,
  PublicQuestion,
  QuestionState,
  QuizAnswerResponse,
} from './lessons/views.ts';

/** POST /api/lessons/:slug/quiz/:questionId/answer */
export const quizAnswerRequestSchema = z.strictObject({
  choice: z.string().regex(/^[A-Z]$/, 'must be one option letter, A to Z'),
  /** Milliseconds the learner spent on the question, measured in the browser. */
  timeMs: z.number().int('must be a whole number of milliseconds').min(0).max(86_400_000, 'must be at most one day').optional(),
});
export type QuizAnswerRequest = z.infer<typeof quizAnswerRequestSchema>;

/** PUT /api/lessons/:slug/progress */
export const progressUpdateRequestSchema = z.strictObject({
  status: z.enum(['started', 'completed'], { error: 'must be started or completed' }),
  section: z.string().min(1).max(200).optional(),
});
export type ProgressUpdateRequest = z.infer<typeof progressUpdateRequestSchema>;
