import { randomUUID } from 'node:crypto';
import type { LtiContext, LtiCourseRepository } from '../db/lti-courses.ts';
import type { Platform } from '../db/lti-platforms.ts';
import type { WorkshopRepository } from '../db/workshops.ts';
import { Forbidden, Invalid, NotFound } from '../errors.ts';
import type { Library } from '../lessons/types.ts';
import type { Logger } from '../logger.ts';
import { newJoinCode } from '../workshops/service.ts';
import { CLAIM, displayNameOf, targetOf, teaches, type DeepLinkingClaims, type ResourceLinkClaims } from './claims.ts';

/** A course's room stays open for a year; each instructor launch moves the end along. */
const ROOM_DAYS = 365;
/** How long an instructor has to pick content after a deep linking launch. */
export const DEEP_LINK_TTL_MS = 60 * 60_000;

export interface Landing {
  learnerId: string;
  /** The page of this kubedojo the launch lands on. */
  path: string;
  /** An anchor on that page (an exercise), without '#'. */
  anchor: string | null;
}

/**
 * Turns a verified launch into kubedojo's own things: the learner of the LMS user (by issuer and
 * subject), the course and its membership, the resource link with its line item, and for
 * instructors the course's room (a workshop whose instructors are the course's).
 */
export class Provisioner {
  private readonly courses: LtiCourseRepository;
  private readonly workshops: WorkshopRepository;
  private readonly library: Library;
  private readonly log: Logger;

  constructor(deps: { courses: LtiCourseRepository; workshops: WorkshopRepository; library: Library; logger: Logger }) {
    this.courses = deps.courses;
    this.workshops = deps.workshops;
    this.library = deps.library;
    this.log = deps.logger;
  }

  private contextOf(platform: Platform, claims: ResourceLinkClaims | DeepLinkingClaims): Promise<LtiContext> {
    const context = claims[CLAIM.context];
    if (!context) {
      throw new Invalid('The launch names no course (the context claim is missing): kubedojo places lessons inside courses. Add the activity to a course in the LMS.', {
        issues: [{ field: `id_token.${CLAIM.context}`, message: 'is required' }],
      });
    }
    const nrps = (claims as ResourceLinkClaims)[CLAIM.nrps];
    return this.courses.upsertContext({ platformId: platform.id, contextId: context.id, title: context.title ?? context.label ?? 'LMS course', membershipsUrl: nrps?.context_memberships_url ?? null });
  }

  /** The course's room: made by its first instructor, its lessons following the course's links. */
  private async roomFor(context: LtiContext, instructorId: string): Promise<string> {
    const lessons = await this.courses.lessonsOfContext(context.id);
    const ends = new Date(Date.now() + ROOM_DAYS * 86_400_000).toISOString();
    if (context.workshopId !== null && (await this.workshops.get(context.workshopId))) {
      await this.workshops.setLessons(context.workshopId, lessons);
      await this.workshops.extendTo(context.workshopId, ends);
      return context.workshopId;
    }
    const size = this.library.bySlug.get(lessons[0] ?? '')?.lab?.sandbox.size ?? 'small';
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const id = randomUUID();
      const now = new Date().toISOString();
      // No seats: nobody joins a course's room with a code, and no warm pool is filled for it.
      if (await this.workshops.insert({ id, code: newJoinCode(), title: context.title, instructorId, lessons, seats: 0, sandboxSize: size, startsAt: now, endsAt: ends, state: 'scheduled', createdAt: now, endedAt: null })) {
        await this.courses.setWorkshop(context.id, id);
        this.log.info({ context: context.id, workshop: id }, 'made the room of an LMS course');
        return id;
      }
    }
    throw new Error('could not draw a free join code for a course room');
  }

  private async join(platform: Platform, context: LtiContext, claims: ResourceLinkClaims | DeepLinkingClaims): Promise<{ learnerId: string; instructor: boolean }> {
    const roles = claims[CLAIM.roles];
    const instructor = teaches(roles);
    const name = displayNameOf(claims);
    const { learnerId } = await this.courses.linkUser({ issuer: platform.issuer, sub: claims.sub, name, instructor, workshopId: instructor ? null : context.workshopId });
    await this.courses.memberLaunched(context.id, { sub: claims.sub, learnerId, name, roles, instructor });
    return { learnerId, instructor };
  }

  /** A resource link launch: learners land on the lesson (at the exercise), instructors in the room. */
  async resourceLaunch(platform: Platform, claims: ResourceLinkClaims): Promise<Landing> {
    const context = await this.contextOf(platform, claims);
    const target = targetOf(claims[CLAIM.custom], claims[CLAIM.targetLinkUri]);
    const { learnerId, instructor } = await this.join(platform, context, claims);
    if (target) {
      const lesson = this.library.bySlug.get(target.lesson);
      if (!lesson) throw new NotFound(`This link points at the lesson "${target.lesson}", which this kubedojo does not have. Ask your instructor to pick the content again.`);
      if (target.exercise !== null && !lesson.lab?.exercises.some((e) => e.id === target.exercise)) throw new NotFound(`This link points at the exercise "${target.exercise}", which the lesson "${lesson.title}" does not have.`);
      const ags = claims[CLAIM.ags];
      await this.courses.upsertLink({
        context: context.id,
        resourceLinkId: claims[CLAIM.resourceLink].id,
        lesson: target.lesson,
        exercise: target.exercise,
        title: claims[CLAIM.resourceLink].title ?? null,
        lineItemUrl: ags?.lineitem ?? null,
        lineItemsUrl: ags?.lineitems ?? null,
        agsScopes: ags?.scope ?? [],
      });
      if (context.workshopId !== null) await this.workshops.setLessons(context.workshopId, await this.courses.lessonsOfContext(context.id));
    }
    if (instructor) return { learnerId, path: `/workshops/${await this.roomFor((await this.courses.context(context.id)) ?? context, learnerId)}`, anchor: null };
    if (!target) throw new Invalid('This link names no kubedojo lesson (no kubedojo_lesson custom parameter). Ask your instructor to add it again with "Select content".');
    return { learnerId, path: `/lessons/${target.lesson}`, anchor: target.exercise ? `exercise-${target.exercise}` : null };
  }

  /** A deep linking request: only those who teach the course pick content for it. */
  async deepLinking(platform: Platform, claims: DeepLinkingClaims): Promise<Landing> {
    if (!teaches(claims[CLAIM.roles])) throw new Forbidden('Only the instructors of a course pick kubedojo content for it.');
    const settings = claims[CLAIM.deepLinkingSettings];
    if (!settings.accept_types.includes('ltiResourceLink')) throw new Invalid(`The LMS accepts ${settings.accept_types.join(', ') || 'no content types'} here, and kubedojo offers links to lessons (ltiResourceLink).`);
    const context = await this.contextOf(platform, claims);
    const { learnerId } = await this.join(platform, context, claims);
    const id = await this.courses.addDeepLink(
      { platformId: platform.id, deploymentId: claims[CLAIM.deploymentId], learnerId, returnUrl: settings.deep_link_return_url, data: settings.data ?? null, acceptMultiple: settings.accept_multiple ?? false },
      DEEP_LINK_TTL_MS,
    );
    return { learnerId, path: `/lti/deep-link/${id}`, anchor: null };
  }
}
