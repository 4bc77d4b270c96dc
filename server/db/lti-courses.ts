import { randomUUID } from 'node:crypto';
import { sql, type Selectable } from 'kysely';
import { changed, type Db } from './database.ts';
import type { Database } from './schema.ts';

/** An LMS course, and the workshop that is its instructors' room (once an instructor has come). */
export interface LtiContext {
  id: string;
  platformId: string;
  contextId: string;
  title: string;
  workshopId: string | null;
  membershipsUrl: string | null;
}

export interface LtiMember {
  sub: string;
  learnerId: string | null;
  name: string | null;
  roles: string[];
  instructor: boolean;
  launchedAt: string | null;
}

/** A lesson, or one exercise of it, placed in a course; its gradebook column once known. */
export interface LtiLink {
  id: string;
  context: string;
  resourceLinkId: string;
  lesson: string;
  exercise: string | null;
  title: string | null;
  lineItemUrl: string | null;
  lineItemsUrl: string | null;
  agsScopes: string[];
}

export interface DeepLinkRequest {
  id: string;
  platformId: string;
  deploymentId: string;
  learnerId: string;
  returnUrl: string;
  data: string | null;
  acceptMultiple: boolean;
}

/** An lti_links row as the queries select it (the table's type in schema.ts). */
type LinkRow = Omit<Selectable<Database['lti_links']>, 'created_at'>;

const linkOf = (r: LinkRow): LtiLink => ({
  id: r.id,
  context: r.context,
  resourceLinkId: r.resource_link_id,
  lesson: r.lesson,
  exercise: r.exercise,
  title: r.title,
  lineItemUrl: r.line_item_url,
  lineItemsUrl: r.line_items_url,
  agsScopes: JSON.parse(r.ags_scopes) as string[],
});

const CONTEXT_COLUMNS = ['id', 'platform_id as platformId', 'context_id as contextId', 'title', 'workshop_id as workshopId', 'memberships_url as membershipsUrl'] as const;

/** LMS users, courses, members, resource links, deep linking requests and the last score sent. */
export class LtiCourseRepository {
  private readonly db: Db;
  constructor(db: Db) {
    this.db = db;
  }

  /**
   * The learner of an LMS user (issuer + subject), made on their first launch. Instructors are
   * accounts with the instructor role and no password (they come in through the LMS only);
   * everyone else is a participant of the course's workshop. Nobody is ever made an admin, and a
   * role is never lowered: an instructor of one course stays one when they learn in another.
   */
  linkUser(user: { issuer: string; sub: string; name: string; instructor: boolean; workshopId: string | null }): Promise<{ learnerId: string; created: boolean }> {
    return this.db.transaction().execute(async (trx) => {
      const now = new Date().toISOString();
      const known = await trx
        .selectFrom('lti_users as u')
        .innerJoin('learners as l', 'l.id', 'u.learner_id')
        .select(['u.learner_id as id', 'l.kind', 'l.role'])
        .where('u.issuer', '=', user.issuer)
        .where('u.sub', '=', user.sub)
        .executeTakeFirst();
      if (!known) {
        const id = randomUUID();
        if (user.instructor) {
          await trx.insertInto('learners').values({ id, display_name: user.name, created_at: now, kind: 'account', role: 'instructor' }).execute();
        } else {
          await trx.insertInto('learners').values({ id, display_name: user.name, created_at: now, kind: 'participant', role: 'learner', workshop_id: user.workshopId }).execute();
        }
        await trx.insertInto('lti_users').values({ issuer: user.issuer, sub: user.sub, learner_id: id, created_at: now }).execute();
        return { learnerId: id, created: true };
      }
      await trx.updateTable('learners').set({ display_name: user.name }).where('id', '=', known.id).execute();
      if (user.instructor && known.kind === 'participant') {
        await trx.updateTable('learners').set({ kind: 'account', role: 'instructor' }).where('id', '=', known.id).execute();
      } else if (user.instructor && known.kind === 'account' && known.role === 'learner') {
        await trx.updateTable('learners').set({ role: 'instructor' }).where('id', '=', known.id).execute();
      } else if (!user.instructor && known.kind === 'participant' && user.workshopId !== null) {
        // Live updates and broadcasts follow the course the learner opened last.
        await trx.updateTable('learners').set({ workshop_id: user.workshopId }).where('id', '=', known.id).execute();
      }
      return { learnerId: known.id, created: false };
    });
  }

