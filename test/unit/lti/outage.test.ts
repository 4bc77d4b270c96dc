import { EventEmitter } from 'node:events';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../../server/cluster/paths.ts';
import { openDatabase, type Db } from '../../../server/db/database.ts';
import { LearnerRepository } from '../../../server/db/learners.ts';
import { ScoreQueueRepository } from '../../../server/db/lti-queue.ts';
import { WorkshopRepository } from '../../../server/db/workshops.ts';
import { loadLibrary } from '../../../server/lessons/library.ts';
import type { Library } from '../../../server/lessons/types.ts';
import { silentLogger } from '../../../server/logger.ts';
import { scoreMaximum } from '../../../server/lti/passback.ts';
import { LtiService } from '../../../server/lti/service.ts';
import { startTestServer, type TestServer } from '../../helpers/app.ts';
import { ManualClock } from '../../helpers/lti/clock.ts';
import { asLaunched, connectedPlatform, course, launch } from '../../helpers/lti/launch.ts';
import type { MockPlatform } from '../../helpers/lti/mock-platform.ts';

/**
 * The LMS is down for five minutes while 100 scores are produced (10 learners × 10 quiz answers);
 * kubedojo restarts before it comes back. Afterwards every score is delivered, in order, once.
 * The mock LMS really refuses connections (its port is closed); only the waiting is skipped: the
 * backoff runs on a clock this test moves (`ManualClock`). Prints its figures; run it with
 *   sh server/bin/with-node.sh npx vitest run --project unit test/unit/lti/outage.test.ts
 */

const LESSON = 'kubernetes-fundamentals';
const OUTAGE_MS = 5 * 60_000;
let server: TestServer;
let mock: MockPlatform;
let library: Library;
let clock: ManualClock;
let db2: Db | undefined;
let restarted: LtiService | undefined;

beforeAll(async () => {
  clock = new ManualClock();
  server = await startTestServer({ cluster: 'embedded', clusterUp: false, ltiAllowHttp: true }, { ltiClock: clock });
  ({ mock } = await connectedPlatform(server.url, server.services.lti));
  library = await loadLibrary(path.join(projectRoot, 'lessons'));
});

afterAll(async () => {
  await restarted?.stop();
  await db2?.destroy();
  await mock.close();
  await server.close();
});

/** Moves the clock in one-second steps, letting each pass of the queue finish (real network calls). */
async function pass(ms: number, queue: LtiService['queue'], until?: () => Promise<boolean>): Promise<void> {
  for (let spent = 0; spent < ms && !((await until?.()) ?? false); spent += 1000) {
    clock.advance(1000);
    await queue.idle();
  }
}

describe('an LMS outage', () => {
  it('loses nothing: 100 scores made while it is down for 5 minutes arrive afterwards, in order, once each', async () => {
    const lesson = library.bySlug.get(LESSON);
    if (!lesson || lesson.quiz.length < 10) throw new Error('the lesson needs 10 quiz questions');
    const max = scoreMaximum(lesson, null);
    const subs = Array.from({ length: 10 }, (_, i) => `learner-${i}`);
    const { link, lineItem } = course(mock, 'big', { lesson: LESSON, scoreMaximum: max, teacher: 'teacher', learners: subs });
    const sessions = await Promise.all(subs.map(async (sub) => ({ sub, as: asLaunched(server.url, (await launch(server.url, mock, sub, { link: link.id })).token) })));
    const queue = server.services.lti.queue;

    await mock.down();
    const outageStart = clock.now();
    const attemptsBefore = queue.stats.attempts;
    // 100 results change while the LMS is unreachable, spread over the first 50 s of the outage.
    for (let q = 0; q < 10; q += 1) {
      for (const s of sessions) {
        const answered = await s.as('POST', `/api/lessons/${LESSON}/quiz/${lesson.quiz[q]?.id ?? ''}/answer`, { choice: lesson.quiz[q]?.answer ?? '' });
        expect(answered.status).toBe(200);
        await queue.idle();
      }
      await pass(5000, queue);
    }
    await pass(OUTAGE_MS - (clock.now() - outageStart), queue);
    const attemptsDuringOutage = queue.stats.attempts - attemptsBefore;
    // A second connection to the same database, as a restarted kubedojo would open.
    db2 = await openDatabase({ dialect: 'sqlite', file: path.join(server.dataDir, 'kubedojo.db') });
    expect(await new ScoreQueueRepository(db2).counts()).toEqual({ pending: 100, delivered: 0, failed: 0 });
    expect(mock.received.scores).toEqual([]);
    // It really was the network: connections to the LMS were refused.
    const failed = await db2.selectFrom('lti_score_queue').select('last_error').where('last_error', 'is not', null).limit(1).executeTakeFirst();
    expect(failed?.last_error).toMatch(/could not be reached.*ECONNREFUSED/);
    // One attempt per backoff step for the whole platform, not one per score.
    expect(attemptsDuringOutage).toBeLessThan(20);

    // kubedojo restarts (a new queue on a new database connection: only the database carries the scores), then the LMS returns.
    await server.services.lti.stop();
    restarted = new LtiService({ db: db2, library, learners: new LearnerRepository(db2), workshops: new WorkshopRepository(db2), grading: new EventEmitter(), lessons: new EventEmitter(), logger: silentLogger(), baseUrl: () => server.url, keyRotationDays: 90, allowHttp: true, clock });
    const outage = clock.now() - outageStart;
    await mock.up();
    const back = performance.now();
    const clockBack = clock.now();
    restarted.start();
    await restarted.queue.idle();
    const reopened = db2;
    await pass(120_000, restarted.queue, async () => (await new ScoreQueueRepository(reopened).counts()).pending === 0);
    const drainMs = performance.now() - back;

    expect(await new ScoreQueueRepository(db2).counts()).toEqual({ pending: 0, delivered: 100, failed: 0 });
    const received = mock.scoresOf(lineItem.id);
    expect(received).toHaveLength(100);
    expect(mock.received.rejectedScores).toEqual([]);
    expect(new Set(received.map((s) => `${s.userId}/${s.scoreGiven}`)).size).toBe(100);
    for (const sub of subs) {
      const mine = mock.scoresOf(lineItem.id, sub);
      expect(mine.map((s) => s.scoreGiven)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(mine.map((s) => Date.parse(s.timestamp))).toEqual(mine.map((s) => Date.parse(s.timestamp)).sort((a, b) => a - b));
      expect(mine.at(-1)).toMatchObject({ scoreMaximum: max, activityProgress: 'InProgress', gradingProgress: 'FullyGraded' });
    }
    console.log(
      `LTI outage: 100 scores produced while the LMS refused connections for ${Math.round(outage / 1000)} s (driven clock); ` +
        `${attemptsDuringOutage} delivery attempts during the outage (backoff 1 s → 60 s, per platform); after a restart and the LMS's return, ` +
        `all 100 delivered in order, once each, ${Math.round((clock.now() - clockBack) / 1000)} s of backoff later on the clock, in ${Math.round(drainMs)} ms of real time ` +
        `(${mock.received.tokenRequests.length} token requests in all).`,
    );
  });
});
