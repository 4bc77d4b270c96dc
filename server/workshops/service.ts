import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { CheckRepository } from '../db/checks.ts';
import type { Learner, LearnerRepository } from '../db/learners.ts';
import type { Workshop, WorkshopRepository } from '../db/workshops.ts';
import { Conflict, Invalid, NotFound, Unavailable, isAppError } from '../errors.ts';
import type { GradingService } from '../grading/service.ts';
import type { LessonService } from '../lessons/lesson-service.ts';
import type { Library } from '../lessons/types.ts';
import type { Logger } from '../logger.ts';
import type { Sandbox, SandboxService } from '../sandboxes/service.ts';
import { sandboxView } from '../sandboxes/view.ts';
import type { SandboxView } from '../sandboxes/views.ts';
import type { SandboxSize } from '../vocabulary.ts';
import { WorkshopAccess } from './access.ts';
import { newJoinCode, normalizeCode, workshopState } from './codes.ts';
import { gridCsv } from './export.ts';
import { LiveGrid, workshopSandboxes } from './grid.ts';
import { PoolPlanner } from './pool-planner.ts';
import type { BroadcastView, GridResponse, GridRow, NewWorkshop, ParticipantWorkshopView, WorkshopEndedEvent, WorkshopView } from './views.ts';

export { newJoinCode, normalizeCode, workshopState } from './codes.ts';
export { POOL_LEAD_MS } from './pool-planner.ts';

/** Participants may join this long before the start. */
const JOIN_EARLY_MS = 60 * 60_000;

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
  /** Of these sandboxes, those whose terminal is open now, on any replica (the grid shows it). */
  terminalsOpen: (namespaces: readonly string[]) => Promise<Set<string>>;
  /** Calls back when a sandbox's terminal opens or ends on this replica; returns the unsubscribe. */
  followTerminals?: (listener: (namespace: string) => void) => () => void;
  /** The base URL of join links. */
  baseUrl: () => string;
  /** Who runs a workshop besides its instructor (the instructors of an LMS course, for its room). */
  coInstructs?: (workshopId: string, learnerId: string) => Promise<boolean>;
  /** Members who did not join with the code (the learners of an LMS course), for the grid. */
  members?: (workshopId: string) => Promise<Learner[]>;
}

/**
 * Instructor-led workshops: a join code, sandboxes made before people arrive (pool-planner.ts),
 * a live grid of every participant's exercises, quiz and activity (grid.ts), a broadcast to the
 * room, and an end that tears every sandbox down. Instructors see their own workshops; admins
 * see all (access.ts). This facade is what routes and sockets use.
 */
export class WorkshopService extends EventEmitter<WorkshopEvents> {
  private readonly d: WorkshopDeps;
  private readonly log: Logger;
  private readonly access: WorkshopAccess;
  private readonly planner: PoolPlanner;
  private readonly live: LiveGrid;

  constructor(deps: WorkshopDeps) {
    super();
    this.d = deps;
    this.log = deps.logger.child({ component: 'workshops' });
    this.access = new WorkshopAccess({ workshops: deps.workshops, learners: deps.learners, sandboxes: deps.sandboxes, coInstructs: deps.coInstructs });
    this.planner = new PoolPlanner({ workshops: deps.workshops, sandboxes: deps.sandboxes, logger: this.log });
    this.live = new LiveGrid({ ...deps, logger: this.log, emitRow: (change) => this.emit('row', change) });
  }

  /**
   * Follows checks and quiz answers into the grid; with `planPool`, also keeps the warm pool
   * ready for coming workshops (the platform leaves that to the replica that leads the cluster).
   */
  start(options: { planPool?: boolean } = {}): void {
    this.live.start();
    if (options.planPool ?? true) this.planner.start();
  }

  /** The pool planner alone: once per cluster, on the leading replica. */
  startPlanner(): void {
    this.planner.start();
  }

  stopPlanner(): void {
    this.planner.stop();
  }

