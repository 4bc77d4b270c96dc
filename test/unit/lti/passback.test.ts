import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../../server/cluster/paths.ts';
import { CheckRepository } from '../../../server/db/checks.ts';
import { openDatabase, type Db } from '../../../server/db/database.ts';
import { ScoreQueueRepository } from '../../../server/db/lti-queue.ts';
import { Forbidden } from '../../../server/errors.ts';
import { loadLibrary } from '../../../server/lessons/library.ts';
import type { Library } from '../../../server/lessons/types.ts';
import { scoreMaximum } from '../../../server/lti/passback.ts';
import type { CheckRunView, GradeReportView, SessionResponse } from '../../../server/protocol.ts';
import { startTestServer, type TestServer } from '../../helpers/app.ts';
import { asLaunched, connectedPlatform, course, launch } from '../../helpers/lti/launch.ts';
import { ROLE, type MockPlatform } from '../../helpers/lti/mock-platform.ts';

/**
 * Grade passback (AGS 2.0) to a mock LMS over real HTTP: quiz answers and check runs become
 * fractional scores on the course's line items, with a client-credentials token that is cached,
 * and never on the gradebook of a course the learner does not belong to.
 */

const LESSON = 'kubernetes-fundamentals';
let server: TestServer;
let mock: MockPlatform;
let library: Library;
let db: Db;
let platformId: string;
let lessonItem: string;
let exerciseItem: string;
let lessonLink: string;
let exerciseLink: string;
let max: number;

beforeAll(async () => {
  server = await startTestServer({ cluster: 'embedded', clusterUp: false, ltiAllowHttp: true });
  ({ mock, platformId } = await connectedPlatform(server.url, server.services.lti));
  library = await loadLibrary(path.join(projectRoot, 'lessons'));
  const lesson = library.bySlug.get(LESSON);
  if (!lesson) throw new Error('no lesson');
  max = scoreMaximum(lesson, null);
  const whole = course(mock, 'c1', { lesson: LESSON, scoreMaximum: max, teacher: 'teacher-1', learners: ['ana', 'ben'] });
  lessonLink = whole.link.id;
  lessonItem = whole.lineItem.id;
  const one = mock.addLineItem('c1', { label: 'deploy-web', scoreMaximum: 2, resourceId: `${LESSON}/deploy-web`, resourceLinkId: null, tag: 'kubedojo' });
  exerciseLink = mock.addLink('c1', 'Deploy web', { kubedojo_lesson: LESSON, kubedojo_exercise: 'deploy-web' }, { lineItem: one }).id;
  exerciseItem = one.id;
  db = await openDatabase({ dialect: 'sqlite', file: path.join(server.dataDir, 'kubedojo.db') });
});

afterAll(async () => {
  await db.destroy();
  await mock.close();
  await server.close();
});

function answerOf(question: number): string {
  return library.bySlug.get(LESSON)?.quiz[question]?.answer ?? 'A';
}

function wrongOf(question: number): string {
  return answerOf(question) === 'A' ? 'B' : 'A';
}

async function settled(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 50));
  await server.services.lti.queue.idle();
}

async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200 && !(await condition()); i += 1) await settled();
  expect(await condition()).toBe(true);
}

async function learnerIdOf(token: string): Promise<string> {
  return ((await asLaunched(server.url, token)('GET', '/api/session')).json as SessionResponse).learner?.id ?? '';
}

async function kubedojoLink(resourceLinkId: string): Promise<string> {
  return (await db.selectFrom('lti_links').select('id').where('resource_link_id', '=', resourceLinkId).executeTakeFirstOrThrow()).id;
}

