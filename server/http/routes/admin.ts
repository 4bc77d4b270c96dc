import { Router } from 'express';
import type { ReapResponse } from '../../protocol.ts';
import type { SandboxService } from '../../sandboxes/service.ts';
import type { CapacityProbe } from '../capacity.ts';
import type { sessionMiddleware } from '../session.ts';

/** For the platform's admins: how full it is, and a reap on demand (it also runs on a timer). */
export function adminRoutes(deps: { sandboxes: Pick<SandboxService, 'reap'>; probe: CapacityProbe; session: ReturnType<typeof sessionMiddleware> }): Router {
  const router = Router();
  const admin = deps.session.requireRole('admin');

  router.get('/admin/capacity', admin, async (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json(await deps.probe.snapshot());
  });

  router.post('/admin/reap', admin, async (_req, res) => {
    const reaped = await deps.sandboxes.reap();
    deps.probe.invalidate();
    const body: ReapResponse = { reaped };
    res.json(body);
  });

  return router;
}
