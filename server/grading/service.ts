import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { CheckRepository, Spare } from '../db/checks.ts';
import { Conflict, NotFound } from '../errors.ts';
import { fillPlaceholders, type PlaceholderValues } from '../lessons/placeholders.ts';
import { md } from '../lessons/render.ts';
import type { Library } from '../lessons/types.ts';
import type { Logger } from '../logger.ts';
import type { SandboxService } from '../sandboxes/service.ts';
import type { Grader } from './grader.ts';
import { checkName } from './runner.ts';
import type { GradeReport } from './types.ts';
import type { CheckProgressEvent, CheckRunView, ExerciseView, LabResponse } from './views.ts';
import type { CheckStatus } from '../vocabulary.ts';

export type GradingEvent = { type: 'progress'; learnerId: string; namespace: string; event: CheckProgressEvent } | { type: 'finished'; learnerId: string; namespace: string; run: CheckRunView };

/** Shown in instructions until the learner has a sandbox whose values can fill them. */
const GENERIC: PlaceholderValues = { namespace: '‹your namespace›', group: '‹your CRD group›', priorityClassPrefix: '‹your prefix›' };

/** The note of a run whose server stopped before it finished (a crash, a killed Pod, a restart). */
export const ABANDONED_NOTE = 'the server grading this check stopped before it finished; run it again';

function statusOf(report: GradeReport): CheckStatus {
  if (report.passed) return 'passed';
  return report.exercises.some((e) => e.checks.some((c) => c.status === 'error')) ? 'error' : 'failed';
}

/**
 * Check, as the lesson page offers it: a learner's own sandbox graded in the background, each
 * step announced as an event (socket.io carries them to the page and to the instructor's grid),
 * the report stored with the learner's progress.
 */
export class GradingService extends EventEmitter<{ event: [GradingEvent] }> {
  private readonly grader: Grader;
  private readonly sandboxes: SandboxService;
  private readonly checks: CheckRepository<GradeReport>;
  private readonly library: Library;
  private readonly log: Logger;
  /** Runs in progress by sandbox: one at a time per sandbox. */
  private readonly running = new Map<string, { run: CheckRunView; done: Promise<CheckRunView> }>();
  private readonly stopping = new AbortController();
  /** The replica this server is (server/replica.ts): recorded on every run it starts, so others leave the run alone while it lives. */
  private replica: string | null = null;

  constructor(deps: { grader: Grader; sandboxes: SandboxService; checks: CheckRepository<GradeReport>; library: Library; logger: Logger }) {
    super();
    this.grader = deps.grader;
    this.sandboxes = deps.sandboxes;
    this.checks = deps.checks;
    this.library = deps.library;
    this.log = deps.logger.child({ component: 'checks' });
  }

  /**
   * At start, before a check can run: takes this replica's id and ends the runs a stopped server
   * left 'running' (`spare`: whose runs are still being graded, see CheckRepository.abandon).
   */
  async recover(replica: string, spare: Spare): Promise<void> {
    this.replica = replica;
    const abandoned = await this.abandon(spare);
    if (abandoned > 0) this.log.info({ abandoned }, 'marked checks interrupted by a restart as errors');
  }

  /**
   * Ends as errors the runs whose server stopped grading them, with a report that says so, and
   * tells their learners (socket.io carries the event to whichever replica serves them); how many.
   */
  async abandon(spare: Spare): Promise<number> {
    const runs = await this.checks.abandon(spare, (run) => ({
      lesson: run.lesson,
      namespace: run.namespace,
      passed: false,
      exercises: [],
      startedAt: run.startedAt,
      durationMs: Math.max(0, Date.parse(run.finishedAt ?? run.startedAt) - Date.parse(run.startedAt)),
      notes: [ABANDONED_NOTE],
    }));
    for (const { learnerId, ...run } of runs) this.emit('event', { type: 'finished', learnerId, namespace: run.namespace, run });
    return runs.length;
  }

  private lessonOf(slug: string) {
    const lesson = this.library.bySlug.get(slug);
    if (!lesson) throw new NotFound(`there is no lesson "${slug}"`);
    return lesson;
  }