describe('grade passback', () => {
  it('posts a quiz answer as a fractional score with its progress, only when the result changes, with one cached token', async () => {
    const { token } = await launch(server.url, mock, 'ana', { link: lessonLink });
    const as = asLaunched(server.url, token);
    expect((await as('POST', `/api/lessons/${LESSON}/quiz/q1/answer`, { choice: answerOf(0) })).status).toBe(200);
    await until(() => mock.scoresOf(lessonItem, 'ana').length === 1);
    expect(mock.scoresOf(lessonItem, 'ana')[0]).toMatchObject({ userId: 'ana', scoreGiven: 1, scoreMaximum: max, activityProgress: 'InProgress', gradingProgress: 'FullyGraded' });

    // The same right answer again, and a wrong one: the result did not change, nothing is sent.
    await as('POST', `/api/lessons/${LESSON}/quiz/q1/answer`, { choice: answerOf(0) });
    await as('POST', `/api/lessons/${LESSON}/quiz/q2/answer`, { choice: wrongOf(1) });
    await settled();
    expect(mock.scoresOf(lessonItem, 'ana')).toHaveLength(1);

    await as('POST', `/api/lessons/${LESSON}/quiz/q2/answer`, { choice: answerOf(1) });
    await until(() => mock.scoresOf(lessonItem, 'ana').length === 2);
    const [first, second] = mock.scoresOf(lessonItem, 'ana');
    expect(second?.scoreGiven).toBe(2);
    expect(Date.parse(second?.timestamp ?? '')).toBeGreaterThan(Date.parse(first?.timestamp ?? ''));
    expect(mock.received.tokenRequests.filter((t) => t.scope.includes('scope/score'))).toHaveLength(1);
    expect(mock.received.rejectedScores).toEqual([]);
  });

  it("does not post an instructor's own results to the course they teach", async () => {
    const { token } = await launch(server.url, mock, 'teacher-1', { link: lessonLink });
    const scores = mock.received.scores.length;
    expect((await asLaunched(server.url, token)('POST', `/api/lessons/${LESSON}/quiz/q1/answer`, { choice: answerOf(0) })).status).toBe(200);
    await settled();
    expect(mock.received.scores.length).toBe(scores);
    expect(mock.scoresOf(lessonItem, 'teacher-1')).toEqual([]);
  });

  it('posts the checks a run passed for an exercise link, Completed when all pass', async () => {
    const { token } = await launch(server.url, mock, 'ben', { link: exerciseLink });
    const ben = await learnerIdOf(token);
    const checks = new CheckRepository(db);
    const finish = async (passed: boolean[]) => {
      const id = crypto.randomUUID();
      const started = new Date().toISOString();
      await checks.start({ id, learnerId: ben, canonicalId: library.bySlug.get(LESSON)?.canonicalId ?? '', lesson: LESSON, exercise: 'deploy-web', namespace: 'kd-ben-x', startedAt: started, replicaId: null });
      const report: GradeReportView = {
        lesson: LESSON,
        namespace: 'kd-ben-x',
        passed: passed.every(Boolean),
        startedAt: started,
        durationMs: 5,
        notes: [],
        exercises: [{ exercise: 'deploy-web', title: 'Deploy web', passed: passed.every(Boolean), durationMs: 5, checks: passed.map((p, i) => ({ name: `c${i}`, kind: 'resource', description: '', status: p ? 'passed' : 'failed', message: '', durationMs: 1, attempts: 1 })) }],
      };
      await checks.finish(id, ben, library.bySlug.get(LESSON)?.canonicalId ?? '', report, report.passed ? 'passed' : 'failed');
      const run: CheckRunView = { id, lesson: LESSON, exercise: 'deploy-web', namespace: 'kd-ben-x', status: report.passed ? 'passed' : 'failed', startedAt: started, finishedAt: new Date().toISOString(), report };
      // What GradingService announces when a run has finished and is stored.
      server.services.grading.emit('event', { type: 'finished', learnerId: ben, namespace: 'kd-ben-x', run });
    };
    await finish([true, false]);
    await until(() => mock.scoresOf(exerciseItem, 'ben').length === 1);
    expect(mock.scoresOf(exerciseItem, 'ben')[0]).toMatchObject({ scoreGiven: 1, scoreMaximum: 2, activityProgress: 'InProgress' });
    // A worse run does not lower the best result; a passing one completes it.
    await finish([false, false]);
    await settled();
    expect(mock.scoresOf(exerciseItem, 'ben')).toHaveLength(1);
    await finish([true, true]);
    await until(() => mock.scoresOf(exerciseItem, 'ben').length === 2);
    expect(mock.scoresOf(exerciseItem, 'ben')[1]).toMatchObject({ scoreGiven: 2, scoreMaximum: 2, activityProgress: 'Completed', gradingProgress: 'FullyGraded' });
  });

  it('makes a line item when the launch names none (AGS lineitems), and posts there', async () => {
    mock.addUser('cleo', 'Cleo', { c1: [ROLE.learner] });
    const bare = mock.addLink('c1', 'Fundamentals, no column yet', { kubedojo_lesson: LESSON });
    const { token } = await launch(server.url, mock, 'cleo', { link: bare.id });
    await asLaunched(server.url, token)('POST', `/api/lessons/${LESSON}/quiz/q3/answer`, { choice: answerOf(2) });
    await until(() => [...mock.lineItems.values()].some((i) => i.resourceLinkId === bare.id));
    const made = [...mock.lineItems.values()].find((i) => i.resourceLinkId === bare.id);
    expect(made).toMatchObject({ scoreMaximum: max, resourceId: LESSON, tag: 'kubedojo' });
    await until(() => mock.scoresOf(made?.id ?? '', 'cleo').length === 1);
  });
});

describe('attack: a grade post for a learner of another course', () => {
  it('never reaches the other course, whether through a result, the queue API or a forged queue row', async () => {
    const other = course(mock, 'c2', { lesson: LESSON, scoreMaximum: max, teacher: 'teacher-2', learners: ['zed'] });
    await launch(server.url, mock, 'zed', { link: other.link.id });
    const { token } = await launch(server.url, mock, 'ana', { link: lessonLink });
    const ana = await learnerIdOf(token);
    const before = mock.received.scores.length;

    // Ana's result changes: her course's line items get it, the other course's does not.
    await asLaunched(server.url, token)('POST', `/api/lessons/${LESSON}/quiz/q4/answer`, { choice: answerOf(3) });
    await until(() => mock.received.scores.length > before);
    await settled();
    expect(mock.scoresOf(other.lineItem.id)).toEqual([]);
    expect(mock.received.scores.slice(before).every((s) => s.lineItem !== other.lineItem.id && s.body.userId === 'ana')).toBe(true);

    // Asked directly to queue her score on the other course's link: refused.
    const foreign = await kubedojoLink(other.link.id);
    await expect(server.services.lti.passback.queueFor(foreign, ana, { force: true })).rejects.toThrow(Forbidden);

    // A queue row forged in the database (her learner id, another course's member as userId): refused at delivery.
    const failedBefore = (await new ScoreQueueRepository(db).counts()).failed;
    await new ScoreQueueRepository(db).enqueue({ linkId: foreign, learnerId: ana, platformId, userId: 'zed', score: { userId: 'zed', scoreGiven: 99, scoreMaximum: max, activityProgress: 'Completed', gradingProgress: 'FullyGraded', timestamp: new Date().toISOString() } }, Date.now());
    server.services.lti.queue.notify();
    await until(async () => (await new ScoreQueueRepository(db).counts()).failed === failedBefore + 1);
    expect(mock.scoresOf(other.lineItem.id)).toEqual([]);
    expect(mock.received.rejectedScores).toEqual([]);
  });
});
