import { Router } from 'express';
import { z } from 'zod';
import { applyBlockRequestSchema, saveBlockRequestSchema, type ApplyBlockRequest, type SaveBlockRequest } from '../../protocol-blocks.ts';
import type { LessonBlockService } from '../../sandboxes/lesson-blocks.ts';
import { namespaceName } from '../../fields.ts';
import type { EdgeLimits } from '../rate-limits.ts';
import { currentLearner, type sessionMiddleware } from '../session.ts';
import { validate } from '../validate.ts';

const namespaceParams = z.object({ namespace: namespaceName('must be a namespace name') });

/** A lesson's manifest blocks, applied or saved in the learner's own sandbox. */
export function blockRoutes(deps: { blocks: LessonBlockService; session: ReturnType<typeof sessionMiddleware>; limits: EdgeLimits }): Router {
  const router = Router();
  const { session, limits } = deps;

  router.post('/sandboxes/:namespace/apply', validate({ params: namespaceParams, body: applyBlockRequestSchema }), session.requireLearner, limits.limit('checks'), async (req, res) => {
    const { namespace } = res.locals.params as z.infer<typeof namespaceParams>;
    const body = req.body as ApplyBlockRequest;
    res.json(await deps.blocks.apply(namespace, currentLearner(res).id, body.block, body.dryRun));
  });

  router.post('/sandboxes/:namespace/files', validate({ params: namespaceParams, body: saveBlockRequestSchema }), session.requireLearner, limits.limit('terminals'), async (req, res) => {
    const { namespace } = res.locals.params as z.infer<typeof namespaceParams>;
    const body = req.body as SaveBlockRequest;
    res.status(201).json(await deps.blocks.save(namespace, currentLearner(res).id, body.block, body.path, body.overwrite ?? false));
  });

  return router;
}
