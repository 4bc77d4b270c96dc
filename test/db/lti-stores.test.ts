import { beforeAll, describe, expect, it } from 'vitest';
import { CheckRepository } from '../../server/db/checks.ts';
import type { Db } from '../../server/db/database.ts';
import { LtiCourseRepository } from '../../server/db/lti-courses.ts';
import { LtiPlatformRepository, type PlatformInput } from '../../server/db/lti-platforms.ts';
import { ScoreQueueRepository, type ScoreBody } from '../../server/db/lti-queue.ts';
import { LearnerResults } from '../../server/db/lti-results.ts';
import { ProgressRepository } from '../../server/db/progress.ts';
import { DIALECTS, testDatabases } from '../helpers/databases.ts';

/** The LTI stores and the score queue: the same behaviour on both databases. */

const databases = testDatabases();

const input = (over: Partial<PlatformInput> = {}): PlatformInput => ({
  name: 'Moodle',
  issuer: 'https://moodle.example',
  clientId: 'client-1',
  authUrl: 'https://moodle.example/auth',
  tokenUrl: 'https://moodle.example/token',
  jwksUrl: 'https://moodle.example/jwks',
  tokenAudience: null,
  frameOrigins: ['https://moodle.example'],
  deployments: ['d1'],
  registeredBy: 'admin',
  ...over,
});

const score = (userId: string, given: number): ScoreBody => ({ userId, scoreGiven: given, scoreMaximum: 10, activityProgress: 'InProgress', gradingProgress: 'FullyGraded', timestamp: new Date().toISOString() });

