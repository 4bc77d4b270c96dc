import type { Learner, LearnerRepository } from '../db/learners.ts';
import type { Workshop, WorkshopRepository } from '../db/workshops.ts';
import { NotFound } from '../errors.ts';
import { learnerKey } from '../sandboxes/names.ts';
import type { Sandbox, SandboxService } from '../sandboxes/service.ts';

/**
 * Who may run a workshop and see into it: its instructor, an admin, or a co-instructor (the
 * instructors of an LMS course, for its room). Anyone else gets "not found", never "forbidden",
 * so nobody learns which workshops exist.
 */
export class WorkshopAccess {
  private readonly workshops: WorkshopRepository;
  private readonly learners: LearnerRepository;
  private readonly sandboxes: SandboxService;
  private readonly coInstructs: (workshopId: string, learnerId: string) => Promise<boolean>;

  constructor(deps: { workshops: WorkshopRepository; learners: LearnerRepository; sandboxes: SandboxService; coInstructs?: ((workshopId: string, learnerId: string) => Promise<boolean>) | undefined }) {
    this.workshops = deps.workshops;
    this.learners = deps.learners;
    this.sandboxes = deps.sandboxes;
    this.coInstructs = deps.coInstructs ?? (() => Promise.resolve(false));
  }

  private async runs(viewer: Learner, w: Workshop): Promise<boolean> {
    return viewer.role === 'admin' || w.instructorId === viewer.id || (await this.coInstructs(w.id, viewer.id));
  }

  /** A workshop the viewer may run: their own, or any for an admin. Others get "not found". */
  async owned(id: string, viewer: Learner): Promise<Workshop> {
    const w = await this.workshops.get(id);
    if (!w || !(await this.runs(viewer, w))) throw new NotFound(`there is no workshop ${id}`);
    return w;
  }

  /** Whether the viewer runs the workshop a sandbox belongs to (to watch its terminal or replay it). */
  async instructsSandbox(viewer: Learner, namespace: string): Promise<boolean> {
    if (viewer.kind !== 'account' || viewer.role === 'learner') return false;
    let sandbox: Sandbox;
    try {
      sandbox = await this.sandboxes.get(namespace);
    } catch {
      return false;
    }
    if (!sandbox.workshop) return false;
    const w = await this.workshops.get(sandbox.workshop);
    return w !== undefined && (await this.runs(viewer, w));
  }

  /** Whether the viewer runs a workshop that has this learner (by key) as a participant: replaying their terminal. */
  async instructsLearnerKey(viewer: Learner, key: string): Promise<boolean> {
    if (viewer.kind !== 'account' || viewer.role === 'learner') return false;
    for (const w of await this.workshops.list(viewer.role === 'admin' ? undefined : viewer.id)) {
      if ((await this.learners.byWorkshop(w.id)).some((p) => learnerKey(p.id) === key)) return true;
    }
    return false;
  }

  /** A participant of a workshop the viewer runs (for their recordings). */
  async participant(id: string, viewer: Learner, learnerId: string): Promise<Learner> {
    const w = await this.owned(id, viewer);
    const learner = await this.learners.byId(learnerId);
    if (!learner || learner.workshopId !== w.id) throw new NotFound(`workshop ${w.title} has no participant ${learnerId}`);
    return learner;
  }
}
