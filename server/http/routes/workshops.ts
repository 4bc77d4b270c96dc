import { Router } from 'express';
import { z } from 'zod';
import type { RecordingStore } from '../../terminal/recorder.ts';
import {
  broadcastRequestSchema,
  extendRequestSchema,
  joinRequestSchema,
  workshopCreateRequestSchema,
  type BroadcastRequest,
  type ExtendRequest,
  type JoinRequest,
  type JoinResponse,
  type WorkshopCreateRequest,
  type WorkshopListResponse,
} from '../../protocol-workshops.ts';
import { learnerKey } from '../../sandboxes/names.ts';
import { sandboxView } from '../../sandboxes/view.ts';
import type { WorkshopService } from '../../workshops/service.ts';
import { learnerView } from './auth.ts';
import { recordingView } from './recordings.ts';
import { currentLearner, setSession, sessionTokenOf, type sessionMiddleware } from '../session.ts';
import { validate } from '../validate.ts';
import { clientAddress, type EdgeLimits } from '../rate-limits.ts';
import { NotFound } from '../../errors.ts';
import type { LearnerRepository } from '../../db/learners.ts';
import { namespaceName } from '../../fields.ts';

const idParams = z.object({ id: z.uuid('must be a workshop id') });
const sandboxParams = z.object({ id: z.uuid('must be a workshop id'), namespace: namespaceName('must be a namespace name') });
const participantParams = z.object({ id: z.uuid('must be a workshop id'), learnerId: z.uuid('must be a participant id') });
const resultsQuery = z.object({ format: z.enum(['json', 'csv'], { error: 'must be json or csv' }).optional() });

/** Instructors run workshops; participants join with a code. Handlers only translate HTTP. */
export function workshopRoutes(deps: { workshops: WorkshopService; learners: LearnerRepository; recordings: RecordingStore; session: ReturnType<typeof sessionMiddleware>; limits: EdgeLimits }): Router {
  const router = Router();
  const { workshops, session } = deps;
  const instructor = session.requireRole('instructor');

  router.post('/join', validate({ body: joinRequestSchema }), async (req, res) => {
    const body = req.body as JoinRequest;
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

  router.post('/workshops', instructor, validate({ body: workshopCreateRequestSchema }), async (req, res) => {
    res.status(201).json(await workshops.create(currentLearner(res), req.body as WorkshopCreateRequest));
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

  router.post('/workshops/:id/broadcast', instructor, validate({ params: idParams, body: broadcastRequestSchema }), async (req, res) => {
    const { id } = res.locals.params as z.infer<typeof idParams>;
    res.status(201).json(await workshops.broadcast(id, currentLearner(res), (req.body as BroadcastRequest).text));
  });

  router.post('/workshops/:id/end', instructor, validate({ params: idParams }), async (_req, res) => {
    const { id } = res.locals.params as z.infer<typeof idParams>;
    res.json(await workshops.end(id, currentLearner(res)));
  });

  router.post('/workshops/:id/sandboxes/:namespace/reset', instructor, validate({ params: sandboxParams }), async (_req, res) => {
    const { id, namespace } = res.locals.params as z.infer<typeof sandboxParams>;
    res.json(await workshops.resetSandbox(id, currentLearner(res), namespace));
  });

  router.post('/workshops/:id/sandboxes/:namespace/extend', instructor, validate({ params: sandboxParams, body: extendRequestSchema }), async (req, res) => {
    const { id, namespace } = res.locals.params as z.infer<typeof sandboxParams>;
    res.json(await workshops.extendSandbox(id, currentLearner(res), namespace, (req.body as ExtendRequest).minutes));
  });

  router.get('/workshops/:id/participants/:learnerId/recordings', instructor, validate({ params: participantParams }), async (_req, res) => {
    const { id, learnerId } = res.locals.params as z.infer<typeof participantParams>;
    const participant = await workshops.participant(id, currentLearner(res), learnerId);
    res.json({ recordings: (await deps.recordings.byLearner(learnerKey(participant.id))).map(recordingView) });
  });

  return router;
}