  stop(): void {
    this.planner.stop();
    this.live.stop();
  }

  /** Tops the warm pool up for every workshop starting within the lead time (see PoolPlanner). */
  preparePool(now = Date.now()): Promise<void> {
    return this.planner.prepare(now);
  }

  /** Workshops under way now (metrics, the admin's capacity page). */
  async runningCount(now = Date.now()): Promise<number> {
    return (await this.d.workshops.scheduled()).filter((w) => workshopState(w, now) === 'running').length;
  }

  private lessonsOf(w: Workshop): { slug: string; title: string }[] {
    return w.lessons.map((slug) => ({ slug, title: this.d.library.bySlug.get(slug)?.title ?? slug }));
  }

  async view(w: Workshop): Promise<WorkshopView> {
    return {
      id: w.id,
      code: w.code,
      joinUrl: `${this.d.baseUrl()}/join/${w.code}`,
      title: w.title,
      lessons: this.lessonsOf(w),
      seats: w.seats,
      participants: await this.d.workshops.participantCount(w.id),
      sandboxSize: w.sandboxSize,
      startsAt: w.startsAt,
      endsAt: w.endsAt,
      state: workshopState(w),
      // The pool is shared by size; an ended workshop has none of it any more.
      warmSandboxes: w.state === 'ended' ? 0 : this.d.sandboxes.poolSizeOf(w.sandboxSize),
    };
  }

