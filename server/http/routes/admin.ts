import { Router } from 'express';
import { z } from 'zod';
import { namespaceName } from '../../fields.ts';
import type { AdminSandboxListResponse, ReapResponse } from '../../protocol.ts';
import type { SandboxService } from '../../sandboxes/service.ts';
import { sandboxView } from '../../sandboxes/view.ts';
import type { TerminalManager } from '../../terminal/manager.ts';
import type { CapacityProbe } from '../capacity.ts';
import type { sessionMiddleware } from '../session.ts';
import { validate } from '../validate.ts';

const namespaceParams = z.object({ namespace: namespaceName('must be a namespace name') });

/** For the platform's admins: how full it is, and a reap on demand (it also runs on a timer). */
export function adminRoutes(deps: { sandboxes: Pick<SandboxService, 'reap' | 'list' | 'delete' | 'realNode'>; terminals: Pick<TerminalManager, 'openAmong'>; probe: CapacityProbe; session: ReturnType<typeof sessionMiddleware> }): Router {
  const router = Router();
  const admin = deps.session.requireRole('admin');

  router.get('/admin/capacity', admin, async (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json(await deps.probe.snapshot());
  });

  // Every learner's sandbox, newest first: who, which lesson or workshop, how long it has left.
  router.get('/admin/sandboxes', admin, async (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    const realNode = await deps.sandboxes.realNode();
    const all = (await deps.sandboxes.list()).reverse();
    // Open on any replica, not only this one (open-terminals.ts).
    const open = await deps.terminals.openAmong(all.map((s) => s.namespace));
    const body: AdminSandboxListResponse = {
      sandboxes: all.map((s) => ({ ...sandboxView(s, realNode), learnerName: s.learnerName, workshop: s.workshop, lastActivity: s.lastActivity, terminalOpen: open.has(s.namespace) })),
    };
    res.json(body);
  });

  router.delete('/admin/sandboxes/:namespace', validate({ params: namespaceParams }), admin, async (_req, res) => {
    const { namespace } = res.locals.params as z.infer<typeof namespaceParams>;
    await deps.sandboxes.delete(namespace, { wait: false, reason: 'deleted by an admin' });
    deps.probe.invalidate();
    res.status(204).end();
  });

  router.post('/admin/reap', admin, async (_req, res) => {
    const reaped = await deps.sandboxes.reap();
    deps.probe.invalidate();
    const body: ReapResponse = { reaped };
    res.json(body);
  });

  return router;
}
