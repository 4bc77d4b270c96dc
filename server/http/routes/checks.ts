import { Router } from 'express';
import { z } from 'zod';
import type { GradingService } from '../../grading/service.ts';
import type { LessonService } from '../../lessons/lesson-service.ts';
import { checkRunRequestSchema, type CheckRunListResponse, type CheckRunRequest } from '../../protocol-checks.ts';
import { currentLearner, learnerOf, type sessionMiddleware } from '../session.ts';
import { validate } from '../validate.ts';
import type { EdgeLimits } from '../rate-limits.ts';
import { lessonSlug, namespaceName } from '../../fields.ts';

const slug = lessonSlug('must be a lesson slug');
const namespaceParams = z.object({ namespace: namespaceName('must be a namespace name') });
const runQuery = z.object({ wait: z.enum(['true', 'false'], { error: 'must be true or false' }).optional() });
const runParams = z.object({ id: z.uuid('must be a check run id') });

/**
 * Check: grade a learner's own sandbox. The POST answers at once (202) with the run, whose
 * progress arrives over socket.io; `?wait=true` answers when it has finished, for scripts.
 */
export function checkRoutes(deps: { grading: GradingService; session: ReturnType<typeof sessionMiddleware>; limits: EdgeLimits; lessons: Pick<LessonService, 'markStarted'> }): Router {
  const router = Router();
  const { grading, session } = deps;

  router.get('/lessons/:slug/lab', validate({ params: z.object({ slug }) }), async (_req, res) => {
    const { slug: name } = res.locals.params as { slug: string };
    res.setHeader('Cache-Control', 'no-store');
    res.json(await grading.lab(name, learnerOf(res)?.id));
  });

  router.get('/lessons/:slug/checks', validate({ params: z.object({ slug }) }), async (_req, res) => {
    const { slug: name } = res.locals.params as { slug: string };
    const learner = learnerOf(res);
    const body: CheckRunListResponse = { runs: learner ? await grading.runs(name, learner.id) : [] };
    res.json(body);
  });

  router.post('/sandboxes/:namespace/checks', validate({ params: namespaceParams, body: checkRunRequestSchema, query: runQuery }), session.requireLearner, deps.limits.limit('checks'), async (req, res) => {
    const { namespace } = res.locals.params as z.infer<typeof namespaceParams>;
    const { wait } = res.locals.query as z.infer<typeof runQuery>;
    const started = await grading.start(currentLearner(res).id, namespace, (req.body as CheckRunRequest).exercise);
    // A check is real progress: the lesson is "in progress" from now on.
    await deps.lessons.markStarted(started.run.lesson, currentLearner(res).id);
    if (wait === 'true') {
      res.json(await started.done);
      return;
    }
    res.status(202).json(started.run);
  });

  router.get('/checks/:id', validate({ params: runParams }), session.requireLearner, async (_req, res) => {
    const { id } = res.locals.params as z.infer<typeof runParams>;
    res.json(await grading.get(id, currentLearner(res).id));
  });

  return router;
}