  async create(instructor: Learner, request: NewWorkshop): Promise<WorkshopView> {
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
      if (await this.d.workshops.insert(workshop)) {
        this.log.info({ workshop: workshop.id, seats: workshop.seats, startsAt: workshop.startsAt }, 'workshop created');
        void this.planner.prepare();
        return this.view(workshop);
      }
    }
    throw new Unavailable('could not draw a free join code; try again');
  }

  /** A workshop the viewer may run: their own, or any for an admin. Others get "not found". */
  owned(id: string, viewer: Learner): Promise<Workshop> {
    return this.access.owned(id, viewer);
  }

  async list(viewer: Learner): Promise<WorkshopView[]> {
    return Promise.all((await this.d.workshops.list(viewer.role === 'admin' ? undefined : viewer.id)).map((w) => this.view(w)));
  }

  async participantView(w: Workshop): Promise<ParticipantWorkshopView> {
    return { id: w.id, title: w.title, lessons: this.lessonsOf(w), startsAt: w.startsAt, endsAt: w.endsAt, state: workshopState(w), messages: await this.d.workshops.messages(w.id) };
  }

  /** The cluster's real node, if it has one, for the participant's sandbox view. */
  realNode(): Promise<string | null> {
    return this.d.sandboxes.realNode();
  }

  /** The workshop of a participant (their own only). */
  async mine(learner: Learner): Promise<ParticipantWorkshopView> {
    const w = learner.workshopId ? await this.d.workshops.get(learner.workshopId) : undefined;
    if (!w) throw new NotFound('you are not in a workshop');
    return this.participantView(w);
  }

  /**
   * Joins with a code and a display name: a participant (no account), signed in at once, with a
   * sandbox for the first lesson claimed from the warm pool.
   */
  async join(code: string, displayName: string): Promise<{ learner: Learner; token: string; workshop: ParticipantWorkshopView; sandbox: Sandbox | null; problem: string | null }> {
    const w = await this.d.workshops.byCode(normalizeCode(code));
    if (!w) throw new NotFound('there is no workshop with that code; check it with your instructor');
    const now = Date.now();
    if (w.state === 'ended' || now > Date.parse(w.endsAt)) throw new Conflict(`the workshop "${w.title}" has ended`);
    if (now < Date.parse(w.startsAt) - JOIN_EARLY_MS) throw new Conflict(`the workshop "${w.title}" opens at ${w.startsAt}, an hour before it starts`);
    const created = await this.d.learners.createParticipant(w.id, displayName, w.seats);
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
    void this.live.refresh(learner.id);
    return { learner, token, workshop: await this.participantView(w), sandbox, problem };
  }

  /** The workshop and size a participant's sandboxes carry, whatever the lesson; nothing for anyone else. */
  async sandboxPlacement(learner: Learner): Promise<{ workshop: string; size: SandboxSize } | undefined> {
    const w = learner.workshopId ? await this.d.workshops.get(learner.workshopId) : undefined;
    if (!w) return undefined;
    if (w.state === 'ended' || Date.now() > Date.parse(w.endsAt)) throw new Conflict(`the workshop "${w.title}" has ended, and its sandboxes with it`);
    return { workshop: w.id, size: w.sandboxSize };
  }

  async grid(id: string, viewer: Learner): Promise<GridResponse> {
    const w = await this.owned(id, viewer);
    return { workshop: await this.view(w), ...(await this.live.grid(w)) };
  }

  async broadcast(id: string, viewer: Learner, text: string): Promise<BroadcastView> {
    const w = await this.owned(id, viewer);
    if (w.state === 'ended') throw new Conflict('the workshop has ended');
    const message = await this.d.workshops.addMessage(w.id, text);
    this.emit('broadcast', { workshopId: w.id, message });
    return message;
  }

  /** A participant's sandbox, for the instructor's reset and extend. */
  async participantSandbox(id: string, viewer: Learner, namespace: string): Promise<Sandbox> {
    const w = await this.owned(id, viewer);
    const sandbox = (await workshopSandboxes(this.d.sandboxes, w)).find((s) => s.namespace === namespace);
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
  instructsSandbox(viewer: Learner, namespace: string): Promise<boolean> {
    return this.access.instructsSandbox(viewer, namespace);
  }

  /** Whether the viewer runs a workshop that has this learner (by key) as a participant: replaying their terminal. */
  instructsLearnerKey(viewer: Learner, key: string): Promise<boolean> {
    return this.access.instructsLearnerKey(viewer, key);
  }

  /** A participant's recordings, for their instructor. */
  participant(id: string, viewer: Learner, learnerId: string): Promise<Learner> {
    return this.access.participant(id, viewer, learnerId);
  }

  /**
   * Ends the workshop: joining closes and everyone hears it at once (the room and every
   * participant, over socket.io), then every participant sandbox is deleted and the warm-pool
   * sandboxes made for its empty seats go too (those other workshops still need stay).
   */
  async end(id: string, viewer: Learner): Promise<{ deleted: number; released: number }> {
    const w = await this.owned(id, viewer);
    if (w.state !== 'ended') await this.d.workshops.end(w.id);
    const sandboxes = await workshopSandboxes(this.d.sandboxes, w);
    this.emit('ended', { workshopId: w.id, title: w.title, sandboxes: sandboxes.length });
    await Promise.all(
      sandboxes.map((s) =>
        this.d.sandboxes.delete(s.namespace, { wait: false, reason: `workshop "${w.title}" ended` }).catch((error: unknown) => {
          this.log.warn({ err: error, namespace: s.namespace }, 'could not delete a workshop sandbox');
        }),
      ),
    );
    const released = await this.d.sandboxes.trimPool(w.sandboxSize, (await this.planner.targets(Date.now())).get(w.sandboxSize) ?? 0).catch((error: unknown) => {
      this.log.warn({ err: error, workshop: w.id }, 'could not remove the warm pool of an ended workshop');
      return [];
    });
    this.log.info({ workshop: w.id, deleted: sandboxes.length, released: released.length }, 'workshop ended');
    return { deleted: sandboxes.length, released: released.length };
  }

  /** Results for export: one row per participant with every exercise and quiz score. */
  async results(id: string, viewer: Learner): Promise<{ json: GridResponse; csv: string }> {
    const grid = await this.grid(id, viewer);
    return { json: grid, csv: gridCsv(grid) };
  }
}
