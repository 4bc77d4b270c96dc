import { Router } from 'express';
import { z } from 'zod';
import type { AuthService } from '../../auth/auth-service.ts';
import type { Learner, LearnerRepository } from '../../db/learners.ts';
import { Forbidden, NotFound } from '../../errors.ts';
import {
  accountCreateRequestSchema,
  loginRequestSchema,
  registerRequestSchema,
  roleUpdateRequestSchema,
  setupRequestSchema,
  type AccountCreateRequest,
  type AccountListResponse,
  type LearnerView,
  type LoginRequest,
  type RegisterRequest,
  type RoleUpdateRequest,
  type SessionResponse,
  type SetupRequest,
} from '../../protocol-auth.ts';
import { clearSession, learnerOf, sessionTokenOf, setSession, type sessionMiddleware } from '../session.ts';
import { validate } from '../validate.ts';
import { addressKey, clientAddress, type EdgeLimits } from '../rate-limits.ts';

const idParams = z.object({ id: z.uuid('must be an account id') });

export function learnerView(learner: Learner): LearnerView {
  return { id: learner.id, displayName: learner.displayName, kind: learner.kind, role: learner.role, username: learner.username, workshopId: learner.workshopId };
}

/** Sign-in, sign-up, sign-out, the first admin, and the admin's account list. */
export function authRoutes(deps: { auth: AuthService; learners: LearnerRepository; session: ReturnType<typeof sessionMiddleware>; registration: boolean; limits: EdgeLimits }): Router {
  const router = Router();
  const { auth, learners, session } = deps;

  router.get('/session', async (_req, res) => {
    const learner = learnerOf(res);
    const body: SessionResponse = { learner: learner ? learnerView(learner) : null, setupNeeded: !(await learners.hasAdmin()), registration: deps.registration };
    res.setHeader('Cache-Control', 'no-store');
    res.json(body);
  });

  router.post('/auth/login', validate({ body: loginRequestSchema }), async (req, res) => {
    const body = req.body as LoginRequest;
    const { learner, token } = await auth.login(body.username, body.password, addressKey(clientAddress(req)));
    const previous = sessionTokenOf(req);
    if (previous) await learners.endSession(previous);
    setSession(req, res, learner, token);
    res.json(learnerView(learner));
  });

  router.post('/auth/register', validate({ body: registerRequestSchema }), async (req, res) => {
    if (!deps.registration) throw new Forbidden('sign-up is closed on this kubedojo; ask an admin for an account');
    await deps.limits.take([['signups', addressKey(clientAddress(req))]]);
    const body = req.body as RegisterRequest;
    const current = learnerOf(res);
    const { learner, token } = await auth.register({ username: body.username, password: body.password, displayName: body.displayName ?? body.username, fromGuest: current?.kind === 'guest' ? current.id : undefined });
    const previous = sessionTokenOf(req);
    if (previous) await learners.endSession(previous);
    setSession(req, res, learner, token);
    res.status(201).json(learnerView(learner));
  });

  router.post('/auth/setup', validate({ body: setupRequestSchema }), async (req, res) => {
    const body = req.body as SetupRequest;
    const { learner, token } = await auth.setup({ token: body.token, username: body.username, password: body.password, displayName: body.displayName ?? body.username });
    setSession(req, res, learner, token);
    res.status(201).json(learnerView(learner));
  });

  router.post('/auth/logout', async (req, res) => {
    const token = sessionTokenOf(req);
    if (token) await learners.endSession(token);
    clearSession(req, res);
    res.status(204).end();
  });

  router.get('/admin/accounts', session.requireRole('admin'), async (_req, res) => {
    const body: AccountListResponse = { accounts: (await learners.accounts()).map((a) => ({ ...learnerView(a), createdAt: a.createdAt })) };
    res.json(body);
  });

  router.post('/admin/accounts', session.requireRole('admin'), validate({ body: accountCreateRequestSchema }), async (req, res) => {
    const body = req.body as AccountCreateRequest;
    const { learner } = await auth.register({ username: body.username, password: body.password, displayName: body.displayName ?? body.username, role: body.role });
    res.status(201).json(learnerView(learner));
  });

  router.put('/admin/accounts/:id/role', session.requireRole('admin'), validate({ params: idParams, body: roleUpdateRequestSchema }), async (req, res) => {
    const { id } = res.locals.params as z.infer<typeof idParams>;
    if (id === learnerOf(res)?.id) throw new Forbidden('you cannot change your own role');
    if (!(await learners.setRole(id, (req.body as RoleUpdateRequest).role))) throw new NotFound(`there is no account ${id}`);
    const updated = await learners.byId(id);
    if (!updated) throw new NotFound(`there is no account ${id}`);
    res.json(learnerView(updated));
  });

  return router;
}
