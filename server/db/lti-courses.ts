import { randomUUID } from 'node:crypto';
import type { Db } from './database.ts';

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

interface LinkRow {
  id: string;
  context: string;
  resource_link_id: string;
  lesson: string;
  exercise: string | null;
  title: string | null;
  line_item_url: string | null;
  line_items_url: string | null;
  ags_scopes: string;
}

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

const CONTEXT_COLUMNS = 'id, platform_id AS platformId, context_id AS contextId, title, workshop_id AS workshopId, memberships_url AS membershipsUrl';

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
  linkUser(user: { issuer: string; sub: string; name: string; instructor: boolean; workshopId: string | null }): { learnerId: string; created: boolean } {
    return this.db.transaction(() => {
      const now = new Date().toISOString();
      const known = this.db.prepare('SELECT u.learner_id AS id, l.kind, l.role FROM lti_users u JOIN learners l ON l.id = u.learner_id WHERE u.issuer = ? AND u.sub = ?').get(user.issuer, user.sub) as
        | { id: string; kind: string; role: string }
        | undefined;
      if (!known) {
        const id = randomUUID();
        if (user.instructor) {
          this.db.prepare("INSERT INTO learners (id, display_name, created_at, kind, role) VALUES (?, ?, ?, 'account', 'instructor')").run(id, user.name, now);
        } else {
          this.db.prepare("INSERT INTO learners (id, display_name, created_at, kind, role, workshop_id) VALUES (?, ?, ?, 'participant', 'learner', ?)").run(id, user.name, now, user.workshopId);
        }
        this.db.prepare('INSERT INTO lti_users (issuer, sub, learner_id, created_at) VALUES (?, ?, ?, ?)').run(user.issuer, user.sub, id, now);
        return { learnerId: id, created: true };
      }
      this.db.prepare('UPDATE learners SET display_name = ? WHERE id = ?').run(user.name, known.id);
      if (user.instructor && known.kind === 'participant') {
        this.db.prepare("UPDATE learners SET kind = 'account', role = 'instructor' WHERE id = ?").run(known.id);
      } else if (user.instructor && known.kind === 'account' && known.role === 'learner') {
        this.db.prepare("UPDATE learners SET role = 'instructor' WHERE id = ?").run(known.id);
      } else if (!user.instructor && known.kind === 'participant' && user.workshopId !== null) {
        // Live updates and broadcasts follow the course the learner opened last.
        this.db.prepare('UPDATE learners SET workshop_id = ? WHERE id = ?').run(user.workshopId, known.id);
      }
      return { learnerId: known.id, created: false };
    })();
  }

  learnerOf(issuer: string, sub: string): string | undefined {
    return this.db.prepare('SELECT learner_id FROM lti_users WHERE issuer = ? AND sub = ?').pluck().get(issuer, sub) as string | undefined;
  }

  // ---- courses

  upsertContext(input: { platformId: string; contextId: string; title: string; membershipsUrl: string | null }): LtiContext {
    this.db
      .prepare(
        `INSERT INTO lti_contexts (id, platform_id, context_id, title, memberships_url, created_at) VALUES (@id, @platformId, @contextId, @title, @membershipsUrl, @now)
         ON CONFLICT (platform_id, context_id) DO UPDATE SET title = excluded.title, memberships_url = COALESCE(excluded.memberships_url, lti_contexts.memberships_url)`,
      )
      .run({ ...input, id: randomUUID(), now: new Date().toISOString() });
    const context = this.db.prepare(`SELECT ${CONTEXT_COLUMNS} FROM lti_contexts WHERE platform_id = ? AND context_id = ?`).get(input.platformId, input.contextId) as LtiContext | undefined;
    if (!context) throw new Error('the course just stored is missing');
    return context;
  }

  context(id: string): LtiContext | undefined {
    return this.db.prepare(`SELECT ${CONTEXT_COLUMNS} FROM lti_contexts WHERE id = ?`).get(id) as LtiContext | undefined;
  }

  contextOfWorkshop(workshopId: string): LtiContext | undefined {
    return this.db.prepare(`SELECT ${CONTEXT_COLUMNS} FROM lti_contexts WHERE workshop_id = ?`).get(workshopId) as LtiContext | undefined;
  }

  /** Gives a course its room; learners who came before an instructor join it. */
  setWorkshop(context: string, workshopId: string): void {
    this.db.transaction(() => {
      this.db.prepare('UPDATE lti_contexts SET workshop_id = ? WHERE id = ?').run(workshopId, context);
      this.db
        .prepare("UPDATE learners SET workshop_id = ? WHERE kind = 'participant' AND workshop_id IS NULL AND id IN (SELECT learner_id FROM lti_members WHERE context = ? AND instructor = 0)")
        .run(workshopId, context);
    })();
  }

  // ---- members

  /** A member as a launch shows them (they have a learner now). */
  memberLaunched(context: string, member: { sub: string; learnerId: string; name: string; roles: string[]; instructor: boolean }): void {
    const now = new Date().toISOString();
    this.db
      .prepare(
        `INSERT INTO lti_members (context, sub, learner_id, name, roles, instructor, launched_at, updated_at) VALUES (@context, @sub, @learnerId, @name, @roles, @instructor, @now, @now)
         ON CONFLICT (context, sub) DO UPDATE SET learner_id = excluded.learner_id, name = excluded.name, roles = excluded.roles, instructor = excluded.instructor, launched_at = excluded.launched_at, updated_at = excluded.updated_at`,
      )
      .run({ context, ...member, roles: JSON.stringify(member.roles), instructor: member.instructor ? 1 : 0, now });
  }

  /** Members as the platform lists them (NRPS); launches already seen are kept. */
  rosterUpdate(context: string, issuer: string, members: { sub: string; name: string | null; roles: string[]; instructor: boolean }[]): void {
    const now = new Date().toISOString();
    const upsert = this.db.prepare(
      `INSERT INTO lti_members (context, sub, learner_id, name, roles, instructor, updated_at) VALUES (@context, @sub, @learnerId, @name, @roles, @instructor, @now)
       ON CONFLICT (context, sub) DO UPDATE SET learner_id = COALESCE(lti_members.learner_id, excluded.learner_id), name = COALESCE(excluded.name, lti_members.name),
         roles = excluded.roles, instructor = excluded.instructor, updated_at = excluded.updated_at`,
    );
    this.db.transaction(() => {
      for (const m of members) upsert.run({ context, sub: m.sub, learnerId: this.learnerOf(issuer, m.sub) ?? null, name: m.name, roles: JSON.stringify(m.roles), instructor: m.instructor ? 1 : 0, now });
    })();
  }

  members(context: string): LtiMember[] {
    const rows = this.db.prepare('SELECT sub, learner_id AS learnerId, name, roles, instructor, launched_at AS launchedAt FROM lti_members WHERE context = ? ORDER BY name, sub').all(context) as (Omit<LtiMember, 'roles' | 'instructor'> & { roles: string; instructor: number })[];
    return rows.map((r) => ({ ...r, roles: JSON.parse(r.roles) as string[], instructor: r.instructor === 1 }));
  }

  /** The member's subject in a course, if the learner belongs to it. */
  subOf(context: string, learnerId: string): string | undefined {
    return this.db.prepare('SELECT sub FROM lti_members WHERE context = ? AND learner_id = ?').pluck().get(context, learnerId) as string | undefined;
  }

  /** Whether a learner teaches the course whose room this workshop is. */
  teaches(workshopId: string, learnerId: string): boolean {
    return this.db.prepare('SELECT 1 FROM lti_members m JOIN lti_contexts c ON c.id = m.context WHERE c.workshop_id = ? AND m.learner_id = ? AND m.instructor = 1').get(workshopId, learnerId) !== undefined;
  }

  /** The learners of the course whose room this workshop is (not its instructors). */
  learnersOfWorkshop(workshopId: string): string[] {
    return this.db.prepare('SELECT m.learner_id FROM lti_members m JOIN lti_contexts c ON c.id = m.context WHERE c.workshop_id = ? AND m.instructor = 0 AND m.learner_id IS NOT NULL').pluck().all(workshopId) as string[];
  }

  // ---- resource links

  upsertLink(input: Omit<LtiLink, 'id'>): LtiLink {
    this.db
      .prepare(
        `INSERT INTO lti_links (id, context, resource_link_id, lesson, exercise, title, line_item_url, line_items_url, ags_scopes, created_at)
         VALUES (@id, @context, @resourceLinkId, @lesson, @exercise, @title, @lineItemUrl, @lineItemsUrl, @agsScopes, @now)
         ON CONFLICT (context, resource_link_id) DO UPDATE SET lesson = excluded.lesson, exercise = excluded.exercise, title = COALESCE(excluded.title, lti_links.title),
           line_item_url = COALESCE(excluded.line_item_url, lti_links.line_item_url), line_items_url = COALESCE(excluded.line_items_url, lti_links.line_items_url),
           ags_scopes = excluded.ags_scopes`,
      )
      .run({ ...input, id: randomUUID(), agsScopes: JSON.stringify(input.agsScopes), now: new Date().toISOString() });
    const row = this.db.prepare('SELECT * FROM lti_links WHERE context = ? AND resource_link_id = ?').get(input.context, input.resourceLinkId) as LinkRow | undefined;
    if (!row) throw new Error('the link just stored is missing');
    return linkOf(row);
  }

  /** The lessons linked in a course, in the order they were first linked. */
  lessonsOfContext(context: string): string[] {
    return this.db.prepare('SELECT lesson FROM lti_links WHERE context = ? GROUP BY lesson ORDER BY MIN(created_at)').pluck().all(context) as string[];
  }

  link(id: string): LtiLink | undefined {
    const row = this.db.prepare('SELECT * FROM lti_links WHERE id = ?').get(id) as LinkRow | undefined;
    return row ? linkOf(row) : undefined;
  }

  /** Links of a lesson in the courses this learner learns in (not those they teach), with their subject there. */
  linksOfLearner(learnerId: string, lesson: string): (LtiLink & { sub: string; platformId: string })[] {
    const rows = this.db
      .prepare(
        `SELECT k.*, m.sub AS sub, c.platform_id AS platform_id FROM lti_links k JOIN lti_members m ON m.context = k.context JOIN lti_contexts c ON c.id = k.context
         WHERE k.lesson = ? AND m.learner_id = ? AND m.instructor = 0 ORDER BY k.created_at`,
      )
      .all(lesson, learnerId) as (LinkRow & { sub: string; platform_id: string })[];
    return rows.map((r) => ({ ...linkOf(r), sub: r.sub, platformId: r.platform_id }));
  }

  setLineItem(linkId: string, url: string): void {
    this.db.prepare('UPDATE lti_links SET line_item_url = ? WHERE id = ?').run(url, linkId);
  }

  // ---- last results queued

  lastResult(linkId: string, learnerId: string): { scoreGiven: number; scoreMaximum: number; timestamp: string } | undefined {
    return this.db.prepare('SELECT score_given AS scoreGiven, score_maximum AS scoreMaximum, timestamp FROM lti_results WHERE link_id = ? AND learner_id = ?').get(linkId, learnerId) as
      | { scoreGiven: number; scoreMaximum: number; timestamp: string }
      | undefined;
  }

  setResult(linkId: string, learnerId: string, result: { scoreGiven: number; scoreMaximum: number; timestamp: string }): void {
    this.db
      .prepare(
        `INSERT INTO lti_results (link_id, learner_id, score_given, score_maximum, timestamp) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (link_id, learner_id) DO UPDATE SET score_given = excluded.score_given, score_maximum = excluded.score_maximum, timestamp = excluded.timestamp`,
      )
      .run(linkId, learnerId, result.scoreGiven, result.scoreMaximum, result.timestamp);
  }

  // ---- deep linking requests

  addDeepLink(request: Omit<DeepLinkRequest, 'id'>, ttlMs: number): string {
    const id = randomUUID();
    this.db
      .prepare('INSERT INTO lti_deep_links (id, platform_id, deployment_id, learner_id, return_url, data, accept_multiple, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(id, request.platformId, request.deploymentId, request.learnerId, request.returnUrl, request.data, request.acceptMultiple ? 1 : 0, new Date(Date.now() + ttlMs).toISOString());
    return id;
  }

  /** A deep linking request of this learner that is still open. */
  deepLink(id: string, learnerId: string): DeepLinkRequest | undefined {
    const row = this.db
      .prepare('SELECT id, platform_id AS platformId, deployment_id AS deploymentId, learner_id AS learnerId, return_url AS returnUrl, data, accept_multiple AS acceptMultiple FROM lti_deep_links WHERE id = ? AND learner_id = ? AND used_at IS NULL AND expires_at > ?')
      .get(id, learnerId, new Date().toISOString()) as (Omit<DeepLinkRequest, 'acceptMultiple'> & { acceptMultiple: number }) | undefined;
    return row ? { ...row, acceptMultiple: row.acceptMultiple === 1 } : undefined;
  }

  useDeepLink(id: string): boolean {
    return this.db.prepare('UPDATE lti_deep_links SET used_at = ? WHERE id = ? AND used_at IS NULL').run(new Date().toISOString(), id).changes === 1;
  }
}
