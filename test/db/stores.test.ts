import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CheckRepository } from '../../server/db/checks.ts';
import type { Db } from '../../server/db/database.ts';
import { LearnerRepository } from '../../server/db/learners.ts';
import { ProgressRepository } from '../../server/db/progress.ts';
import { WorkshopRepository, type Workshop } from '../../server/db/workshops.ts';
import { RecordingStore } from '../../server/terminal/recorder.ts';
import { DIALECTS, testDatabases } from '../helpers/databases.ts';

/** The stores behind accounts, progress, workshops, checks and recordings: the same behaviour on both databases. */

const databases = testDatabases();

const workshop = (over: Partial<Workshop> = {}): Workshop => ({
  id: crypto.randomUUID(),
  code: `C${Math.random().toString(36).slice(2, 8).toUpperCase()}`,
  title: 'Pods',
  instructorId: 'i',
  lessons: ['a', 'b'],
  seats: 3,
  sandboxSize: 'small',
  startsAt: '2026-01-01T10:00:00.000Z',
  endsAt: '2026-01-01T12:00:00.000Z',
  state: 'scheduled',
  createdAt: new Date().toISOString(),
  endedAt: null,
  ...over,
});

describe.each(DIALECTS)('stores on %s', (dialect) => {
  let db: Db;
  let learners: LearnerRepository;
  let instructor: string;
  beforeAll(async () => {
    db = await databases.open(dialect);
    learners = new LearnerRepository(db);
    const made = await learners.createAccount({ username: 'teacher', passwordHash: 'h', displayName: 'Teacher', role: 'instructor' });
    if (made === 'taken') throw new Error('unreachable');
    instructor = made.id;
  });

  it('keeps guests, their sessions and accounts made from them', async () => {
    const { learner, token } = await learners.createGuest();
    expect(await learners.bySession(token)).toEqual(learner);
    expect(await learners.bySession('nonsense')).toBeUndefined();
    const account = await learners.createAccount({ username: 'ana', passwordHash: 'argon', displayName: 'Ana', role: 'learner', fromGuest: learner.id });
    expect(account).toMatchObject({ id: learner.id, kind: 'account', username: 'ana' });
    expect(await learners.createAccount({ username: 'ana', passwordHash: 'x', displayName: 'Other', role: 'learner' })).toBe('taken');
    expect(await learners.passwordHashOf('ana')).toEqual({ learnerId: learner.id, hash: 'argon' });
    const session = await learners.newSession(learner.id);
    expect((await learners.bySession(session))?.kind).toBe('account');
    await learners.endSession(session);
    expect(await learners.bySession(session)).toBeUndefined();
    expect(await learners.setRole(learner.id, 'instructor')).toBe(true);
    expect(await learners.setRole('nobody', 'admin')).toBe(false);
    expect((await learners.accounts()).map((a) => a.username)).toEqual(expect.arrayContaining(['ana', 'teacher']));
    await learners.touch(learner.id, '2026-02-02T00:00:00.000Z');
    expect(await learners.lastSeen([learner.id, 'nobody'])).toEqual(new Map([[learner.id, '2026-02-02T00:00:00.000Z'], ['nobody', null]]));
  });

  it('hands out a setup token that works once, while there is no admin', async () => {
    expect(await learners.hasAdmin()).toBe(false);
    const first = await learners.issueSetupToken();
    const second = await learners.issueSetupToken();
    expect(await learners.consumeSetupToken(first)).toBe(false);
    expect(await learners.consumeSetupToken(second)).toBe(true);
    expect(await learners.consumeSetupToken(second)).toBe(false);
  });

  it('never overfills a workshop, even when everyone joins at once', async () => {
    const workshops = new WorkshopRepository(db);
    const w = workshop({ instructorId: instructor, seats: 3 });
    expect(await workshops.insert(w)).toBe(true);
    const joins = await Promise.all(Array.from({ length: 8 }, (_, i) => learners.createParticipant(w.id, `p${String(i)}`, w.seats)));
    expect(joins.filter((j) => j !== 'full')).toHaveLength(3);
    expect(await workshops.participantCount(w.id)).toBe(3);
    expect((await learners.byWorkshop(w.id)).every((p) => p.kind === 'participant' && p.workshopId === w.id)).toBe(true);
  });

  it('stores workshops: codes unique, ends only move later, messages in order', async () => {
    const workshops = new WorkshopRepository(db);
    const w = workshop({ instructorId: instructor });
    expect(await workshops.insert(w)).toBe(true);
    expect(await workshops.insert(workshop({ instructorId: instructor, code: w.code }))).toBe(false);
    expect(await workshops.byCode(w.code)).toEqual(w);
    await workshops.extendTo(w.id, '2026-01-01T11:00:00.000Z');
    expect((await workshops.get(w.id))?.endsAt).toBe(w.endsAt);
    await workshops.extendTo(w.id, '2026-06-01T00:00:00.000Z');
    expect((await workshops.get(w.id))?.endsAt).toBe('2026-06-01T00:00:00.000Z');
    await workshops.setLessons(w.id, ['c']);
    await workshops.addMessage(w.id, 'first');
    await workshops.addMessage(w.id, 'second');
    expect((await workshops.messages(w.id)).map((m) => m.text)).toEqual(['first', 'second']);
    expect((await workshops.list(instructor)).map((x) => x.id)).toContain(w.id);
    expect((await workshops.scheduled()).map((x) => x.id)).toContain(w.id);
    await workshops.end(w.id);
    expect(await workshops.get(w.id)).toMatchObject({ state: 'ended', lessons: ['c'] });
  });

  it('moves lesson progress forward only and keeps every quiz answer', async () => {
    const { learner } = await learners.createGuest();
    const progress = new ProgressRepository(db);
    expect(await progress.record(learner.id, 'L1', 'started', 'intro')).toMatchObject({ status: 'started', lastSection: 'intro', completedAt: null });
    const done = await progress.record(learner.id, 'L1', 'completed', null);
    expect(done).toMatchObject({ status: 'completed', lastSection: 'intro' });
    expect(done.completedAt).not.toBeNull();
    expect(await progress.record(learner.id, 'L1', 'started', 'outro')).toMatchObject({ status: 'completed', lastSection: 'outro', completedAt: done.completedAt });
    await progress.addAttempt(learner.id, 'L1', { questionId: 'q1', choice: 'a', correct: false, timeMs: 1200 });
    await progress.addAttempt(learner.id, 'L1', { questionId: 'q1', choice: 'b', correct: true, timeMs: null });
    expect((await progress.attempts(learner.id, 'L1')).map((a) => [a.choice, a.correct, a.timeMs])).toEqual([['a', false, 1200], ['b', true, null]]);
    expect(await progress.quizScores(learner.id)).toEqual(new Map([['L1', new Set(['q1'])]]));
    expect((await progress.all(learner.id)).map((p) => p.canonicalId)).toEqual(['L1']);
  });

  // Runs left running by a server that stopped: replica-heartbeats.test.ts.
  it('stores check runs and counts attempts per exercise', async () => {
    const { learner } = await learners.createGuest();
    const checks = new CheckRepository(db);
    const start = (id: string, at: string) => checks.start({ id, learnerId: learner.id, canonicalId: 'L1', lesson: 'pods', exercise: null, namespace: 'ns', startedAt: at, replicaId: null });
    const report = (passed: boolean) => ({ exercises: [{ exercise: 'e1', passed, checks: [{ status: passed ? 'passed' : 'failed' }] }] });
    await start('r1', '2026-01-01T00:00:01.000Z');
    await checks.finish('r1', learner.id, 'L1', report(false), 'failed');
    await start('r2', '2026-01-01T00:00:02.000Z');
    await checks.finish('r2', learner.id, 'L1', report(true), 'passed');
    await start('r3', '2026-01-01T00:00:03.000Z');
    await checks.finish('r3', learner.id, 'L1', report(false), 'failed');
    const [progress] = await checks.exercises(learner.id, 'L1');
    expect(progress).toMatchObject({ exercise: 'e1', attempts: 3, passed: true, lastStatus: 'failed' });
    expect((await checks.runs(learner.id, 'L1')).map((r) => r.id)).toEqual(['r3', 'r2', 'r1']);
    expect(await checks.get('r2', learner.id)).toMatchObject({ status: 'passed', report: report(true) });
    expect(await checks.get('r2', 'someone-else')).toBeUndefined();
  });

  it('indexes terminal recordings, caps a sandbox and prunes old ones', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-rec-'));
    const store = new RecordingStore(db, dir, 4096);
    const recording = await store.start({ namespace: 'ns-1', learnerKey: 'k1', lesson: 'pods', cols: 80, rows: 24 });
    recording.output(Buffer.from('x'.repeat(10_000)));
    await recording.end();
    const row = await store.get(recording.id);
    expect(row).toMatchObject({ namespace: 'ns-1', learnerKey: 'k1' });
    expect(row?.bytes).toBeLessThanOrEqual(4096);
    expect(row?.endedAt).not.toBeNull();
    // Kept relative to the recordings directory: another replica resolves it under its own.
    expect(row?.path).toMatch(/^ns-1\/.+\.cast$/);
    expect(row && (await fs.stat(store.fileOf(row))).size).toBe(row?.bytes);
    expect((await store.byLearner('k1')).map((r) => r.id)).toEqual([recording.id]);
    expect(await store.prune(30, Date.now() + 31 * 86_400_000)).toBe(1);
    expect(await store.get(recording.id)).toBeUndefined();
    expect(row && fsSync.existsSync(store.fileOf(row))).toBe(false);
    await fs.rm(dir, { recursive: true, force: true });
  });
});
