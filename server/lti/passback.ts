import type { LtiCourseRepository, LtiLink } from '../db/lti-courses.ts';
import type { LtiPlatformRepository } from '../db/lti-platforms.ts';
import type { QueuedScore, ScoreBody, ScoreQueueRepository } from '../db/lti-queue.ts';
import type { LearnerResults } from '../db/lti-results.ts';
import { Forbidden } from '../errors.ts';
import type { Lesson, Library } from '../lessons/types.ts';
import type { Logger } from '../logger.ts';
import { SCOPE } from './claims.ts';
import type { Clock } from './clock.ts';
import { PlatformRefused, type PlatformClient } from './platform-client.ts';

/**
 * The most a link can score: one point per check of the exercise, or for a whole lesson one per
 * check of every exercise plus one per quiz question.
 */
export function scoreMaximum(lesson: Lesson, exercise: string | null): number {
  const exercises = lesson.lab?.exercises ?? [];
  if (exercise !== null) return exercises.find((e) => e.id === exercise)?.checks.length ?? 0;
  return exercises.reduce((n, e) => n + e.checks.length, 0) + lesson.quiz.length;
}

/** Whether a link can take scores: the platform granted the score scope and named (or lets us make) a line item. */
function gradable(link: LtiLink): boolean {
  return link.agsScopes.includes(SCOPE.score) && (link.lineItemUrl !== null || (link.lineItemsUrl !== null && link.agsScopes.includes(SCOPE.lineItem)));
}

/**
 * Grade passback (AGS): when a check run or a quiz answer changes a learner's result in a lesson,
 * every link of that lesson in the learner's courses gets a score queued, if it changed. The
 * score is fractional (checks passed, or best checks passed in one run, plus quiz questions
 * right), and delivery is the queue's (queue.ts).
 */
export class GradePassback {
  private readonly courses: LtiCourseRepository;
  private readonly platforms: LtiPlatformRepository;
  private readonly queue: ScoreQueueRepository;
  private readonly results: LearnerResults;
  private readonly library: Library;
  private readonly client: PlatformClient;
  private readonly clock: Clock;
  private readonly log: Logger;
  /** Tells the queue worker that there is something to send. */
  notify: () => void = () => undefined;
  /** Queuing compares with the last score queued: one at a time, so two changes never queue one score twice. */
  private serial: Promise<unknown> = Promise.resolve();

  constructor(deps: { courses: LtiCourseRepository; platforms: LtiPlatformRepository; queue: ScoreQueueRepository; results: LearnerResults; library: Library; client: PlatformClient; clock: Clock; logger: Logger }) {
    this.courses = deps.courses;
    this.platforms = deps.platforms;
    this.queue = deps.queue;
    this.results = deps.results;
    this.library = deps.library;
    this.client = deps.client;
    this.clock = deps.clock;
    this.log = deps.logger;
  }

  /** A learner's result for a lesson or one of its exercises. */
  async result(learnerId: string, lesson: Lesson, exercise: string | null): Promise<{ scoreGiven: number; scoreMaximum: number }> {
    const done = await this.results.exercises(learnerId, lesson.canonicalId);
    const exercises = (lesson.lab?.exercises ?? []).filter((e) => exercise === null || e.id === exercise);
    let given = 0;
    for (const e of exercises) {
      const mine = done.get(e.id);
      given += mine?.passed ? e.checks.length : Math.min(mine?.bestChecks ?? 0, e.checks.length);
    }
    if (exercise === null) {
      const right = await this.results.quizCorrect(learnerId, lesson.canonicalId);
      given += lesson.quiz.filter((q) => right.has(q.id)).length;
    }
    return { scoreGiven: given, scoreMaximum: scoreMaximum(lesson, exercise) };
  }