  /** The lab's exercises with the learner's values filled in, and their progress. */
  async lab(slug: string, learnerId: string | undefined): Promise<LabResponse> {
    const lesson = this.lessonOf(slug);
    if (!lesson.lab) throw new NotFound(`lesson "${slug}" has no lab`);
    const sandbox = learnerId ? (await this.sandboxes.list({ learnerId })).find((s) => s.lesson === slug && s.state !== 'terminating') : undefined;
    const values: PlaceholderValues = sandbox ? { namespace: sandbox.namespace, group: sandbox.group, priorityClassPrefix: sandbox.priorityClassPrefix } : GENERIC;
    const progress = new Map((learnerId ? await this.checks.exercises(learnerId, lesson.canonicalId) : []).map((p) => [p.exercise, p]));
    const exercises: ExerciseView[] = lesson.lab.exercises.map((exercise) => {
      const mine = progress.get(exercise.id);
      return {
        id: exercise.id,
        title: exercise.title,
        section: exercise.section ?? null,
        instructionsHtml: md.render(fillPlaceholders(exercise.instructions, values)),
        hintsHtml: exercise.hints.map((hint) => md.renderInline(fillPlaceholders(hint, values))),
        checks: exercise.checks.map((check, i) => ({ name: checkName(check, i), description: fillPlaceholders(check.description ?? checkName(check, i), values) })),
        progress: { attempts: mine?.attempts ?? 0, passed: mine?.passed ?? false, lastStatus: mine?.lastStatus ?? null, lastCheckedAt: mine?.lastCheckedAt ?? null },
      };
    });
    return { lesson: slug, namespace: sandbox?.namespace ?? null, exercises };
  }

  /** Starts checking a learner's own sandbox; a second press while it runs gets the same run. */
  async start(learnerId: string, namespace: string, exercise?: string): Promise<{ run: CheckRunView; done: Promise<CheckRunView> }> {
    const sandbox = await this.sandboxes.getOwned(namespace, learnerId);
    const lesson = this.lessonOf(sandbox.lesson);
    this.grader.exercisesOf(sandbox.lesson, exercise);
    const current = this.running.get(namespace);
    if (current) {
      if (current.run.exercise === (exercise ?? null)) return current;
      throw new Conflict(`a check of ${current.run.exercise ?? 'the whole lab'} is still running in ${namespace}; wait for it to finish`);
    }
    const run: CheckRunView = { id: randomUUID(), lesson: sandbox.lesson, exercise: exercise ?? null, namespace, status: 'running', startedAt: new Date().toISOString(), finishedAt: null, report: null };
    // The run is registered before the first await, so a second press cannot start another.
    const stored = this.checks.start({ id: run.id, learnerId, canonicalId: lesson.canonicalId, lesson: run.lesson, exercise: run.exercise, namespace, startedAt: run.startedAt, replicaId: this.replica });
    void this.sandboxes.touch(namespace).catch(() => undefined);

    const done = (async (): Promise<CheckRunView> => {
      let finished: CheckRunView;
      try {
        await stored;
        const report = await this.grader.grade({
          lesson: sandbox.lesson,
          exercise,
          sandbox: { namespace, group: sandbox.group, priorityClassPrefix: sandbox.priorityClassPrefix },
          signal: this.stopping.signal,
          onProgress: (progress) => {
            this.emit('event', { type: 'progress', learnerId, namespace, event: { runId: run.id, ...progress } });
          },
        });
        const status = statusOf(report);
        await this.checks.finish(run.id, learnerId, lesson.canonicalId, report, status);
        finished = { ...run, status, finishedAt: new Date().toISOString(), report };
      } catch (error) {
        this.log.error({ err: error, namespace, exercise }, 'a check run failed');
        const message = error instanceof Error ? error.message : String(error);
        const report: GradeReport = { lesson: sandbox.lesson, namespace, passed: false, exercises: [], startedAt: run.startedAt, durationMs: Date.now() - Date.parse(run.startedAt), notes: [`the check could not run: ${message}`] };
        await this.checks.finish(run.id, learnerId, lesson.canonicalId, report, 'error');
        finished = { ...run, status: 'error', finishedAt: new Date().toISOString(), report };
      } finally {
        this.running.delete(namespace);
      }
      this.emit('event', { type: 'finished', learnerId, namespace, run: finished });
      return finished;
    })();
    const entry = { run, done };
    this.running.set(namespace, entry);
    await stored;
    return entry;
  }

  async get(id: string, learnerId: string): Promise<CheckRunView> {
    const run = await this.checks.get(id, learnerId);
    if (!run) throw new NotFound(`there is no check run ${id}`);
    return run;
  }

  async runs(slug: string, learnerId: string): Promise<CheckRunView[]> {
    return this.checks.runs(learnerId, this.lessonOf(slug).canonicalId);
  }

  /** Cancels the runs in progress and waits until they have stored their results (server shutdown). */
  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.all([...this.running.values()].map((r) => r.done.catch(() => undefined)));
  }
}
