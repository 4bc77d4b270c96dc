import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CoordinationV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { call } from '../../server/cluster/api.ts';
import { RawClient } from '../../server/cluster/raw.ts';
import type { SandboxView } from '../../server/protocol.ts';
import type { SandboxEvent } from '../../server/sandboxes/service.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { adminKubeConfig, eventually, uniqueName } from '../helpers/cluster.ts';
import { browser } from '../helpers/http.ts';

/**
 * Two replicas of the platform on one cluster and one database file, as the chart runs them:
 * exactly one holds the leader Lease and does the once-per-cluster work (here the reaper); when
 * it closes, as a replica does in a rolling update, it releases the Lease and the other takes
 * over within the lease duration.
 */

const LEASE = uniqueName('kubedojo-leader-it');
let admin: KubeConfig;
let dataDir: string;
const replicas: TestServer[] = [];
const reaped = new Map<TestServer, string[]>();

function watchReaps(server: TestServer): void {
  const mine: string[] = [];
  reaped.set(server, mine);
  server.parts.sandboxes.on('event', (event: SandboxEvent) => {
    if (event.type === 'deleted' && event.reason === 'expired') mine.push(event.namespace);
  });
}

async function replica(): Promise<TestServer> {
  const server = await startTestServer({ kubeconfig: inject('kubeconfig'), dataDir, reapInterval: 1, warmPool: 1 }, { lease: { name: LEASE } });
  replicas.push(server);
  watchReaps(server);
  return server;
}

const leaders = () => replicas.filter((r) => r.platform.leader.leading);

async function holder(): Promise<string | undefined> {
  const lease = await call(() => admin.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: LEASE, namespace: 'kube-system' }));
  return lease.ok ? lease.value.spec?.holderIdentity : undefined;
}

/** A learner's sandbox, made through `via`, then expired behind the platform's back. */
async function expiredSandbox(via: TestServer): Promise<string> {
  const learner = browser(() => via.url);
  const made = await learner('POST', '/api/sandboxes', { lesson: 'kubernetes-fundamentals' });
  expect(made.status, made.text).toBe(201);
  const { namespace } = made.json as SandboxView;
  const expired = await new RawClient(admin).mergePatch({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, annotations: { 'kubedojo.dev/expires-at': new Date(Date.now() - 1000).toISOString() } } });
  expect(expired.ok).toBe(true);
  return namespace;
}

async function poolAvailable(): Promise<string[]> {
  const list = await admin.makeApiClient(CoreV1Api).listNamespace({ labelSelector: 'kubedojo.dev/pool=available' });
  return list.items.filter((n) => !n.metadata?.deletionTimestamp).map((n) => n.metadata?.name ?? '');
}

async function gone(namespace: string): Promise<void> {
  const core = admin.makeApiClient(CoreV1Api);
  await eventually(async () => {
    const ns = await call(() => core.readNamespace({ name: namespace }));
    return !ns.ok || ns.value.status?.phase === 'Terminating' ? true : undefined;
  }, `${namespace} reaped`, 60_000, 200);
}

beforeAll(async () => {
  admin = adminKubeConfig(inject('kubeconfig'));
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-replicas-'));
  await replica();
  await replica();
}, 120_000);

afterAll(async () => {
  for (const r of replicas) await r.close();
  for (const name of await poolAvailable()) await call(() => admin.makeApiClient(CoreV1Api).deleteNamespace({ name }));
  await fs.rm(dataDir, { recursive: true, force: true });
  await call(() => admin.makeApiClient(CoordinationV1Api).deleteNamespacedLease({ name: LEASE, namespace: 'kube-system' }));
});

describe('two replicas, one leader', () => {
  let first: TestServer;

  it('elects exactly one, named in the Lease and in its metrics', async () => {
    await eventually(() => (leaders().length === 1 ? true : undefined), 'a leader', 30_000, 100);
    // Never two at once, while both renew and retry for a while.
    for (let i = 0; i < 40; i += 1) {
      expect(leaders().length).toBe(1);
      await new Promise((r) => setTimeout(r, 100));
    }
    [first] = leaders() as [TestServer];
    expect(await holder()).toBe(first.platform.leader.identity);
    const follower = replicas.find((r) => r !== first);
    expect(await (await fetch(`${first.url}/metrics`)).text()).toMatch(/^kubedojo_leader 1$/m);
    expect(await (await fetch(`${follower?.url ?? ''}/metrics`)).text()).toMatch(/^kubedojo_leader 0$/m);
  });

  it('fills the warm pool on the leader; a follower hands a learner a pool sandbox, and the leader makes up for it', async () => {
    const follower = replicas.find((r) => r !== first);
    if (!follower) throw new Error('no follower');
    const ready = await eventually(async () => {
      const pool = await poolAvailable();
      return pool.length >= 1 ? pool : undefined;
    }, 'a warm pool sandbox', 60_000, 250);
    const learner = browser(() => follower.url);
    const made = await learner('POST', '/api/sandboxes', { lesson: 'kubernetes-fundamentals' });
    expect(made.status, made.text).toBe(201);
    const { namespace } = made.json as SandboxView;
    expect(ready).toContain(namespace);
    // The follower never fills; the leader sees the claim at its next reap tick and refills.
    await eventually(async () => ((await poolAvailable()).some((n) => n !== namespace) ? true : undefined), 'the pool refilled', 60_000, 250);
    expect(await learner('DELETE', `/api/sandboxes/${namespace}`)).toMatchObject({ status: 204 });
  });

  it('reaps an expired sandbox once, on the leader, whichever replica made it', async () => {
    const follower = replicas.find((r) => r !== first);
    if (!follower) throw new Error('no follower');
    const namespace = await expiredSandbox(follower);
    await gone(namespace);
    await eventually(() => (reaped.get(first)?.includes(namespace) ? true : undefined), 'the leader to report the reap', 30_000, 100);
    // A few more reaper ticks: the follower never reaps, the leader did it once.
    await new Promise((r) => setTimeout(r, 2500));
    expect(reaped.get(first)?.filter((n) => n === namespace)).toEqual([namespace]);
    expect(reaped.get(follower)).not.toContain(namespace);
  });

  it('hands over when the leader closes: the other replica leads within the lease duration and reaps', async () => {
    const next = replicas.find((r) => r !== first);
    if (!next) throw new Error('no follower');
    const closed = Date.now();
    await first.close();
    replicas.splice(replicas.indexOf(first), 1);
    await eventually(() => (next.platform.leader.leading ? true : undefined), 'the other replica to lead', 15_000, 100);
    // Released, so it did not wait out the duration: one retry period or so.
    expect(Date.now() - closed).toBeLessThan(15_000);
    expect(await holder()).toBe(next.platform.leader.identity);
    const namespace = await expiredSandbox(next);
    await gone(namespace);
    // The reaper says so once it has removed the sandbox's cluster-wide objects too.
    await eventually(() => (reaped.get(next)?.includes(namespace) ? true : undefined), 'the new leader to report the reap', 30_000, 100);
    expect(reaped.get(next)?.filter((n) => n === namespace)).toEqual([namespace]);
  });

  it('a replica that joins later follows the leader', async () => {
    const late = await replica();
    await new Promise((r) => setTimeout(r, 3000));
    expect(late.platform.leader.leading).toBe(false);
    expect(leaders().length).toBe(1);
  });
});
