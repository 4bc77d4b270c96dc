import { Router } from 'express';
import { z } from 'zod';
import type { RecordingStore } from '../../terminal/recorder.ts';
import type { BroadcastRequest, ExtendRequest, JoinRequest, JoinResponse, WorkshopCreateRequest, WorkshopListResponse } from '../../protocol.ts';
import { learnerKey } from '../../sandboxes/names.ts';
import { sandboxView } from '../../sandboxes/view.ts';
import { SIZES } from '../../sandboxes/template.ts';
import type { WorkshopService } from '../../workshops/service.ts';
import { learnerView } from './auth.ts';
import { recordingView } from './recordings.ts';
import { currentLearner, setSession, sessionTokenOf, type sessionMiddleware } from '../session.ts';
import { validate } from '../validate.ts';
import { clientAddress, type EdgeLimits } from '../rate-limits.ts';
import { NotFound } from '../../errors.ts';
import type { LearnerRepository } from '../../db/learners.ts';
import { lessonSlug, namespaceName } from '../../fields.ts';

const slug = lessonSlug('must be a lesson slug');
const isoDate = z.iso.datetime({ offset: true, error: 'must be a date and time such as 2026-12-01T09:00:00Z' });
const createBody = z.strictObject({
  title: z.string({ error: 'must be a string' }).trim().min(1, 'must not be empty').max(120, 'must be at most 120 characters'),
  lessons: z.array(slug, { error: 'must be a list of lesson slugs' }).min(1, 'needs at least one lesson').max(20, 'may hold at most 20 lessons'),
  seats: z.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').max(1000, 'must be at most 1000'),
  startsAt: isoDate,
  endsAt: isoDate,
  sandboxSize: z.enum(SIZES, { error: `must be one of ${SIZES.join(', ')}` }).optional(),
}) satisfies z.ZodType<WorkshopCreateRequest>;
const joinBody = z.strictObject({
  code: z.string({ error: 'must be a string' }).trim().min(4, 'must be a join code such as K7M2-QX9P').max(20, 'must be a join code such as K7M2-QX9P'),
  displayName: z.string({ error: 'must be a string' }).trim().min(1, 'must not be empty').max(60, 'must be at most 60 characters'),
}) satisfies z.ZodType<JoinRequest>;
const broadcastBody = z.strictObject({ text: z.string({ error: 'must be a string' }).trim().min(1, 'must not be empty').max(500, 'must be at most 500 characters') }) satisfies z.ZodType<BroadcastRequest>;
const extendBody = z.strictObject({ minutes: z.number({ error: 'must be a number of minutes' }).int().min(5, 'must be at least 5').max(240, 'must be at most 240') }) satisfies z.ZodType<ExtendRequest>;
const idParams = z.object({ id: z.uuid('must be a workshop id') });
const sandboxParams = z.object({ id: z.uuid('must be a workshop id'), namespace: namespaceName('must be a namespace name') });
const participantParams = z.object({ id: z.uuid('must be a workshop id'), learnerId: z.uuid('must be a participant id') });
const resultsQuery = z.object({ format: z.enum(['json', 'csv'], { error: 'must be json or csv' }).optional() });

