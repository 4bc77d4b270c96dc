import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { CheckRepository, type CheckRun, type StoredReport } from '../../server/db/checks.ts';
import type { Db } from '../../server/db/database.ts';
import { LearnerRepository } from '../../server/db/learners.ts';
import { ReplicaRepository } from '../../server/db/replicas.ts';
import { DIALECTS, testDatabases } from '../helpers/databases.ts';

/**
 * The replicas' heartbeats and the check runs they own, on both databases: a run is ended as an
 * error only when its owner is gone (no row, or no beat within the time, by the database's clock).
 */

const databases = testDatabases();

interface Report extends StoredReport {
  note: string;
}

describe.each(DIALECTS)('replica heartbeats on %s', (dialect) => {
  let db: Db;
  let replicas: ReplicaRepository;
  let checks: CheckRepository<Report>;
  let learnerId: string;
  beforeAll(async () => {
    db = await databases.open(dialect);
    replicas = new ReplicaRepository(db);
    checks = new CheckRepository<Report>(db);
    learnerId = (await new LearnerRepository(db).createGuest()).learner.id;
  });

  const start = (id: string, replicaId: string | null) => checks.start({ id, learnerId, canonicalId: 'L1', lesson: 'pods', exercise: null, namespace: `ns-${id}`, startedAt: new Date().toISOString(), replicaId });
  const status = async (id: string) => (await checks.get(id, learnerId))?.status;
  const seen: CheckRun<Report>[] = [];
  const report = (run: CheckRun<Report>): Report => {
    seen.push(run);
    return { exercises: [], note: `ended ${run.id}` };
  };

  it("records a beat in the database's clock and keeps when the replica started", async () => {
    const before = Date.now();
    await replicas.beat('r-clock');
    const first = await replicas.get('r-clock');
    expect(first?.heartbeatAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    // Same host, so the database's clock and ours agree to well within a second.
    expect(Math.abs(Date.parse(first?.heartbeatAt ?? '') - before)).toBeLessThan(2000);
    await sleep(20);
    await replicas.beat('r-clock');
    const second = await replicas.get('r-clock');
    expect(second?.startedAt).toBe(first?.startedAt);
    expect(second?.heartbeatAt && first?.heartbeatAt && second.heartbeatAt > first.heartbeatAt).toBe(true);
    await replicas.remove('r-clock');
    expect(await replicas.get('r-clock')).toBeUndefined();
  });

  it('ends the runs of replicas that stopped beating, unknown ones and unowned ones, and spares the living', async () => {
    await replicas.beat('r-dead');
    await start('run-dead', 'r-dead');
    await start('run-unknown', 'r-never-seen');
    await start('run-unowned', null);
    await sleep(600);
    await replicas.beat('r-live');
    await start('run-live', 'r-live');
    await start('run-done', 'r-dead');
    await checks.finish('run-done', learnerId, 'L1', { exercises: [], note: 'finished' }, 'passed');

    seen.length = 0;
    const abandoned = await checks.abandon({ aliveWithinMs: 300 }, report);
    expect(abandoned.map((r) => r.id).sort()).toEqual(['run-dead', 'run-unknown', 'run-unowned']);
    for (const run of abandoned) {
      expect(run).toMatchObject({ status: 'error', learnerId, namespace: `ns-${run.id}`, report: { note: `ended ${run.id}` } });
      expect(run.finishedAt).not.toBeNull();
      expect(await checks.get(run.id, learnerId)).toMatchObject({ status: 'error', finishedAt: run.finishedAt, report: { note: `ended ${run.id}` } });
    }
    // The report is made from the run as it ends.
    expect(seen.map((r) => [r.id, r.status, r.lesson])).toEqual(expect.arrayContaining([['run-dead', 'error', 'pods']]));
    expect(await status('run-live')).toBe('running');
    expect(await status('run-done')).toBe('passed');
    // Ended once: a second sweep finds nothing.
    expect(await checks.abandon({ aliveWithinMs: 300 }, report)).toEqual([]);

    // Once the live replica's beat is older than the time too, its run goes the same way.
    await sleep(600);
    expect((await checks.abandon({ aliveWithinMs: 300 }, report)).map((r) => r.id)).toEqual(['run-live']);
    await replicas.beat('r-live');
  });

  it("sparing one replica (SQLite's start) ends every other run, a live replica's too", async () => {
    await replicas.beat('r-me');
    await replicas.beat('r-other');
    await start('run-mine', 'r-me');
    await start('run-other', 'r-other');
    await start('run-nobody', null);
    expect((await checks.abandon({ replica: 'r-me' }, report)).map((r) => r.id).sort()).toEqual(['run-nobody', 'run-other']);
    expect(await status('run-mine')).toBe('running');
  });

  it('forgets the rows of replicas that stopped beating, and a forgotten replica that beats again is back', async () => {
    await replicas.beat('r-old');
    await sleep(600);
    await replicas.beat('r-young');
    expect(await replicas.forget(300)).toBeGreaterThanOrEqual(1);
    expect(await replicas.get('r-old')).toBeUndefined();
    expect(await replicas.get('r-young')).toBeDefined();
    await replicas.beat('r-old');
    expect(await replicas.get('r-old')).toBeDefined();
  });
});