describe.each(DIALECTS)('LTI stores on %s', (dialect) => {
  let db: Db;
  let platforms: LtiPlatformRepository;
  let courses: LtiCourseRepository;
  let platformId: string;
  beforeAll(async () => {
    db = await databases.open(dialect);
    platforms = new LtiPlatformRepository(db);
    courses = new LtiCourseRepository(db);
    platformId = (await platforms.upsert(input())).id;
  });

  it('upserts platforms by issuer and client id, adding deployments', async () => {
    const again = await platforms.upsert(input({ name: 'Moodle 2', deployments: ['d2', 'd1'] }));
    expect(again).toMatchObject({ id: platformId, name: 'Moodle 2', deployments: ['d1', 'd2'], frameOrigins: ['https://moodle.example'] });
    expect((await platforms.byIssuer('https://moodle.example')).map((p) => p.id)).toEqual([platformId]);
    const other = await platforms.upsert(input({ clientId: 'client-2' }));
    expect((await platforms.list()).map((p) => p.id)).toEqual([platformId, other.id]);
    expect(await platforms.remove(other.id)).toBe(true);
    expect(await platforms.remove(other.id)).toBe(false);
  });

  it('takes a login state once, tells used from expired, and refuses a replayed nonce', async () => {
    const now = Date.now();
    await platforms.addState({ state: 's1', platformId, nonce: 'n1', targetLinkUri: 'https://kd/lti/launch' }, 60_000, now);
    await platforms.addState({ state: 's2', platformId, nonce: 'n2', targetLinkUri: 'https://kd/lti/launch' }, 1000, now);
    const taken = await Promise.all([platforms.takeState('s1', now), platforms.takeState('s1', now)]);
    expect(taken.filter((t) => typeof t === 'object')).toEqual([{ platformId, nonce: 'n1', targetLinkUri: 'https://kd/lti/launch' }]);
    expect(await platforms.takeState('s1', now)).toBe('used');
    expect(await platforms.takeState('s2', now + 5000)).toBe('expired');
    expect(await platforms.takeState('nope', now)).toBe('unknown');
    expect(await platforms.useNonce('iss', 'n1', now + 60_000, now)).toBe(true);
    expect(await platforms.useNonce('iss', 'n1', now + 60_000, now)).toBe(false);
  });

  it('turns a ticket into a learner once, and registration links work once', async () => {
    const [learner] = await db.insertInto('learners').values({ id: crypto.randomUUID(), display_name: 'T', created_at: new Date().toISOString() }).returning('id').execute();
    if (!learner) throw new Error('unreachable');
    await platforms.addTicket('t1', learner.id, 60_000);
    expect(await Promise.all([platforms.takeTicket('t1'), platforms.takeTicket('t1')])).toEqual(expect.arrayContaining([learner.id, undefined]));
    await platforms.addRegistrationToken('r1', 60_000);
    expect(await platforms.registrationTokenValid('r1')).toBe(true);
    expect(await platforms.useRegistrationToken('r1', null)).toBe(true);
    expect(await platforms.useRegistrationToken('r1', null)).toBe(false);
    await platforms.releaseRegistrationToken('r1');
    expect(await platforms.useRegistrationToken('r1', platformId)).toBe(true);
  });

  it('rotates keys in one transaction', async () => {
    const key = (kid: string, state: 'next' | 'current') => ({ kid, privateJwk: '{}', publicJwk: '{}', state, createdAt: new Date().toISOString(), activatedAt: null, retireAt: null });
    await platforms.rotateKeys({ now: new Date().toISOString(), retireCurrentAt: null, promote: null, add: [key('k1', 'current'), key('k2', 'next')] });
    await platforms.rotateKeys({ now: new Date().toISOString(), retireCurrentAt: '2999-01-01T00:00:00.000Z', promote: 'k2', add: [key('k3', 'next')] });
    expect(Object.fromEntries((await platforms.keys()).map((k) => [k.kid, k.state]))).toEqual({ k1: 'previous', k2: 'current', k3: 'next' });
  });

  it('links LMS users, courses, members and links, and reads results for passback', async () => {
    const context = await courses.upsertContext({ platformId, contextId: 'c1', title: 'K8s 101', membershipsUrl: null });
    expect((await courses.upsertContext({ platformId, contextId: 'c1', title: 'K8s 102', membershipsUrl: 'https://m' })).id).toBe(context.id);
    const teacher = await courses.linkUser({ issuer: 'iss', sub: 'teacher', name: 'Teacher', instructor: true, workshopId: null });
    const student = await courses.linkUser({ issuer: 'iss', sub: 'student', name: 'Student', instructor: false, workshopId: null });
    expect(await courses.linkUser({ issuer: 'iss', sub: 'student', name: 'Student B', instructor: false, workshopId: null })).toEqual({ learnerId: student.learnerId, created: false });
    expect(await courses.learnerOf('iss', 'teacher')).toBe(teacher.learnerId);
    await courses.memberLaunched(context.id, { sub: 'teacher', learnerId: teacher.learnerId, name: 'Teacher', roles: ['Instructor'], instructor: true });
    await courses.memberLaunched(context.id, { sub: 'student', learnerId: student.learnerId, name: 'Student', roles: ['Learner'], instructor: false });
    await courses.rosterUpdate(context.id, 'iss', [{ sub: 'quiet', name: null, roles: ['Learner'], instructor: false }, { sub: 'student', name: null, roles: ['Learner'], instructor: false }]);
    expect((await courses.members(context.id)).map((m) => [m.sub, m.name, m.instructor, m.launchedAt !== null])).toEqual([
      ['quiet', null, false, false],
      ['student', 'Student', false, true],
      ['teacher', 'Teacher', true, true],
    ]);
    const room = crypto.randomUUID();
    await db.insertInto('workshops').values({ id: room, code: 'ROOM01', title: 'room', instructor_id: teacher.learnerId, lessons: '[]', seats: 0, sandbox_size: 'small', starts_at: 'x', ends_at: 'y', state: 'scheduled', created_at: 'z' }).execute();
    await courses.setWorkshop(context.id, room);
    expect(await courses.teaches(room, teacher.learnerId)).toBe(true);
    expect(await courses.teaches(room, student.learnerId)).toBe(false);
    expect(await courses.learnersOfWorkshop(room)).toEqual([student.learnerId]);
    expect((await courses.contextOfWorkshop(room))?.id).toBe(context.id);

    const link = await courses.upsertLink({ context: context.id, resourceLinkId: 'rl1', lesson: 'pods', exercise: null, title: 'Pods', lineItemUrl: null, lineItemsUrl: 'https://li', agsScopes: ['score'] });
    await courses.upsertLink({ context: context.id, resourceLinkId: 'rl2', lesson: 'services', exercise: 'e1', title: null, lineItemUrl: null, lineItemsUrl: null, agsScopes: [] });
    expect((await courses.upsertLink({ ...link, title: null, lineItemsUrl: null })).lineItemsUrl).toBe('https://li');
    expect(await courses.lessonsOfContext(context.id)).toEqual(['pods', 'services']);
    expect((await courses.linksOfLearner(student.learnerId, 'pods')).map((l) => [l.id, l.sub, l.platformId])).toEqual([[link.id, 'student', platformId]]);
    await courses.setResult(link.id, student.learnerId, { scoreGiven: 1.5, scoreMaximum: 4, timestamp: 't1' });
    await courses.setResult(link.id, student.learnerId, { scoreGiven: 2.5, scoreMaximum: 4, timestamp: 't2' });
    expect(await courses.lastResult(link.id, student.learnerId)).toEqual({ scoreGiven: 2.5, scoreMaximum: 4, timestamp: 't2' });

    await new ProgressRepository(db).addAttempt(student.learnerId, 'C-pods', { questionId: 'q1', choice: 'a', correct: true, timeMs: null });
    const checks = new CheckRepository(db);
    await checks.start({ id: 'run-lti', learnerId: student.learnerId, canonicalId: 'C-pods', lesson: 'pods', exercise: null, namespace: 'ns', startedAt: new Date().toISOString(), replicaId: null });
    await checks.finish('run-lti', student.learnerId, 'C-pods', { exercises: [{ exercise: 'e1', passed: false, checks: [{ status: 'passed' }, { status: 'failed' }] }] }, 'failed');
    const results = new LearnerResults(db);
    expect(await results.exercises(student.learnerId, 'C-pods')).toEqual(new Map([['e1', { passed: false, bestChecks: 1 }]]));
    expect(await results.quizCorrect(student.learnerId, 'C-pods')).toEqual(new Set(['q1']));

    const deepLink = await courses.addDeepLink({ platformId, deploymentId: 'd1', learnerId: teacher.learnerId, returnUrl: 'https://r', data: null, acceptMultiple: true }, 60_000);
    expect(await courses.deepLink(deepLink, teacher.learnerId)).toMatchObject({ acceptMultiple: true, returnUrl: 'https://r' });
    expect(await courses.deepLink(deepLink, student.learnerId)).toBeUndefined();
    expect(await courses.useDeepLink(deepLink)).toBe(true);
    expect(await courses.useDeepLink(deepLink)).toBe(false);
  });

  it('queues scores in order per user, backs a platform off as one, and counts', async () => {
    const context = await courses.upsertContext({ platformId, contextId: 'q', title: 'Q', membershipsUrl: null });
    const link = await courses.upsertLink({ context: context.id, resourceLinkId: 'q1', lesson: 'pods', exercise: null, title: null, lineItemUrl: null, lineItemsUrl: null, agsScopes: [] });
    const queue = new ScoreQueueRepository(db);
    const now = 1_800_000_000_000;
    const a1 = await queue.enqueue({ linkId: link.id, learnerId: 'la', platformId, userId: 'a', score: score('a', 1) }, now);
    const a2 = await queue.enqueue({ linkId: link.id, learnerId: 'la', platformId, userId: 'a', score: score('a', 2) }, now);
    const b1 = await queue.enqueue({ linkId: link.id, learnerId: 'lb', platformId, userId: 'b', score: score('b', 5) }, now);
    expect(a2).toBeGreaterThan(a1);
    expect((await queue.dueHeads(now, 10)).map((h) => h.id)).toEqual([a1, b1]);
    expect(await queue.nextDue()).toBe(now);
    await queue.retry(a1, 'down', now + 5000);
    await queue.deferPlatform(platformId, now + 5000);
    expect(await queue.dueHeads(now, 10)).toEqual([]);
    // A score queued while its platform backs off waits with the rest.
    const b2 = await queue.enqueue({ linkId: link.id, learnerId: 'lb', platformId, userId: 'b', score: score('b', 6) }, now + 1000);
    expect(await queue.nextDue()).toBe(now + 5000);
    await queue.delivered(a1, now + 5000);
    await queue.failed(b1, 'refused for good');
    expect((await queue.dueHeads(now + 5000, 10)).map((h) => [h.id, h.attempts, h.score.scoreGiven])).toEqual([[a2, 0, 2], [b2, 0, 6]]);
    expect(await queue.counts()).toEqual({ pending: 2, delivered: 1, failed: 1 });
    expect(await queue.recentFailures()).toEqual([{ id: b1, userId: 'b', error: 'refused for good', createdAt: expect.any(String) as string }]);
  });
});
