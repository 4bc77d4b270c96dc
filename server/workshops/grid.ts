import type { CheckRepository } from '../db/checks.ts';
import type { Learner, LearnerRepository } from '../db/learners.ts';
import type { Workshop, WorkshopRepository } from '../db/workshops.ts';
import type { GradingEvent, GradingService } from '../grading/service.ts';
import type { LessonService } from '../lessons/lesson-service.ts';
import type { Library } from '../lessons/types.ts';
import type { Logger } from '../logger.ts';
import type { GridCell, GridResponse, GridRow } from './views.ts';
import { learnerKey } from '../sandboxes/names.ts';
import type { Sandbox, SandboxService } from '../sandboxes/service.ts';
import { workshopState } from './codes.ts';

const STUCK_FAILURES = 3;
const STUCK_IDLE_MS = 10 * 60_000;

export interface GridDeps {
  workshops: WorkshopRepository;
  learners: LearnerRepository;
  sandboxes: SandboxService;
  checks: CheckRepository;
  lessons: LessonService;
  grading: GradingService;
  library: Library;
  logger: Logger;
  /** Of these sandboxes, those whose terminal is open now, on any replica (the grid shows it). */
  terminalsOpen: (namespaces: readonly string[]) => Promise<Set<string>>;
  /** Calls back when a sandbox's terminal opens or ends on this replica; returns the unsubscribe. */
  followTerminals?: ((listener: (namespace: string) => void) => () => void) | undefined;
  /** Members who did not join with the code (the learners of an LMS course), for the grid. */
  members?: ((workshopId: string) => Promise<Learner[]>) | undefined;
  /** Where a changed row goes (the instructor's room, over socket.io). */
  emitRow: (change: { workshopId: string; row: GridRow }) => void;
}

/** A workshop's sandboxes that are not being deleted. */
export async function workshopSandboxes(sandboxes: SandboxService, w: Workshop): Promise<Sandbox[]> {
  return (await sandboxes.list({ workshop: w.id })).filter((s) => s.state !== 'terminating');
}

/**
 * The live grid of a workshop: a row per participant (exercises, quiz, activity, who is stuck).
 * Once started it follows checks and quiz answers: a check's result is patched into the last
 * row sent at once, and the whole row is recomputed soon after (a burst makes one computation).
 */
export class LiveGrid {
  private readonly d: GridDeps;
  /** The last row sent for each participant, so a check's result can go out without recomputing it. */
  private readonly rows = new Map<string, { workshopId: string; row: GridRow }>();
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private following = false;
  private unfollowTerminals: (() => void) | undefined;

  constructor(deps: GridDeps) {
    this.d = deps;
  }

  private readonly onGrading = (event: GradingEvent): void => {
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
  };

  private readonly onAnswer = ({ learnerId }: { learnerId: string }): void => {
    this.schedule(learnerId, 200);
  };

  /**
   * A terminal opened or ended here: its participant's row is recomputed on this replica (the
   * mark is already in the database) and goes to the instructor's room over socket.io, which
   * spans the replicas, so the instructor's grid follows terminals held anywhere.
   */
  private readonly onTerminal = (namespace: string): void => {
    void (async () => {
      const sandbox = await this.d.sandboxes.get(namespace).catch(() => undefined);
      if (!sandbox?.workshop) return;
      const participants = [...(await this.d.learners.byWorkshop(sandbox.workshop)), ...((await this.d.members?.(sandbox.workshop)) ?? [])];
      const learner = participants.find((p) => learnerKey(p.id) === sandbox.learnerKey);
      if (learner) this.schedule(learner.id, 0);
    })().catch((error: unknown) => {
      this.d.logger.warn({ err: error, namespace }, 'could not follow a terminal into the grid');
    });
  };

  /** Follows checks and quiz answers into the grid. */
  start(): void {
    if (this.following) return;
    this.following = true;
    this.d.grading.on('event', this.onGrading);
    this.d.lessons.on('answered', this.onAnswer);
    this.unfollowTerminals = this.d.followTerminals?.(this.onTerminal);
  }

  stop(): void {
    this.following = false;
    this.d.grading.off('event', this.onGrading);
    this.d.lessons.off('answered', this.onAnswer);
    this.unfollowTerminals?.();
    this.unfollowTerminals = undefined;
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
  }

  /** Sends a participant's row with some cells changed; with no row yet, computes it at once. */
  private patch(learnerId: string, change: (cell: GridCell) => GridCell): void {
    const known = this.rows.get(learnerId);
    if (!known) {
      this.schedule(learnerId, 0);
      return;
    }
    const row = { ...known.row, cells: known.row.cells.map(change) };
    this.rows.set(learnerId, { workshopId: known.workshopId, row });
    this.d.emitRow({ workshopId: known.workshopId, row });
  }

