import { Router } from 'express';
import type { ClusterConnection } from '../../cluster/connection.ts';
import { databaseReady, type Db } from '../../db/database.ts';
import type { HealthResponse, ReadyResponse } from '../../protocol.ts';

/** /healthz: the process serves. /readyz: the database and the cluster answer too. */
export function healthRoutes(deps: { db: Db; cluster: ClusterConnection }): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    const body: HealthResponse = { status: 'ok' };
    res.json(body);
  });
  router.get('/readyz', async (_req, res) => {
    const database = await databaseReady(deps.db);
    const ping = await deps.cluster.ping(2000);
    const body: ReadyResponse = {
      status: database.ok && ping.ok ? 'ready' : 'not-ready',
      checks: {
        database: database.ok ? { ok: true } : { ok: false, message: database.message },
        cluster: ping.ok ? { ok: true } : { ok: false, message: ping.error.message },
      },
    };
    res.status(body.status === 'ready' ? 200 : 503).json(body);
  });
  return router;
}