  async learnerOf(issuer: string, sub: string, db: Db = this.db): Promise<string | undefined> {
    return (await db.selectFrom('lti_users').select('learner_id').where('issuer', '=', issuer).where('sub', '=', sub).executeTakeFirst())?.learner_id;
  }

  // ---- courses

  async upsertContext(input: { platformId: string; contextId: string; title: string; membershipsUrl: string | null }): Promise<LtiContext> {
    await this.db
      .insertInto('lti_contexts')
      .values({ id: randomUUID(), platform_id: input.platformId, context_id: input.contextId, title: input.title, memberships_url: input.membershipsUrl, created_at: new Date().toISOString() })
      .onConflict((oc) =>
        oc.columns(['platform_id', 'context_id']).doUpdateSet((eb) => ({
          title: eb.ref('excluded.title'),
          memberships_url: eb.fn.coalesce('excluded.memberships_url', 'lti_contexts.memberships_url'),
        })),
      )
      .execute();
    const context = await this.db.selectFrom('lti_contexts').select(CONTEXT_COLUMNS).where('platform_id', '=', input.platformId).where('context_id', '=', input.contextId).executeTakeFirst();
    if (!context) throw new Error('the course just stored is missing');
    return context;
  }

  context(id: string): Promise<LtiContext | undefined> {
    return this.db.selectFrom('lti_contexts').select(CONTEXT_COLUMNS).where('id', '=', id).executeTakeFirst();
  }

  contextOfWorkshop(workshopId: string): Promise<LtiContext | undefined> {
    return this.db.selectFrom('lti_contexts').select(CONTEXT_COLUMNS).where('workshop_id', '=', workshopId).executeTakeFirst();
  }