  /** A check finished or a question was answered in `slug`: queue what changed. Returns how many scores were queued. */
  resultChanged(learnerId: string, slug: string): Promise<number> {
    return this.serially(async () => {
      let queued = 0;
      for (const link of await this.courses.linksOfLearner(learnerId, slug)) {
        if (!gradable(link)) continue;
        if (await this.queueOne(link.id, learnerId)) queued += 1;
      }
      if (queued > 0) this.notify();
      return queued;
    });
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const run = this.serial.then(work);
    this.serial = run.catch(() => undefined);
    return run;
  }

  /**
   * Queues the learner's current result for one link, when it differs from the last one queued
   * (or always, with `force`). A learner who does not belong to the link's course is refused:
   * their score never goes to another course's gradebook.
   */
  queueFor(linkId: string, learnerId: string, options: { force?: boolean } = {}): Promise<boolean> {
    return this.serially(() => this.queueOne(linkId, learnerId, options));
  }

  private async queueOne(linkId: string, learnerId: string, options: { force?: boolean } = {}): Promise<boolean> {
    const link = await this.courses.link(linkId);
    const context = link ? await this.courses.context(link.context) : undefined;
    if (!link || !context) throw new Forbidden(`there is no LTI link ${linkId}`);
    const sub = await this.courses.subOf(link.context, learnerId);
    if (sub === undefined) throw new Forbidden(`learner ${learnerId} is not a member of the course of link ${linkId}; their score is not posted there`);
    const lesson = this.library.bySlug.get(link.lesson);
    if (!lesson) return false;
    const result = await this.result(learnerId, lesson, link.exercise);
    if (result.scoreMaximum <= 0) return false;
    const last = await this.courses.lastResult(link.id, learnerId);
    if (!options.force && last && last.scoreGiven === result.scoreGiven && last.scoreMaximum === result.scoreMaximum) return false;
    // Platforms keep the newest score by timestamp: each one of a user must be later than the last.
    const timestamp = new Date(Math.max(this.clock.now(), last ? Date.parse(last.timestamp) + 1 : 0)).toISOString();
    const score: ScoreBody = {
      userId: sub,
      scoreGiven: result.scoreGiven,
      scoreMaximum: result.scoreMaximum,
      activityProgress: result.scoreGiven >= result.scoreMaximum ? 'Completed' : result.scoreGiven > 0 ? 'InProgress' : 'Started',
      gradingProgress: 'FullyGraded',
      timestamp,
    };
    await this.courses.setResult(link.id, learnerId, { scoreGiven: result.scoreGiven, scoreMaximum: result.scoreMaximum, timestamp });
    await this.queue.enqueue({ linkId: link.id, learnerId, platformId: context.platformId, userId: sub, score }, this.clock.now());
    this.log.debug({ link: link.id, learnerId, scoreGiven: score.scoreGiven, scoreMaximum: score.scoreMaximum }, 'score queued');
    return true;
  }

  /** Sends one queued score (the queue calls this). Membership is checked again: rows are never trusted blindly. */
  async deliver(item: QueuedScore): Promise<void> {
    const link = await this.courses.link(item.linkId);
    const platform = await this.platforms.get(item.platformId);
    if (!link || !platform) throw new PlatformRefused(`the link or platform of score ${item.id} is gone`, 410);
    if ((await this.courses.subOf(link.context, item.learnerId)) !== item.userId) throw new PlatformRefused(`score ${item.id} is for someone who is not a member of that course`, 403);
    let lineItem = link.lineItemUrl;
    if (lineItem === null) {
      if (link.lineItemsUrl === null) throw new PlatformRefused(`link ${link.id} has no line item`, 404);
      const lesson = this.library.bySlug.get(link.lesson);
      lineItem = await this.client.lineItemFor(platform, link.lineItemsUrl, {
        resourceLinkId: link.resourceLinkId,
        resourceId: link.exercise ? `${link.lesson}/${link.exercise}` : link.lesson,
        label: link.title ?? lesson?.title ?? link.lesson,
        scoreMaximum: item.score.scoreMaximum,
      });
      await this.courses.setLineItem(link.id, lineItem);
    }
    await this.client.postScore(platform, lineItem, item.score);
  }
}