  /** Recomputes a participant's whole row soon; a burst of events for one learner makes one computation. */
  private schedule(learnerId: string, delayMs: number): void {
    if (this.pending.has(learnerId)) return;
    const timer = setTimeout(() => {
      this.pending.delete(learnerId);
      void this.refresh(learnerId);
    }, delayMs);
    timer.unref();
    this.pending.set(learnerId, timer);
  }

  /** Recomputes a participant's row now and sends it (a new participant appears in the room). */
  async refresh(learnerId: string): Promise<void> {
    try {
      const learner = await this.d.learners.byId(learnerId);
      if (!learner?.workshopId) return;
      const workshop = await this.d.workshops.get(learner.workshopId);
      if (!workshop || workshop.state === 'ended') return;
      const row = await this.rowFor(workshop, learner);
      this.rows.set(learnerId, { workshopId: workshop.id, row });
      this.d.emitRow({ workshopId: workshop.id, row });
    } catch (error) {
      this.d.logger.warn({ err: error, learnerId }, 'could not refresh a grid row');
    }
  }

  /** Every participant's row and the exercise columns, computed now (and kept for later patches). */
  async grid(w: Workshop): Promise<Pick<GridResponse, 'columns' | 'rows'>> {
    const joined = await this.d.learners.byWorkshop(w.id);
    const participants = [...joined, ...((await this.d.members?.(w.id)) ?? []).filter((m) => !joined.some((j) => j.id === m.id))];
    const sandboxes = await workshopSandboxes(this.d.sandboxes, w);
    const lastSeen = await this.d.learners.lastSeen(participants.map((p) => p.id));
    const terminals = await this.d.terminalsOpen(sandboxes.map((s) => s.namespace));
    const columns = w.lessons.flatMap((slug) => (this.d.library.bySlug.get(slug)?.lab?.exercises ?? []).map((e) => ({ lesson: slug, exercise: e.id, title: e.title })));
    const rows = await Promise.all(participants.map((p) => this.rowFor(w, p, { sandboxes, lastSeen: lastSeen.get(p.id) ?? null, terminals })));
    for (const row of rows) this.rows.set(row.learnerId, { workshopId: w.id, row });
    return { columns, rows };
  }

  private async cellsFor(w: Workshop, learner: Learner): Promise<{ cells: GridCell[]; stuck: string | null }> {
    const cells: GridCell[] = [];
    let stuck: string | null = null;
    for (const slug of w.lessons) {
      const lesson = this.d.library.bySlug.get(slug);
      if (!lesson?.lab) continue;
      const progress = new Map((await this.d.checks.exercises(learner.id, lesson.canonicalId)).map((p) => [p.exercise, p]));
      const runs = await this.d.checks.runs(learner.id, lesson.canonicalId, 30);
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

  private async rowFor(w: Workshop, learner: Learner, known?: { sandboxes: Sandbox[]; lastSeen: string | null; terminals: Set<string> }): Promise<GridRow> {
    const key = learnerKey(learner.id);
    const sandboxes = (known?.sandboxes ?? (await workshopSandboxes(this.d.sandboxes, w))).filter((s) => s.learnerKey === key);
    const lastSeen = known ? known.lastSeen : ((await this.d.learners.lastSeen([learner.id])).get(learner.id) ?? null);
    const terminals = known?.terminals ?? (await this.d.terminalsOpen(sandboxes.map((s) => s.namespace)));
    const { cells, stuck: failing } = await this.cellsFor(w, learner);
    const progress = (await this.d.lessons.learnerProgress(learner.id)).lessons;
    const quiz = w.lessons.map((slug) => {
      const p = progress.find((l) => l.slug === slug)?.progress;
      return { lesson: slug, correct: p?.quizCorrect ?? 0, total: p?.quizTotal ?? this.d.library.bySlug.get(slug)?.quiz.length ?? 0 };
    });
    const activity = [lastSeen, ...sandboxes.map((s) => s.lastActivity)].filter((t): t is string => !!t).sort().at(-1) ?? null;
    const done = cells.length > 0 && cells.every((c) => c.status === 'passed');
    const idle = activity !== null && workshopState(w) === 'running' && !done && Date.now() - Date.parse(activity) > STUCK_IDLE_MS;
    return {
      learnerId: learner.id,
      displayName: learner.displayName ?? 'participant',
      lastActivity: activity,
      sandboxes: sandboxes.map((s) => ({ namespace: s.namespace, lesson: s.lesson, expiresAt: s.expiresAt })),
      quiz,
      cells,
      stuck: failing ?? (idle ? `no activity for ${Math.round((Date.now() - Date.parse(activity)) / 60_000)} minutes` : null),
      terminalOpen: sandboxes.some((s) => terminals.has(s.namespace)),
    };
  }
}
