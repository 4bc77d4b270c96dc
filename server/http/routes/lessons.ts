import { Router } from 'express';
import { z } from 'zod';
import type { LessonService } from '../../lessons/lesson-service.ts';
import { progressUpdateRequestSchema, quizAnswerRequestSchema, type ProgressUpdateRequest, type QuizAnswerRequest } from '../../protocol-lessons.ts';
import { LESSON_LEVELS } from '../../vocabulary.ts';
import { currentLearner, learnerOf, type sessionMiddleware } from '../session.ts';
import { validate } from '../validate.ts';
import { lessonSlug } from '../../fields.ts';

const slug = lessonSlug('must be a lesson slug (lowercase letters, digits and dashes)');

const catalogQuery = z.object({
  level: z.enum(LESSON_LEVELS, { error: 'must be beginner, intermediate or advanced' }).optional(),
  tag: z.string().min(1).max(100).optional(),
});
const lessonParams = z.object({ slug });
const answerParams = z.object({ slug, questionId: z.string().regex(/^q\d{1,3}$/, 'must be a question id such as q1') });

/** Catalog, lesson pages, quiz answers and progress. Handlers only translate HTTP. */
export function lessonRoutes(deps: { lessons: LessonService; session: ReturnType<typeof sessionMiddleware> }): Router {
  const router = Router();
  const { lessons, session } = deps;

  router.get('/lessons', validate({ query: catalogQuery }), async (_req, res) => {
    const query = res.locals.query as z.infer<typeof catalogQuery>;
    res.json(await lessons.catalog(learnerOf(res)?.id, query));
  });

  router.get('/lessons/:slug', validate({ params: lessonParams }), async (_req, res) => {
    const { slug: name } = res.locals.params as z.infer<typeof lessonParams>;
    res.setHeader('Cache-Control', 'no-store');
    res.json(await lessons.lesson(name, learnerOf(res)?.id));
  });

  router.post('/lessons/:slug/quiz/:questionId/answer', validate({ params: answerParams, body: quizAnswerRequestSchema }), session.requireLearner, async (req, res) => {
    const { slug: name, questionId } = res.locals.params as z.infer<typeof answerParams>;
    const body = req.body as QuizAnswerRequest;
    res.json(await lessons.answer(name, currentLearner(res).id, questionId, body.choice, body.timeMs));
  });

  router.put('/lessons/:slug/progress', validate({ params: lessonParams, body: progressUpdateRequestSchema }), session.requireLearner, async (req, res) => {
    const { slug: name } = res.locals.params as z.infer<typeof lessonParams>;
    const body = req.body as ProgressUpdateRequest;
    res.json(await lessons.updateProgress(name, currentLearner(res).id, body.status, body.section));
  });

  router.get('/progress', async (_req, res) => {
    const learner = learnerOf(res);
    res.json(learner ? await lessons.learnerProgress(learner.id) : { lessons: [] });
  });

  return router;
}