  /** Gives a course its room; learners who came before an instructor join it. */
  async setWorkshop(context: string, workshopId: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('lti_contexts').set({ workshop_id: workshopId }).where('id', '=', context).execute();
      await trx
        .updateTable('learners')
        .set({ workshop_id: workshopId })
        .where('kind', '=', 'participant')
        .where('workshop_id', 'is', null)
        .where('id', 'in', (eb) => eb.selectFrom('lti_members').select('learner_id').where('context', '=', context).where('instructor', '=', 0))
        .execute();
    });
  }

  // ---- members

  /** A member as a launch shows them (they have a learner now). */
  async memberLaunched(context: string, member: { sub: string; learnerId: string; name: string; roles: string[]; instructor: boolean }): Promise<void> {
    const now = new Date().toISOString();
    await this.db
      .insertInto('lti_members')
      .values({ context, sub: member.sub, learner_id: member.learnerId, name: member.name, roles: JSON.stringify(member.roles), instructor: member.instructor ? 1 : 0, launched_at: now, updated_at: now })
      .onConflict((oc) =>
        oc.columns(['context', 'sub']).doUpdateSet((eb) => ({
          learner_id: eb.ref('excluded.learner_id'), name: eb.ref('excluded.name'), roles: eb.ref('excluded.roles'), instructor: eb.ref('excluded.instructor'),
          launched_at: eb.ref('excluded.launched_at'), updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .execute();
  }

  /** Members as the platform lists them (NRPS); launches already seen are kept. */
  async rosterUpdate(context: string, issuer: string, members: { sub: string; name: string | null; roles: string[]; instructor: boolean }[]): Promise<void> {
    const now = new Date().toISOString();
    await this.db.transaction().execute(async (trx) => {
      for (const m of members) {
        const learnerId = (await this.learnerOf(issuer, m.sub, trx)) ?? null;
        await trx
          .insertInto('lti_members')
          .values({ context, sub: m.sub, learner_id: learnerId, name: m.name, roles: JSON.stringify(m.roles), instructor: m.instructor ? 1 : 0, updated_at: now })
          .onConflict((oc) =>
            oc.columns(['context', 'sub']).doUpdateSet((eb) => ({
              learner_id: eb.fn.coalesce('lti_members.learner_id', 'excluded.learner_id'),
              name: eb.fn.coalesce('excluded.name', 'lti_members.name'),
              roles: eb.ref('excluded.roles'),
              instructor: eb.ref('excluded.instructor'),
              updated_at: eb.ref('excluded.updated_at'),
            })),
          )
          .execute();
      }
    });
  }

  async members(context: string): Promise<LtiMember[]> {
    const rows = await this.db
      .selectFrom('lti_members')
      .select(['sub', 'learner_id as learnerId', 'name', 'roles', 'instructor', 'launched_at as launchedAt'])
      .where('context', '=', context)
      // NULLs first, as SQLite sorts them (PostgreSQL puts them last unless told).
      .orderBy(sql`name IS NULL`, 'desc')
      .orderBy('name')
      .orderBy('sub')
      .execute();
    return rows.map((r) => ({ ...r, roles: JSON.parse(r.roles) as string[], instructor: r.instructor === 1 }));
  }

  /** The member's subject in a course, if the learner belongs to it. */
  async subOf(context: string, learnerId: string): Promise<string | undefined> {
    return (await this.db.selectFrom('lti_members').select('sub').where('context', '=', context).where('learner_id', '=', learnerId).executeTakeFirst())?.sub;
  }

  /** Whether a learner teaches the course whose room this workshop is. */
  async teaches(workshopId: string, learnerId: string): Promise<boolean> {
    const members = this.db.selectFrom('lti_members as m').innerJoin('lti_contexts as c', 'c.id', 'm.context').where('c.workshop_id', '=', workshopId);
    return (await members.select('m.sub').where('m.learner_id', '=', learnerId).where('m.instructor', '=', 1).executeTakeFirst()) !== undefined;
  }

  /** The learners of the course whose room this workshop is (not its instructors). */
  async learnersOfWorkshop(workshopId: string): Promise<string[]> {
    const members = this.db.selectFrom('lti_members as m').innerJoin('lti_contexts as c', 'c.id', 'm.context').where('c.workshop_id', '=', workshopId);
    const rows = await members.select('m.learner_id').where('m.instructor', '=', 0).where('m.learner_id', 'is not', null).execute();
    return rows.flatMap((r) => (r.learner_id === null ? [] : [r.learner_id]));
  }

  // ---- resource links

  async upsertLink(input: Omit<LtiLink, 'id'>): Promise<LtiLink> {
    await this.db
      .insertInto('lti_links')
      .values({
        id: randomUUID(),
        context: input.context,
        resource_link_id: input.resourceLinkId,
        lesson: input.lesson,
        exercise: input.exercise,
        title: input.title,
        line_item_url: input.lineItemUrl,
        line_items_url: input.lineItemsUrl,
        ags_scopes: JSON.stringify(input.agsScopes),
        created_at: new Date().toISOString(),
      })
      .onConflict((oc) =>
        oc.columns(['context', 'resource_link_id']).doUpdateSet((eb) => ({
          lesson: eb.ref('excluded.lesson'),
          exercise: eb.ref('excluded.exercise'),
          title: eb.fn.coalesce('excluded.title', 'lti_links.title'),
          line_item_url: eb.fn.coalesce('excluded.line_item_url', 'lti_links.line_item_url'),
          line_items_url: eb.fn.coalesce('excluded.line_items_url', 'lti_links.line_items_url'),
          ags_scopes: eb.ref('excluded.ags_scopes'),
        })),
      )
      .execute();
    const row = await this.db.selectFrom('lti_links').selectAll().where('context', '=', input.context).where('resource_link_id', '=', input.resourceLinkId).executeTakeFirst();
    if (!row) throw new Error('the link just stored is missing');
    return linkOf(row);
  }

  /** The lessons linked in a course, in the order they were first linked. */
  async lessonsOfContext(context: string): Promise<string[]> {
    const rows = await this.db.selectFrom('lti_links').select('lesson').where('context', '=', context).groupBy('lesson').orderBy((eb) => eb.fn.min('created_at')).execute();
    return rows.map((r) => r.lesson);
  }

  async link(id: string): Promise<LtiLink | undefined> {
    const row = await this.db.selectFrom('lti_links').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? linkOf(row) : undefined;
  }

  /** Links of a lesson in the courses this learner learns in (not those they teach), with their subject there. */
  async linksOfLearner(learnerId: string, lesson: string): Promise<(LtiLink & { sub: string; platformId: string })[]> {
    const rows = await this.db
      .selectFrom('lti_links as k')
      .innerJoin('lti_members as m', 'm.context', 'k.context')
      .innerJoin('lti_contexts as c', 'c.id', 'k.context')
      .selectAll('k')
      .select(['m.sub as sub', 'c.platform_id as platform_id'])
      .where('k.lesson', '=', lesson)
      .where('m.learner_id', '=', learnerId)
      .where('m.instructor', '=', 0)
      .orderBy('k.created_at')
      .execute();
    return rows.map((r) => ({ ...linkOf(r), sub: r.sub, platformId: r.platform_id }));
  }

  async setLineItem(linkId: string, url: string): Promise<void> {
    await this.db.updateTable('lti_links').set({ line_item_url: url }).where('id', '=', linkId).execute();
  }

  // ---- last results queued

  lastResult(linkId: string, learnerId: string): Promise<{ scoreGiven: number; scoreMaximum: number; timestamp: string } | undefined> {
    return this.db.selectFrom('lti_results').select(['score_given as scoreGiven', 'score_maximum as scoreMaximum', 'timestamp']).where('link_id', '=', linkId).where('learner_id', '=', learnerId).executeTakeFirst();
  }

  async setResult(linkId: string, learnerId: string, result: { scoreGiven: number; scoreMaximum: number; timestamp: string }): Promise<void> {
    await this.db
      .insertInto('lti_results')
      .values({ link_id: linkId, learner_id: learnerId, score_given: result.scoreGiven, score_maximum: result.scoreMaximum, timestamp: result.timestamp })
      .onConflict((oc) =>
        oc.columns(['link_id', 'learner_id']).doUpdateSet((eb) => ({ score_given: eb.ref('excluded.score_given'), score_maximum: eb.ref('excluded.score_maximum'), timestamp: eb.ref('excluded.timestamp') })),
      )
      .execute();
  }

  // ---- deep linking requests

  async addDeepLink(request: Omit<DeepLinkRequest, 'id'>, ttlMs: number): Promise<string> {
    const id = randomUUID();
    await this.db
      .insertInto('lti_deep_links')
      .values({
        id, platform_id: request.platformId, deployment_id: request.deploymentId, learner_id: request.learnerId, return_url: request.returnUrl, data: request.data,
        accept_multiple: request.acceptMultiple ? 1 : 0, expires_at: new Date(Date.now() + ttlMs).toISOString(),
      })
      .execute();
    return id;
  }

  /** A deep linking request of this learner that is still open. */
  async deepLink(id: string, learnerId: string): Promise<DeepLinkRequest | undefined> {
    const row = await this.db
      .selectFrom('lti_deep_links')
      .select(['id', 'platform_id as platformId', 'deployment_id as deploymentId', 'learner_id as learnerId', 'return_url as returnUrl', 'data', 'accept_multiple as acceptMultiple'])
      .where('id', '=', id)
      .where('learner_id', '=', learnerId)
      .where('used_at', 'is', null)
      .where('expires_at', '>', new Date().toISOString())
      .executeTakeFirst();
    return row ? { ...row, acceptMultiple: row.acceptMultiple === 1 } : undefined;
  }

  async useDeepLink(id: string): Promise<boolean> {
    return changed(await this.db.updateTable('lti_deep_links').set({ used_at: new Date().toISOString() }).where('id', '=', id).where('used_at', 'is', null).executeTakeFirst()) === 1;
  }
}
