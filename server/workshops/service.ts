import { randomInt, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { CheckRepository } from '../db/checks.ts';
import type { Learner, LearnerRepository } from '../db/learners.ts';
import type { Workshop, WorkshopRepository } from '../db/workshops.ts';
import { Conflict, Invalid, NotFound, Unavailable, isAppError } from '../errors.ts';
import type { GradingService } from '../grading/service.ts';
import type { LessonService } from '../lessons/lesson-service.ts';
import type { Library } from '../lessons/types.ts';
import type { Logger } from '../logger.ts';
import type {
  BroadcastView,
  GridCell,
  GridResponse,
  GridRow,
  ParticipantWorkshopView,
  SandboxView,
  WorkshopEndedEvent,
  WorkshopCreateRequest,
  WorkshopView,
} from '../protocol.ts';
import { learnerKey } from '../sandboxes/names.ts';
import type { Sandbox, SandboxService } from '../sandboxes/service.ts';
import { sandboxView } from '../sandboxes/view.ts';
import type { SandboxSize } from '../sandboxes/template.ts';

/** Unambiguous characters for join codes people read out loud: no 0/O, 1/I/L. */
const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
/** Pool sandboxes are made this long before a workshop starts. */
export const POOL_LEAD_MS = 15 * 60_000;
/** Participants may join this long before the start. */
const JOIN_EARLY_MS = 60 * 60_000;
const STUCK_FAILURES = 3;
const STUCK_IDLE_MS = 10 * 60_000;

export function newJoinCode(): string {
  const chars = Array.from({ length: 8 }, () => CODE_ALPHABET[randomInt(CODE_ALPHABET.length)] ?? 'A');
  return `${chars.slice(0, 4).join('')}-${chars.slice(4).join('')}`;
}

/** "k7m2 qx9p", "K7M2-QX9P" and "k7m2qx9p" are the same code. */
export function normalizeCode(input: string): string {
  const plain = input.toUpperCase().replace(/[^A-Z0-9]/g, '');
  return plain.length === 8 ? `${plain.slice(0, 4)}-${plain.slice(4)}` : plain;
}

/** Scheduled until it starts, running until an instructor ends it. */
export function workshopState(w: Pick<Workshop, 'state' | 'startsAt'>, now = Date.now()): WorkshopView['state'] {
  if (w.state === 'ended') return 'ended';
  return now >= Date.parse(w.startsAt) ? 'running' : 'scheduled';
}

export type WorkshopEvents = {
  row: [{ workshopId: string; row: GridRow }];
  broadcast: [{ workshopId: string; message: BroadcastView }];
  ended: [WorkshopEndedEvent];
};

export interface WorkshopDeps {
  workshops: WorkshopRepository;
  learners: LearnerRepository;
  sandboxes: SandboxService;
  checks: CheckRepository;
  lessons: LessonService;
  grading: GradingService;
  library: Library;
  logger: Logger;
  /** Whether a sandbox's terminal is open now (the grid shows it). */
  terminalOpen: (namespace: string) => boolean;
  /** The base URL of join links. */
  baseUrl: () => string;
  /** Who runs a workshop besides its instructor (the instructors of an LMS course, for its room). */
  coInstructs?: (workshopId: string, learnerId: string) => boolean;
  /** Members who did not join with the code (the learners of an LMS course), for the grid. */
  members?: (workshopId: string) => Learner[];
}

/**
 * Instructor-led workshops: a join code, sandboxes made before people arrive (the warm pool is
 * filled for the seats), a live grid of every participant's exercises, quiz and activity, a
 * broadcast to the room, and an end that tears every sandbox down. Instructors see their own
 * workshops; admins see all.
 */
export class WorkshopService extends EventEmitter<WorkshopEvents> {
  private readonly d: WorkshopDeps;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private filling = false;

  constructor(deps: WorkshopDeps) {
    super();
    this.d = deps;
    this.log = deps.logger.child({ component: 'workshops' });
  }

  /** Follows checks and quiz answers into the grid, and keeps the pool ready for coming workshops. */
  start(): void {
    this.d.grading.on('event', (event) => {
      if (event.type === 'finished') {
        // The instructor sees the result at once, patched into the last row; the full row follows.
        const results = event.run.report?.exercises ?? [];
        this.patch(event.learnerId, (cell) => {
          const result = results.find((r) => r.exercise === cell.exercise && r.checks.length > 0 && event.run.lesson === cell.lesson);
          if (!result) return cell;
          const status = result.passed ? 'passed' : result.checks.some((c) => c.status === 'error') ? 'error' : 'failed';
          return { ...cell, status: cell.status === 'passed' ? 'passed' : status, attempts: cell.attempts + 1, lastCheckedAt: event.run.finishedAt };
        });
        this.schedule(event.learnerId, 1000);
      } else if (event.event.type === 'check-started') {
        const { exercise } = event.event;
        this.patch(event.learnerId, (cell) => (cell.exercise === exercise && cell.status !== 'running' ? { ...cell, status: 'running' } : cell));
      }
    });
    this.d.lessons.on('answered', ({ learnerId }) => {
      this.schedule(learnerId, 200);
    });
    this.timer = setInterval(() => {
      void this.preparePool();
    }, 60_000);
    this.timer.unref();
    void this.preparePool();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
  }

  /** The last row sent for each participant, so a check's result can go out without recomputing it. */
  private readonly rows = new Map<string, { workshopId: string; row: GridRow }>();
  private readonly pending = new Map<string, NodeJS.Timeout>();

  /** Sends a participant's row with some cells changed; with no row yet, computes it at once. */
  private patch(learnerId: string, change: (cell: GridCell) => GridCell): void {
    const known = this.rows.get(learnerId);
    if (!known) {
      this.schedule(learnerId, 0);
      return;
    }
    const row = { ...known.row, cells: known.row.cells.map(change) };
    this.rows.set(learnerId, { workshopId: known.workshopId, row });
    this.emit('row', { workshopId: known.workshopId, row });
  }

  /** Recomputes a participant's whole row soon; a burst of events for one learner makes one computation. */
  private schedule(learnerId: string, delayMs: number): void {
    if (this.pending.has(learnerId)) return;
    const timer = setTimeout(() => {
      this.pending.delete(learnerId);
      this.refresh(learnerId);
    }, delayMs);
    timer.unref();
    this.pending.set(learnerId, timer);
  }

  private refresh(learnerId: string): void {
    const learner = this.d.learners.byId(learnerId);
    if (!learner?.workshopId) return;
    const workshop = this.d.workshops.get(learner.workshopId);
    if (!workshop || workshop.state === 'ended') return;
    void this.rowFor(workshop, learner).then(
      (row) => {
        this.rows.set(learnerId, { workshopId: workshop.id, row });
        this.emit('row', { workshopId: workshop.id, row });
      },
      (error: unknown) => {
        this.log.warn({ err: error, learnerId }, 'could not refresh a grid row');
      },
    );
  }

  /**
   * Tops the warm pool up for every workshop starting within the lead time: one sandbox for each
   * empty seat, in the workshop's size.
   */
  async preparePool(now = Date.now()): Promise<void> {
    if (this.filling) return;
    this.filling = true;
    try {
      for (const [size, target] of this.poolTargets(now)) {
        if (target > 0) await this.d.sandboxes.fillPool(target, size);
      }
    } catch (error) {
      this.log.warn({ err: error }, 'could not fill the warm pool for workshops');
    } finally {
      this.filling = false;
    }
  }

  /** Pool sandboxes wanted per size: one per empty seat of the workshops starting soon or under way. */
  private poolTargets(now: number): Map<SandboxSize, number> {
    const bySize = new Map<SandboxSize, number>();
    for (const w of this.d.workshops.scheduled()) {
      if (now < Date.parse(w.startsAt) - POOL_LEAD_MS || now > Date.parse(w.endsAt)) continue;
      const empty = Math.max(0, w.seats - this.d.workshops.participantCount(w.id));
      bySize.set(w.sandboxSize, (bySize.get(w.sandboxSize) ?? 0) + empty);
    }
    return bySize;
  }

  private stateOf(w: Workshop): WorkshopView['state'] {
    return workshopState(w);
  }

  /** Workshops under way now (metrics, the admin's capacity page). */
  runningCount(now = Date.now()): number {
    return this.d.workshops.scheduled().filter((w) => workshopState(w, now) === 'running').length;
  }

  private lessonsOf(w: Workshop): { slug: string; title: string }[] {
    return w.lessons.map((slug) => ({ slug, title: this.d.library.bySlug.get(slug)?.title ?? slug }));
  }

  view(w: Workshop): WorkshopView {
    return {
      id: w.id,
      code: w.code,
      joinUrl: `${this.d.baseUrl()}/join/${w.code}`,
      title: w.title,
      lessons: this.lessonsOf(w),
      seats: w.seats,
      participants: this.d.workshops.participantCount(w.id),
      sandboxSize: w.sandboxSize,
      startsAt: w.startsAt,
      endsAt: w.endsAt,
      state: this.stateOf(w),
      // The pool is shared by size; an ended workshop has none of it any more.
      warmSandboxes: w.state === 'ended' ? 0 : this.d.sandboxes.poolSizeOf(w.sandboxSize),
    };
  }

  create(instructor: Learner, request: WorkshopCreateRequest): WorkshopView {
    const unknown = request.lessons.filter((slug) => !this.d.library.bySlug.has(slug));
    if (unknown.length > 0) throw new Invalid(`no such lessons: ${unknown.join(', ')}`, { issues: [{ field: 'body.lessons', message: `unknown lessons: ${unknown.join(', ')}` }] });
    if (Date.parse(request.endsAt) <= Date.parse(request.startsAt)) {
      throw new Invalid('the workshop must end after it starts', { issues: [{ field: 'body.endsAt', message: 'must be after startsAt' }] });
    }
    const firstLab = this.d.library.bySlug.get(request.lessons[0] ?? '')?.lab;
    const base: Omit<Workshop, 'code'> = {
      id: randomUUID(),
      title: request.title,
      instructorId: instructor.id,
      lessons: request.lessons,
      seats: request.seats,
      sandboxSize: request.sandboxSize ?? firstLab?.sandbox.size ?? 'small',
      startsAt: new Date(request.startsAt).toISOString(),
      endsAt: new Date(request.endsAt).toISOString(),
      state: 'scheduled',
      createdAt: new Date().toISOString(),
      endedAt: null,
    };
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const workshop = { ...base, code: newJoinCode() };
      if (this.d.workshops.insert(workshop)) {
        this.log.info({ workshop: workshop.id, seats: workshop.seats, startsAt: workshop.startsAt }, 'workshop created');
        void this.preparePool();
        return this.view(workshop);
      }
    }
    throw new Unavailable('could not draw a free join code; try again');
  }

  /** A workshop the viewer may run: their own, or any for an admin. Others get "not found". */
  owned(id: string, viewer: Learner): Workshop {
    const w = this.d.workshops.get(id);
    if (!w || (viewer.role !== 'admin' && w.instructorId !== viewer.id && !(this.d.coInstructs?.(w.id, viewer.id) ?? false))) throw new NotFound(`there is no workshop ${id}`);
    return w;
  }

  list(viewer: Learner): WorkshopView[] {
    return this.d.workshops.list(viewer.role === 'admin' ? undefined : viewer.id).map((w) => this.view(w));
  }

  participantView(w: Workshop): ParticipantWorkshopView {
    return { id: w.id, title: w.title, lessons: this.lessonsOf(w), startsAt: w.startsAt, endsAt: w.endsAt, state: this.stateOf(w), messages: this.d.workshops.messages(w.id) };
  }

  /** The workshop of a participant (their own only). */
  /** The cluster's real node, if it has one, for the participant's sandbox view. */
  realNode(): Promise<string | null> {
    return this.d.sandboxes.realNode();
  }

  mine(learner: Learner): ParticipantWorkshopView {
    const w = learner.workshopId ? this.d.workshops.get(learner.workshopId) : undefined;
    if (!w) throw new NotFound('you are not in a workshop');
    return this.participantView(w);
  }

  /**
   * Joins with a code and a display name: a participant (no account), signed in at once, with a
   * sandbox for the first lesson claimed from the warm pool.
   */
  async join(code: string, displayName: string): Promise<{ learner: Learner; token: string; workshop: ParticipantWorkshopView; sandbox: Sandbox | null; problem: string | null }> {
    const w = this.d.workshops.byCode(normalizeCode(code));
    if (!w) throw new NotFound('there is no workshop with that code; check it with your instructor');
    const now = Date.now();
    if (w.state === 'ended' || now > Date.parse(w.endsAt)) throw new Conflict(`the workshop "${w.title}" has ended`);
    if (now < Date.parse(w.startsAt) - JOIN_EARLY_MS) throw new Conflict(`the workshop "${w.title}" opens at ${w.startsAt}, an hour before it starts`);
    const created = this.d.learners.createParticipant(w.id, displayName, w.seats);
    if (created === 'full') throw new Conflict(`the workshop "${w.title}" is full (${w.seats} seats)`);
    const { learner, token } = created;
    let sandbox: Sandbox | null = null;
    let problem: string | null = null;
    const first = w.lessons[0];
    if (first && this.d.library.bySlug.get(first)?.lab) {
      try {
        sandbox = (await this.d.sandboxes.create({ learnerId: learner.id, learnerName: displayName, lesson: first, size: w.sandboxSize, workshop: w.id })).sandbox;
      } catch (error) {
        problem = isAppError(error) ? error.message : 'your sandbox could not be made yet; the lesson page will try again';
        if (!isAppError(error)) this.log.error({ err: error, workshop: w.id }, 'a participant sandbox failed');
      }
    }
    this.log.info({ workshop: w.id, learnerId: learner.id, fromPool: sandbox !== null }, 'participant joined');
    this.refresh(learner.id);
    return { learner, token, workshop: this.participantView(w), sandbox, problem };
  }

  /** The workshop and size a participant's sandboxes carry, whatever the lesson; nothing for anyone else. */
  sandboxPlacement(learner: Learner): { workshop: string; size: SandboxSize } | undefined {
    const w = learner.workshopId ? this.d.workshops.get(learner.workshopId) : undefined;
    if (!w) return undefined;
    if (w.state === 'ended' || Date.now() > Date.parse(w.endsAt)) throw new Conflict(`the workshop "${w.title}" has ended, and its sandboxes with it`);
    return { workshop: w.id, size: w.sandboxSize };
  }

  private async sandboxesOf(w: Workshop): Promise<Sandbox[]> {
    return (await this.d.sandboxes.list({ workshop: w.id })).filter((s) => s.state !== 'terminating');
  }

  private cellsFor(w: Workshop, learner: Learner): { cells: GridCell[]; stuck: string | null } {
    const cells: GridCell[] = [];
    let stuck: string | null = null;
    for (const slug of w.lessons) {
      const lesson = this.d.library.bySlug.get(slug);
      if (!lesson?.lab) continue;
      const progress = new Map(this.d.checks.exercises(learner.id, lesson.canonicalId).map((p) => [p.exercise, p]));
      const runs = this.d.checks.runs(learner.id, lesson.canonicalId, 30);
      const running = new Set(runs.filter((r) => r.status === 'running').map((r) => r.exercise));
      for (const exercise of lesson.lab.exercises) {
        const p = progress.get(exercise.id);
        const status: GridCell['status'] = running.has(exercise.id) || running.has(null) ? 'running' : p === undefined ? 'not-started' : p.passed ? 'passed' : p.lastStatus;
        cells.push({ lesson: slug, exercise: exercise.id, status, attempts: p?.attempts ?? 0, lastCheckedAt: p?.lastCheckedAt ?? null });
        if (stuck === null && p && !p.passed) {
          // Consecutive failed runs of this exercise, newest first.
          let failures = 0;
          for (const run of runs) {
            const result = run.report?.exercises.find((e) => e.exercise === exercise.id);
            if (!result) continue;
            if (result.passed) break;
            failures += 1;
          }
          if (failures >= STUCK_FAILURES) stuck = `${failures} failed checks in a row on ${exercise.title}`;
        }
      }
    }
    return { cells, stuck };
  }

  private async rowFor(w: Workshop, learner: Learner, known?: { sandboxes: Sandbox[]; lastSeen: string | null }): Promise<GridRow> {
    const key = learnerKey(learner.id);
    const sandboxes = (known?.sandboxes ?? (await this.sandboxesOf(w))).filter((s) => s.learnerKey === key);
    const lastSeen = known ? known.lastSeen : (this.d.learners.lastSeen([learner.id]).get(learner.id) ?? null);
    const { cells, stuck: failing } = this.cellsFor(w, learner);
    const progress = this.d.lessons.learnerProgress(learner.id).lessons;
    const quiz = w.lessons.map((slug) => {
      const p = progress.find((l) => l.slug === slug)?.progress;
      return { lesson: slug, correct: p?.quizCorrect ?? 0, total: p?.quizTotal ?? this.d.library.bySlug.get(slug)?.quiz.length ?? 0 };
    });
    const activity = [lastSeen, ...sandboxes.map((s) => s.lastActivity)].filter((t): t is string => !!t).sort().at(-1) ?? null;
    const done = cells.length > 0 && cells.every((c) => c.status === 'passed');
    const idle = activity !== null && this.stateOf(w) === 'running' && !done && Date.now() - Date.parse(activity) > STUCK_IDLE_MS;
    return {
      learnerId: learner.id,
      displayName: learner.displayName ?? 'participant',
      lastActivity: activity,
      sandboxes: sandboxes.map((s) => ({ namespace: s.namespace, lesson: s.lesson, expiresAt: s.expiresAt })),
      quiz,
      cells,
      stuck: failing ?? (idle ? `no activity for ${Math.round((Date.now() - Date.parse(activity)) / 60_000)} minutes` : null),
      terminalOpen: sandboxes.some((s) => this.d.terminalOpen(s.namespace)),
    };
  }

  async grid(id: string, viewer: Learner): Promise<GridResponse> {
    const w = this.owned(id, viewer);
    const joined = this.d.learners.byWorkshop(w.id);
    const participants = [...joined, ...(this.d.members?.(w.id) ?? []).filter((m) => !joined.some((j) => j.id === m.id))];
    const sandboxes = await this.sandboxesOf(w);
    const lastSeen = this.d.learners.lastSeen(participants.map((p) => p.id));
    const columns = w.lessons.flatMap((slug) => (this.d.library.bySlug.get(slug)?.lab?.exercises ?? []).map((e) => ({ lesson: slug, exercise: e.id, title: e.title })));
    const rows = await Promise.all(participants.map((p) => this.rowFor(w, p, { sandboxes, lastSeen: lastSeen.get(p.id) ?? null })));
    for (const row of rows) this.rows.set(row.learnerId, { workshopId: w.id, row });
    return { workshop: this.view(w), columns, rows };
  }

  broadcast(id: string, viewer: Learner, text: string): BroadcastView {
    const w = this.owned(id, viewer);
    if (w.state === 'ended') throw new Conflict('the workshop has ended');
    const message = this.d.workshops.addMessage(w.id, text);
    this.emit('broadcast', { workshopId: w.id, message });
    return message;
  }

  /** A participant's sandbox, for the instructor's reset and extend. */
  async participantSandbox(id: string, viewer: Learner, namespace: string): Promise<Sandbox> {
    const w = this.owned(id, viewer);
    const sandbox = (await this.sandboxesOf(w)).find((s) => s.namespace === namespace);
    if (!sandbox) throw new NotFound(`workshop ${w.title} has no sandbox ${namespace}`);
    return sandbox;
  }

  async resetSandbox(id: string, viewer: Learner, namespace: string): Promise<SandboxView> {
    await this.participantSandbox(id, viewer, namespace);
    return sandboxView((await this.d.sandboxes.reset(namespace)).sandbox, await this.d.sandboxes.realNode());
  }

  async extendSandbox(id: string, viewer: Learner, namespace: string, minutes: number): Promise<SandboxView> {
    await this.participantSandbox(id, viewer, namespace);
    return sandboxView((await this.d.sandboxes.extend(namespace, minutes)).sandbox, await this.d.sandboxes.realNode());
  }

  /** Whether the viewer runs the workshop a sandbox belongs to (to watch its terminal or replay it). */
  async instructsSandbox(viewer: Learner, namespace: string): Promise<boolean> {
    if (viewer.kind !== 'account' || viewer.role === 'learner') return false;
    let sandbox: Sandbox;
    try {
      sandbox = await this.d.sandboxes.get(namespace);
    } catch {
      return false;
    }
    if (!sandbox.workshop) return false;
    const w = this.d.workshops.get(sandbox.workshop);
    return w !== undefined && (viewer.role === 'admin' || w.instructorId === viewer.id || (this.d.coInstructs?.(w.id, viewer.id) ?? false));
  }

  /** Whether the viewer runs a workshop that has this learner (by key) as a participant: replaying their terminal. */
  instructsLearnerKey(viewer: Learner, key: string): boolean {
    if (viewer.kind !== 'account' || viewer.role === 'learner') return false;
    return this.d.workshops.list(viewer.role === 'admin' ? undefined : viewer.id).some((w) => this.d.learners.byWorkshop(w.id).some((p) => learnerKey(p.id) === key));
  }

  /** A participant's recordings, for their instructor. */
  participant(id: string, viewer: Learner, learnerId: string): Learner {
    const w = this.owned(id, viewer);
    const learner = this.d.learners.byId(learnerId);
    if (!learner || learner.workshopId !== w.id) throw new NotFound(`workshop ${w.title} has no participant ${learnerId}`);
    return learner;
  }

  /**
   * Ends the workshop: joining closes and everyone hears it at once (the room and every
   * participant, over socket.io), then every participant sandbox is deleted and the warm-pool
   * sandboxes made for its empty seats go too (those other workshops still need stay).
   */
  async end(id: string, viewer: Learner): Promise<{ deleted: number; released: number }> {
    const w = this.owned(id, viewer);
    if (w.state !== 'ended') this.d.workshops.end(w.id);
    const sandboxes = await this.sandboxesOf(w);
    this.emit('ended', { workshopId: w.id, title: w.title, sandboxes: sandboxes.length });
    await Promise.all(
      sandboxes.map((s) =>
        this.d.sandboxes.delete(s.namespace, { wait: false, reason: `workshop "${w.title}" ended` }).catch((error: unknown) => {
          this.log.warn({ err: error, namespace: s.namespace }, 'could not delete a workshop sandbox');
        }),
      ),
    );
    const released = await this.d.sandboxes.trimPool(w.sandboxSize, this.poolTargets(Date.now()).get(w.sandboxSize) ?? 0).catch((error: unknown) => {
      this.log.warn({ err: error, workshop: w.id }, 'could not remove the warm pool of an ended workshop');
      return [];
    });
    this.log.info({ workshop: w.id, deleted: sandboxes.length, released: released.length }, 'workshop ended');
    return { deleted: sandboxes.length, released: released.length };
  }

  /** Results for export: one row per participant with every exercise and quiz score. */
  async results(id: string, viewer: Learner): Promise<{ json: GridResponse; csv: string }> {
    const grid = await this.grid(id, viewer);
    const header = ['participant', 'last activity', ...grid.workshop.lessons.map((l) => `quiz ${l.slug}`), ...grid.columns.map((c) => `${c.lesson}/${c.exercise}`), 'attempts'];
    const quote = (value: string) => (/[",\n\r]/.test(value) || /^[=+\-@\t]/.test(value) ? `"${value.replace(/^([=+\-@\t])/, "'$1").replace(/"/g, '""')}"` : value);
    const lines = [header.map(quote).join(',')];
    for (const row of grid.rows) {
      lines.push(
        [
          row.displayName,
          row.lastActivity ?? '',
          ...row.quiz.map((q) => `${q.correct}/${q.total}`),
          ...grid.columns.map((c) => row.cells.find((cell) => cell.lesson === c.lesson && cell.exercise === c.exercise)?.status ?? 'not-started'),
          String(row.cells.reduce((n, c) => n + c.attempts, 0)),
        ]
          .map(quote)
          .join(','),
      );
    }
    return { json: grid, csv: `${lines.join('\r\n')}\r\n` };
  }
}
