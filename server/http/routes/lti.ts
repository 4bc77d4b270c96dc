import { Router, type Response } from 'express';
import { z } from 'zod';
import type { Learner } from '../../db/learners.ts';
import { Unauthenticated } from '../../errors.ts';
import { DNS_LABEL, lessonSlug } from '../../fields.ts';
import type { LtiService } from '../../lti/service.ts';
import type { DeepLinkChoiceRequest, LtiPlatformCreateRequest, LtiRegistrationLinkResponse } from '../../protocol-lti.ts';
import { currentLearner, learnerOf, type sessionMiddleware } from '../session.ts';
import { validate } from '../validate.ts';

const url = z.url({ error: 'must be an absolute URL such as https://lms.example.edu/…' }).max(2000);
const text = (max: number) => z.string({ error: 'must be a string' }).trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);
const platformBody = z.strictObject({
  name: text(120),
  issuer: url,
  clientId: text(255),
  deployments: z.array(text(255), { error: 'must be a list of deployment ids' }).min(1, 'needs at least one deployment id').max(50),
  authUrl: url,
  tokenUrl: url,
  jwksUrl: url,
  tokenAudience: text(2000).optional(),
  frameOrigins: z.array(url, { error: 'must be a list of origins such as https://school.instructure.com' }).max(20).optional(),
}) satisfies z.ZodType<LtiPlatformCreateRequest>;
const idParams = z.object({ id: z.uuid('must be an id') });
const choiceBody = z.strictObject({
  items: z
    .array(z.strictObject({ lesson: lessonSlug('must be a lesson slug'), exercise: z.string().regex(DNS_LABEL, 'must be an exercise id').nullable().optional() }), { error: 'must be a list of lessons and exercises' })
    .min(1, 'pick at least one lesson or exercise')
    .max(50, 'may hold at most 50 items'),
}) satisfies z.ZodType<DeepLinkChoiceRequest>;

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

  router.post('/lti/deep-links/:id', validate({ params: idParams, body: choiceBody }), async (req, res) => {
    const { id } = res.locals.params as z.infer<typeof idParams>;
    const items = (req.body as z.infer<typeof choiceBody>).items.map((i) => ({ lesson: i.lesson, exercise: i.exercise ?? null }));
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

  router.post('/admin/lti/platforms', admin, validate({ body: platformBody }), async (req, res) => {
    const body = req.body as z.infer<typeof platformBody>;
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
