import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckRepository } from '../../server/db/checks.ts';
import { ReplicaRepository } from '../../server/db/replicas.ts';
import { ABANDONED_NOTE, type GradingEvent } from '../../server/grading/service.ts';
import type { GradeReport } from '../../server/grading/types.ts';
import type { CheckRunView } from '../../server/protocol.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { eventually } from '../helpers/cluster.ts';
import { testDatabases } from '../helpers/databases.ts';

/**
 * Replicas on one real PostgreSQL, each beating every 200 ms (gone after 600 ms without a beat):
 * a replica's start leaves the checks a live replica is grading alone, and the sweep ends those
 * of a replica that stopped beating, as errors that say so, and tells the learner through
 * whichever replica serves them. Each server here is on the embedded cluster (not started), so
 * each leads alone and sweeps; the conditional write ends a run once however many sweep.
 */

const HEARTBEAT_MS = 200;
const databases = testDatabases();
let flags: { cluster: 'embedded'; clusterUp: false; databaseUrl: string };
let a: TestServer;
let b: TestServer | undefined;
const servers: TestServer[] = [];
const sockets: Socket[] = [];
const events: GradingEvent[] = [];
/** The learner of the run A grades throughout. */
let ownerOfRunOfA = '';

async function replica(): Promise<TestServer> {
  const server = await startTestServer(flags, { heartbeatMs: HEARTBEAT_MS });
  servers.push(server);
  server.services.grading.on('event', (event) => events.push(event));
  return server;
}

beforeAll(async () => {
  const target = await databases.target('postgres');
  if (target.dialect !== 'postgres') throw new Error('unreachable');
  flags = { cluster: 'embedded', clusterUp: false, databaseUrl: target.url };
  a = await replica();
});

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await Promise.all(servers.map((s) => s.close()));
});

const checksOf = (server: TestServer) => new CheckRepository<GradeReport>(server.platform.db);

/** A running check as GradingService.start stores it, owned by `replicaId`. */
async function running(server: TestServer, learnerId: string, id: string, replicaId: string): Promise<void> {
  await checksOf(server).start({ id, learnerId, canonicalId: 'pods', lesson: 'pods', exercise: null, namespace: `kd-${id}`, startedAt: new Date().toISOString(), replicaId });
}

const statusOf = async (server: TestServer, id: string, learnerId: string) => (await checksOf(server).get(id, learnerId))?.status;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('check runs across replicas on one PostgreSQL', () => {
  it("survive another replica's start while their replica is alive", async () => {
    const { learner } = await a.services.learners.createGuest();
    ownerOfRunOfA = learner.id;
    await running(a, learner.id, 'run-of-a', a.platform.replica.id);
    b = await replica();
    expect(b.platform.replica.id).not.toBe(a.platform.replica.id);
    expect(await statusOf(b, 'run-of-a', learner.id)).toBe('running');
    // Many sweeps later, and well past the time a silent replica would count as gone.
    await sleep(HEARTBEAT_MS * 8);
    expect(await statusOf(b, 'run-of-a', learner.id)).toBe('running');
    expect(await new ReplicaRepository(b.platform.db).get(a.platform.replica.id)).toBeDefined();
  });

  it('of a replica that stopped beating are ended by the sweep, and the learner on another replica hears of it', async () => {
    if (!b) throw new Error('the first test starts b');
    const served = b;
    const { learner, token } = await a.services.learners.createGuest();
    // The learner's page, connected to B; both replicas see its socket (their adapters listen).
    const socket = connect(`${served.url}/live`, { transports: ['websocket'], extraHeaders: { cookie: `kd_session=${token}` }, reconnection: false });
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => {
        resolve();
      });
      socket.once('connect_error', reject);
    });
    for (const server of [a, served]) {
      await eventually(async () => ((await server.app.io.of('/live').in(`learner:${learner.id}`).fetchSockets()).length === 1 ? true : undefined), 'both replicas to see the socket', 15_000);
    }
    const heard = new Promise<CheckRunView>((resolve) => socket.on('check:finished', resolve));

    // A replica that beat once and died (a crash, a killed Pod): its row stays, its beat ages.
    await new ReplicaRepository(a.platform.db).beat('crashed-replica');
    await running(a, learner.id, 'run-of-crashed', 'crashed-replica');
    await sleep(HEARTBEAT_MS);
    expect(await statusOf(a, 'run-of-crashed', learner.id)).toBe('running');

    const ended = await eventually(async () => {
      const run = await checksOf(a).get('run-of-crashed', learner.id);
      return run?.status === 'error' ? run : undefined;
    }, 'the sweep to end the crashed replica\'s run', 10_000, 50);
    expect(ended.report).toMatchObject({ lesson: 'pods', namespace: 'kd-run-of-crashed', passed: false, exercises: [], notes: [ABANDONED_NOTE] });
    expect(ended.finishedAt).not.toBeNull();
    expect(await heard).toMatchObject({ id: 'run-of-crashed', status: 'error', report: { notes: [ABANDONED_NOTE] } });
    // Ended once, though both replicas sweep.
    expect(events.filter((e) => e.type === 'finished' && e.run.id === 'run-of-crashed')).toHaveLength(1);
    // The dead replica is forgotten; the live ones are not, nor is the run of A.
    await eventually(async () => ((await new ReplicaRepository(a.platform.db).get('crashed-replica')) === undefined ? true : undefined), 'the crashed replica forgotten', 5000, 50);
    expect(await statusOf(a, 'run-of-a', ownerOfRunOfA)).toBe('running');
  });

  it('of a replica that shut down cleanly are ended by the next sweep: its row goes with it', async () => {
    const leaving = await replica();
    const id = leaving.platform.replica.id;
    const { learner } = await a.services.learners.createGuest();
    // A run its close could not store (GradingService.stop ends the runs it grades itself).
    await running(a, learner.id, 'run-of-leaving', id);
    await leaving.close();
    servers.splice(servers.indexOf(leaving), 1);
    expect(await new ReplicaRepository(a.platform.db).get(id)).toBeUndefined();
    await eventually(async () => ((await statusOf(a, 'run-of-leaving', learner.id)) === 'error' ? true : undefined), 'the sweep to end the run of the replica that left', 10_000, 50);
  });
});
