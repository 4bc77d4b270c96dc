import { Router, type Response } from 'express';
import { z } from 'zod';
import type { Learner } from '../../db/learners.ts';
import { Unauthenticated } from '../../errors.ts';
import type { LtiService } from '../../lti/service.ts';
import { deepLinkChoiceRequestSchema, ltiPlatformCreateRequestSchema, type DeepLinkChoiceRequest, type LtiPlatformCreateRequest, type LtiRegistrationLinkResponse } from '../../protocol-lti.ts';
import { currentLearner, learnerOf, type sessionMiddleware } from '../session.ts';
import { validate } from '../validate.ts';

const idParams = z.object({ id: z.uuid('must be an id') });

/** Deep linking and the roster need the session the launch started; nobody else has one. */
function launched(res: Response): Learner {
  const learner = learnerOf(res);
  if (!learner) throw new Unauthenticated('open this page from your LMS (the launch signs you in)');
  return learner;
}

/** The LTI parts of the web client's API (deep linking, the course roster) and the admin's. */
export function ltiRoutes(deps: { lti: LtiService; session: ReturnType<typeof sessionMiddleware> }): Router {
  const router = Router();
  const { lti, session } = deps;
  const admin = session.requireRole('admin');

  router.get('/lti/deep-links/:id', validate({ params: idParams }), async (_req, res) => {
    const { id } = res.locals.params as z.infer<typeof idParams>;
    res.setHeader('Cache-Control', 'no-store');
    res.json(await lti.deepLinkOptions(id, launched(res)));
  });

  router.post('/lti/deep-links/:id', validate({ params: idParams, body: deepLinkChoiceRequestSchema }), async (req, res) => {
    const { id } = res.locals.params as z.infer<typeof idParams>;
    const items = (req.body as DeepLinkChoiceRequest).items.map((i) => ({ lesson: i.lesson, exercise: i.exercise ?? null }));
    res.json(await lti.deepLinkChoose(id, launched(res), items));
  });

  router.get('/lti/workshops/:id/roster', session.requireRole('instructor'), validate({ params: idParams }), async (_req, res) => {
    const { id } = res.locals.params as z.infer<typeof idParams>;
    res.setHeader('Cache-Control', 'no-store');
    res.json(await lti.roster(id, currentLearner(res)));
  });

  router.get('/admin/lti', admin, async (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json(await lti.admin());
  });

  router.post('/admin/lti/platforms', admin, validate({ body: ltiPlatformCreateRequestSchema }), async (req, res) => {
    const body = req.body as LtiPlatformCreateRequest;
    res.status(201).json(await lti.addPlatform({ ...body, tokenAudience: body.tokenAudience ?? null, frameOrigins: body.frameOrigins ?? [] }));
  });

  router.delete('/admin/lti/platforms/:id', admin, validate({ params: idParams }), async (_req, res) => {
    await lti.removePlatform((res.locals.params as z.infer<typeof idParams>).id);
    res.status(204).end();
  });

  router.post('/admin/lti/registration-links', admin, async (_req, res) => {
    const body: LtiRegistrationLinkResponse = await lti.registration.link();
    res.status(201).json(body);
  });

  return router;
}
