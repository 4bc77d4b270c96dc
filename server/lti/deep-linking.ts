import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import type { DeepLinkRequest } from '../db/lti-courses.ts';
import type { Platform } from '../db/lti-platforms.ts';
import { Invalid } from '../errors.ts';
import type { Library } from '../lessons/types.ts';
import { LESSON_LEVELS } from '../vocabulary.ts';
import type { DeepLinkItemView } from './views.ts';
import { CLAIM } from './claims.ts';
import { TOOL_ALG, type ToolKeys } from './keys.ts';
import { scoreMaximum } from './passback.ts';

/**
 * Deep Linking 2.0: the catalog an instructor picks from (whole lessons, or single exercises),
 * and the signed LtiDeepLinkingResponse that hands the choice back to the LMS. Each choice
 * becomes a resource link with a line item whose maximum is what the learner can score.
 */
export class DeepLinking {
  private readonly library: Library;
  private readonly keys: ToolKeys;
  private readonly launchUrl: () => string;

  constructor(deps: { library: Library; keys: ToolKeys; launchUrl: () => string }) {
    this.library = deps.library;
    this.keys = deps.keys;
    this.launchUrl = deps.launchUrl;
  }

  /** Everything that can be placed in a course: a lesson (checks + quiz) and each of its exercises. */
  catalog(): DeepLinkItemView[] {
    const lessons = [...this.library.lessons].sort((a, b) => LESSON_LEVELS.indexOf(a.level) - LESSON_LEVELS.indexOf(b.level) || a.number - b.number || a.title.localeCompare(b.title));
    const items: DeepLinkItemView[] = [];
    for (const lesson of lessons) {
      const whole = scoreMaximum(lesson, null);
      if (whole > 0) items.push({ lesson: lesson.slug, exercise: null, title: lesson.title, lessonTitle: lesson.title, level: lesson.level, scoreMaximum: whole });
      for (const exercise of lesson.lab?.exercises ?? []) {
        items.push({ lesson: lesson.slug, exercise: exercise.id, title: exercise.title, lessonTitle: lesson.title, level: lesson.level, scoreMaximum: exercise.checks.length });
      }
    }
    return items;
  }

  /** The signed response for the chosen items, and where the browser posts it. */
  async respond(request: DeepLinkRequest, platform: Platform, chosen: { lesson: string; exercise: string | null }[]): Promise<{ returnUrl: string; jwt: string }> {
    if (chosen.length > 1 && !request.acceptMultiple) throw new Invalid('The LMS takes one item here: pick one lesson or exercise.', { issues: [{ field: 'body.items', message: 'must hold exactly one item' }] });
    const catalog = this.catalog();
    const items = chosen.map((c, i) => {
      const found = catalog.find((item) => item.lesson === c.lesson && item.exercise === c.exercise);
      if (!found) throw new Invalid(`There is no ${c.exercise ? `exercise "${c.exercise}" in ` : ''}lesson "${c.lesson}" to link.`, { issues: [{ field: `body.items.${i}`, message: 'is not in the catalog' }] });
      return found;
    });
    const contentItems = items.map((item) => {
      const url = new URL(this.launchUrl());
      url.searchParams.set('lesson', item.lesson);
      if (item.exercise) url.searchParams.set('exercise', item.exercise);
      const title = item.exercise ? `${item.lessonTitle}: ${item.title}` : item.title;
      return {
        type: 'ltiResourceLink',
        title,
        url: url.toString(),
        custom: { kubedojo_lesson: item.lesson, ...(item.exercise ? { kubedojo_exercise: item.exercise } : {}) },
        lineItem: { scoreMaximum: item.scoreMaximum, label: title, resourceId: item.exercise ? `${item.lesson}/${item.exercise}` : item.lesson, tag: 'kubedojo' },
      };
    });
    const signing = await this.keys.signing();
    const jwt = await new SignJWT({
      [CLAIM.messageType]: 'LtiDeepLinkingResponse',
      [CLAIM.version]: '1.3.0',
      [CLAIM.deploymentId]: request.deploymentId,
      [CLAIM.contentItems]: contentItems,
      ...(request.data !== null ? { [CLAIM.deepLinkingData]: request.data } : {}),
      nonce: randomBytes(16).toString('base64url'),
    })
      .setProtectedHeader({ alg: TOOL_ALG, kid: signing.kid, typ: 'JWT' })
      .setIssuer(platform.clientId)
      .setAudience(platform.issuer)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(signing.key);
    return { returnUrl: request.returnUrl, jwt };
  }
}