/** Instructors run workshops; participants join with a code. Handlers only translate HTTP. */
export function workshopRoutes(deps: { workshops: WorkshopService; learners: LearnerRepository; recordings: RecordingStore; session: ReturnType<typeof sessionMiddleware>; limits: EdgeLimits }): Router {
  const router = Router();
  const { workshops, session } = deps;
  const instructor = session.requireRole('instructor');

  router.post('/join', validate({ body: joinBody }), async (req, res) => {
    const body = req.body as z.infer<typeof joinBody>;
    // Guessing join codes is limited per address; a real code is bounded by its workshop's seats.
    const address = clientAddress(req);
    await deps.limits.checkBadJoins(address);
    const joined = await workshops.join(body.code, body.displayName).catch(async (error: unknown) => {
      if (error instanceof NotFound) await deps.limits.badJoin(address);
      throw error;
    });
    // A participant gets a session of their own; whatever cookie came before is not reused.
    const previous = sessionTokenOf(req);
    if (previous) await deps.learners.endSession(previous);
    setSession(req, res, joined.learner, joined.token);
    const response: JoinResponse = { learner: learnerView(joined.learner), workshop: joined.workshop, sandbox: joined.sandbox ? sandboxView(joined.sandbox, await workshops.realNode()) : null, problem: joined.problem };
    res.status(201).json(response);
  });

  router.get('/workshop', session.requireLearner, async (_req, res) => {
    res.json(await workshops.mine(currentLearner(res)));
  });

  router.get('/workshops', instructor, async (_req, res) => {
    const body: WorkshopListResponse = { workshops: await workshops.list(currentLearner(res)) };
    res.json(body);
  });

  router.post('/workshops', instructor, validate({ body: createBody }), async (req, res) => {
    res.status(201).json(await workshops.create(currentLearner(res), req.body as z.infer<typeof createBody>));
  });

  router.get('/workshops/:id', instructor, validate({ params: idParams }), async (_req, res) => {
    const { id } = res.locals.params as z.infer<typeof idParams>;
    res.json(await workshops.view(await workshops.owned(id, currentLearner(res))));
  });

  router.get('/workshops/:id/grid', instructor, validate({ params: idParams }), async (_req, res) => {
    const { id } = res.locals.params as z.infer<typeof idParams>;
    res.setHeader('Cache-Control', 'no-store');
    res.json(await workshops.grid(id, currentLearner(res)));
  });

  router.get('/workshops/:id/results', instructor, validate({ params: idParams, query: resultsQuery }), async (_req, res) => {
    const { id } = res.locals.params as z.infer<typeof idParams>;
    const { format } = res.locals.query as z.infer<typeof resultsQuery>;
    const results = await workshops.results(id, currentLearner(res));
    const name = `workshop-${results.json.workshop.code}-results`;
    if (format === 'csv') {
      res.type('text/csv').setHeader('Content-Disposition', `attachment; filename="${name}.csv"`).send(results.csv);
      return;
    }
    res.setHeader('Content-Disposition', `attachment; filename="${name}.json"`);
    res.json(results.json);
  });

  router.post('/workshops/:id/broadcast', instructor, validate({ params: idParams, body: broadcastBody }), async (req, res) => {
    const { id } = res.locals.params as z.infer<typeof idParams>;
    res.status(201).json(await workshops.broadcast(id, currentLearner(res), (req.body as z.infer<typeof broadcastBody>).text));
  });

  router.post('/workshops/:id/end', instructor, validate({ params: idParams }), async (_req, res) => {
    const { id } = res.locals.params as z.infer<typeof idParams>;
    res.json(await workshops.end(id, currentLearner(res)));
  });

  router.post('/workshops/:id/sandboxes/:namespace/reset', instructor, validate({ params: sandboxParams }), async (_req, res) => {
    const { id, namespace } = res.locals.params as z.infer<typeof sandboxParams>;
    res.json(await workshops.resetSandbox(id, currentLearner(res), namespace));
  });

  router.post('/workshops/:id/sandboxes/:namespace/extend', instructor, validate({ params: sandboxParams, body: extendBody }), async (req, res) => {
    const { id, namespace } = res.locals.params as z.infer<typeof sandboxParams>;
    res.json(await workshops.extendSandbox(id, currentLearner(res), namespace, (req.body as z.infer<typeof extendBody>).minutes));
  });

  router.get('/workshops/:id/participants/:learnerId/recordings', instructor, validate({ params: participantParams }), async (_req, res) => {
    const { id, learnerId } = res.locals.params as z.infer<typeof participantParams>;
    const participant = await workshops.participant(id, currentLearner(res), learnerId);
    res.json({ recordings: (await deps.recordings.byLearner(learnerKey(participant.id))).map(recordingView) });
  });

  return router;
}
