import { Router } from 'express';
import type { ClusterConnection } from '../../cluster/connection.ts';
import type { Instance } from '../../db/instance.ts';
import type { ClusterInfoResponse, InstanceResponse } from '../../protocol.ts';
import { learnerOf } from '../session.ts';

/** What the first page shows: which cluster this kubedojo is connected to, and its shape. */
export function clusterRoutes(deps: { cluster: ClusterConnection; instance: () => Promise<Instance>; version: string }): Router {
  const router = Router();
  router.get('/cluster', async (_req, res) => {
    const described = deps.cluster.describe();
    const summary = await deps.cluster.summary();
    // Where the API server listens is the operator's business: admins see it, visitors do not.
    const admin = learnerOf(res)?.role === 'admin';
    const body: ClusterInfoResponse = {
      kind: described.kind,
      reason: described.reason,
      server: admin ? described.server : null,
      context: admin ? described.context : null,
      reachable: summary.ok,
      problem: summary.ok ? null : summary.error.message,
      version: summary.ok ? summary.value.version : null,
      nodes: summary.ok ? summary.value.nodes : null,
    };
    res.json(body);
  });
  router.get('/instance', async (_req, res) => {
    const body: InstanceResponse = { ...(await deps.instance()), version: deps.version };
    res.json(body);
  });
  return router;
}
