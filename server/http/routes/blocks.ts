import { Router } from 'express';
import { z } from 'zod';
import type { ApplyBlockRequest, SaveBlockRequest } from '../../protocol-blocks.ts';
import type { LessonBlockService } from '../../sandboxes/lesson-blocks.ts';
import { namespaceName } from '../../fields.ts';
import type { EdgeLimits } from '../rate-limits.ts';
import { currentLearner, type sessionMiddleware } from '../session.ts';
import { validate } from '../validate.ts';

const namespaceParams = z.object({ namespace: namespaceName('must be a namespace name') });
const block = z.number({ error: 'must be the number of a code block' }).int('must be a whole number').min(0, 'must be 0 or more').max(10_000, 'must be at most 10000');
const applyBody = z.strictObject({
  block,
  dryRun: z.boolean({ error: 'must be true (only show what would change) or false (apply)' }),
}) satisfies z.ZodType<ApplyBlockRequest>;
/** A file name in the home: no absolute paths, no `..`, no hidden files (a .bashrc is not a manifest). */
const homePath = z
  .string({ error: 'must be a file name' })
  .max(200, 'must be at most 200 characters')
  .regex(/^(?:[A-Za-z0-9_][A-Za-z0-9._-]*\/)*[A-Za-z0-9_][A-Za-z0-9._-]*$/, 'must be a file name of letters, digits, ".", "_" and "-" (folders with "/"), not starting with "." or "-"');
const saveBody = z.strictObject({ block, path: homePath, overwrite: z.boolean({ error: 'must be true or false' }).optional() }) satisfies z.ZodType<SaveBlockRequest>;

/** A lesson's manifest blocks, applied or saved in the learner's own sandbox. */
export function blockRoutes(deps: { blocks: LessonBlockService; session: ReturnType<typeof sessionMiddleware>; limits: EdgeLimits }): Router {
  const router = Router();
  const { session, limits } = deps;

  router.post('/sandboxes/:namespace/apply', validate({ params: namespaceParams, body: applyBody }), session.requireLearner, limits.limit('checks'), async (req, res) => {
    const { namespace } = res.locals.params as z.infer<typeof namespaceParams>;
    const body = req.body as z.infer<typeof applyBody>;
    res.json(await deps.blocks.apply(namespace, currentLearner(res).id, body.block, body.dryRun));
  });

  router.post('/sandboxes/:namespace/files', validate({ params: namespaceParams, body: saveBody }), session.requireLearner, limits.limit('terminals'), async (req, res) => {
    const { namespace } = res.locals.params as z.infer<typeof namespaceParams>;
    const body = req.body as z.infer<typeof saveBody>;
    res.status(201).json(await deps.blocks.save(namespace, currentLearner(res).id, body.block, body.path, body.overwrite ?? false));
  });

  return router;
}
