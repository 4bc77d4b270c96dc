import { Router } from 'express';
import { z } from 'zod';
import { NotFound } from '../../errors.ts';
import type { LessonService } from '../../lessons/lesson-service.ts';
import { sandboxCreateRequestSchema, sandboxExtendRequestSchema, type SandboxCreateRequest, type SandboxExtendRequest, type SandboxListResponse } from '../../protocol-sandboxes.ts';
import type { SandboxService } from '../../sandboxes/service.ts';
import { sandboxView } from '../../sandboxes/view.ts';
import type { SandboxSize } from '../../vocabulary.ts';
import type { Learner } from '../../db/learners.ts';
import type { EdgeLimits } from '../rate-limits.ts';
import { currentLearner, learnerOf, type sessionMiddleware } from '../session.ts';
import { validate } from '../validate.ts';
import { namespaceName } from '../../fields.ts';

const namespaceParams = z.object({ namespace: namespaceName('must be a namespace name') });

/** A learner's own sandboxes; anyone else's are "not found", never "forbidden". */
export function sandboxRoutes(deps: {
  sandboxes: SandboxService;
  lessons: LessonService;
  session: ReturnType<typeof sessionMiddleware>;
  limits: EdgeLimits;
  /** A workshop participant's sandboxes carry the workshop and its size, whatever the lesson. */
  placement: (learner: Learner) => Promise<{ workshop: string; size: SandboxSize } | undefined>;
}): Router {
  const router = Router();
  const { sandboxes, session, limits } = deps;

  router.get('/sandboxes', async (_req, res) => {
    const learner = learnerOf(res);
    const mine = learner ? await sandboxes.list({ learnerId: learner.id }) : [];
    // An open lesson page asks every few minutes: that is activity, and keeps the idle reaper off.
    await Promise.all(
      mine.filter((s) => s.state === 'ready' && Date.now() - new Date(s.lastActivity).getTime() > 5 * 60_000).map((s) => sandboxes.touch(s.namespace).catch(() => undefined)),
    );
    const realNode = await sandboxes.realNode();
    const body: SandboxListResponse = { sandboxes: mine.map((s) => sandboxView(s, realNode)) };
    res.json(body);
  });

  router.post('/sandboxes', validate({ body: sandboxCreateRequestSchema }), session.requireLearner, limits.limit('sandboxes'), async (req, res) => {
    const body = req.body as SandboxCreateRequest;
    if (!deps.lessons.lessons.some((l) => l.slug === body.lesson)) throw new NotFound(`there is no lesson "${body.lesson}"`);
    const learner = currentLearner(res);
    const access = await sandboxes.create({ learnerId: learner.id, learnerName: learner.displayName ?? 'guest', lesson: body.lesson, ...(await deps.placement(learner)) });
    await deps.lessons.markStarted(body.lesson, learner.id);
    res.status(access.created || access.fromPool ? 201 : 200).json(sandboxView(access.sandbox, await sandboxes.realNode()));
  });

  router.post('/sandboxes/:namespace/extend', validate({ params: namespaceParams, body: sandboxExtendRequestSchema }), session.requireLearner, async (req, res) => {
    const { namespace } = res.locals.params as z.infer<typeof namespaceParams>;
    await sandboxes.getOwned(namespace, currentLearner(res).id);
    const access = await sandboxes.extend(namespace, (req.body as SandboxExtendRequest).minutes);
    res.json(sandboxView(access.sandbox, await sandboxes.realNode()));
  });

  router.post('/sandboxes/:namespace/reset', validate({ params: namespaceParams }), session.requireLearner, limits.limit('sandboxes'), async (_req, res) => {
    const { namespace } = res.locals.params as z.infer<typeof namespaceParams>;
    await sandboxes.getOwned(namespace, currentLearner(res).id);
    res.json(sandboxView((await sandboxes.reset(namespace)).sandbox, await sandboxes.realNode()));
  });

  router.delete('/sandboxes/:namespace', validate({ params: namespaceParams }), session.requireLearner, async (_req, res) => {
    const { namespace } = res.locals.params as z.infer<typeof namespaceParams>;
    await sandboxes.getOwned(namespace, currentLearner(res).id);
    await sandboxes.delete(namespace);
    res.status(204).end();
  });

  return router;
}
