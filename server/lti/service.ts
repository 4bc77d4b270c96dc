import { randomBytes } from 'node:crypto';
import type { Db } from '../db/database.ts';
import type { Learner, LearnerRepository } from '../db/learners.ts';
import { LtiCourseRepository } from '../db/lti-courses.ts';
import { LtiPlatformRepository, type Platform, type PlatformInput } from '../db/lti-platforms.ts';
import { ScoreQueueRepository } from '../db/lti-queue.ts';
import { LearnerResults } from '../db/lti-results.ts';
import type { WorkshopRepository } from '../db/workshops.ts';
import { Invalid, NotFound, Unauthenticated } from '../errors.ts';
import type { GradingEvent } from '../grading/service.ts';
import type { Library } from '../lessons/types.ts';
import type { Logger } from '../logger.ts';
import type { DeepLinkChoiceResponse, DeepLinkOptionsResponse, LtiAdminResponse, LtiPlatformView, LtiToolUrls, RosterResponse } from './views.ts';
import { teaches } from './claims.ts';
import { systemClock, type Clock } from './clock.ts';
import { DeepLinking } from './deep-linking.ts';
import { ToolKeys } from './keys.ts';
import { LaunchVerifier, type LoginRequest } from './launch.ts';
import { GradePassback } from './passback.ts';
import { allowedUrl, PlatformClient } from './platform-client.ts';
import { Provisioner, type Landing } from './provision.ts';
import { ScoreQueue, type Backoff } from './queue.ts';
import { DynamicRegistration } from './registration.ts';

/** A launch's ticket must be exchanged for a session within this time. */
const TICKET_TTL_MS = 2 * 60_000;

interface Emitter<E> {
  on(event: string, listener: (payload: E) => void): unknown;
  off(event: string, listener: (payload: E) => void): unknown;
}

export interface LtiDeps {
  db: Db;
  library: Library;
  learners: LearnerRepository;
  workshops: WorkshopRepository;
  /** Check runs and quiz answers, whose results go to the gradebooks. */
  grading: Emitter<GradingEvent>;
  lessons: Emitter<{ learnerId: string; slug: string }>;
  logger: Logger;
  /** Where LMSs and browsers reach kubedojo (the public URL). */
  baseUrl: () => string;
  keyRotationDays: number;
  allowHttp: boolean;
  clock?: Clock;
  backoff?: Backoff;
  /** Look for scores other replicas queued this often (ms) while delivering. */
  pollMs?: number;
}

export function platformView(p: Platform): LtiPlatformView {
  return { id: p.id, name: p.name, issuer: p.issuer, clientId: p.clientId, deployments: p.deployments, authUrl: p.authUrl, tokenUrl: p.tokenUrl, jwksUrl: p.jwksUrl, frameOrigins: p.frameOrigins, registeredBy: p.registeredBy, createdAt: p.createdAt };
}

/**
 * kubedojo as an LTI 1.3 tool: registration (by an admin, or dynamic), launches, deep linking,
 * grade passback through a durable queue, and the course roster (NRPS). `start()` begins
 * following results and delivering scores; `stop()` ends both.
 */
export class LtiService {
  readonly platforms: LtiPlatformRepository;
  readonly courses: LtiCourseRepository;
  readonly keys: ToolKeys;
  readonly client: PlatformClient;
  readonly passback: GradePassback;
  readonly queue: ScoreQueue;
  readonly registration: DynamicRegistration;
  private readonly scores: ScoreQueueRepository;
  private readonly launches: LaunchVerifier;
  private readonly provisioner: Provisioner;
  private readonly deepLinks: DeepLinking;
  private readonly d: LtiDeps;
  private readonly log: Logger;
  private started = false;
  private readonly onGrading = (event: GradingEvent) => {
    if (event.type === 'finished') void this.resultChanged(event.learnerId, event.run.lesson);
  };
  private readonly onAnswer = (event: { learnerId: string; slug: string }) => {
    void this.resultChanged(event.learnerId, event.slug);
  };

  constructor(deps: LtiDeps) {
    this.d = deps;
    this.log = deps.logger.child({ component: 'lti' });
    const clock = deps.clock ?? systemClock;
    this.platforms = new LtiPlatformRepository(deps.db);
    this.courses = new LtiCourseRepository(deps.db);
    this.scores = new ScoreQueueRepository(deps.db);
    this.keys = new ToolKeys(this.platforms, { rotationDays: deps.keyRotationDays, now: () => clock.now() });
    this.client = new PlatformClient({ keys: this.keys, now: () => clock.now() });
    this.passback = new GradePassback({ courses: this.courses, platforms: this.platforms, queue: this.scores, results: new LearnerResults(deps.db), library: deps.library, client: this.client, clock, logger: this.log });
    this.queue = new ScoreQueue({ repo: this.scores, deliver: (item) => this.passback.deliver(item), clock, logger: this.log, ...(deps.backoff ? { backoff: deps.backoff } : {}), ...(deps.pollMs ? { pollMs: deps.pollMs } : {}) });
    this.passback.notify = () => {
      this.queue.notify();
    };
    this.launches = new LaunchVerifier({ platforms: this.platforms, launchUrl: () => this.tool().launch });
    this.provisioner = new Provisioner({ courses: this.courses, workshops: deps.workshops, library: deps.library, logger: this.log });
    this.deepLinks = new DeepLinking({ library: deps.library, keys: this.keys, launchUrl: () => this.tool().launch });
    this.registration = new DynamicRegistration({ platforms: this.platforms, tool: () => this.tool(), allowHttp: deps.allowHttp, logger: this.log });
  }

  tool(): LtiToolUrls {
    const base = this.d.baseUrl();
    return { login: `${base}/lti/login`, launch: `${base}/lti/launch`, jwks: `${base}/.well-known/jwks.json`, deepLinking: `${base}/lti/launch`, registration: `${base}/lti/register` };
  }

  /**
   * Follows results into the score queue and, with `deliver`, starts delivering; a second call
   * does nothing. The platform delivers only on the replica that leads the cluster (a score sent
   * by two replicas would reach the LMS twice), so it starts the queue itself.
   */
  start(options: { deliver?: boolean } = {}): void {
    if (this.started) return;
    this.started = true;
    this.d.grading.on('event', this.onGrading);
    this.d.lessons.on('answered', this.onAnswer);
    if (options.deliver ?? true) this.queue.start();
  }

  async stop(): Promise<void> {
    this.started = false;
    this.d.grading.off('event', this.onGrading);
    this.d.lessons.off('answered', this.onAnswer);
    await this.queue.stop();
  }

  private async resultChanged(learnerId: string, slug: string): Promise<void> {
    try {
      await this.passback.resultChanged(learnerId, slug);
    } catch (error) {
      this.log.error({ err: error, learnerId, slug }, 'could not queue a score');
    }
  }

  /** The registered LMSs' origins, read at every request: a platform registered a moment ago (dynamic registration) frames us at once. */
  async frameAncestors(): Promise<string[]> {
    const origins = new Set<string>();
    for (const p of await this.platforms.list()) for (const value of [p.issuer, p.authUrl, ...p.frameOrigins]) if (allowedUrl(value, true)) origins.add(new URL(value).origin);
    return [...origins];
  }

  // ---- administration

  async admin(): Promise<LtiAdminResponse> {
    return { tool: this.tool(), platforms: (await this.platforms.list()).map(platformView), scores: await this.scores.counts() };
  }

  async addPlatform(input: Omit<PlatformInput, 'registeredBy'>): Promise<LtiPlatformView> {
    for (const [field, value] of [['authUrl', input.authUrl], ['tokenUrl', input.tokenUrl], ['jwksUrl', input.jwksUrl]] as const) {
      if (!allowedUrl(value, this.d.allowHttp)) throw new Invalid(`${field} must be an https URL${this.d.allowHttp ? ' (or http)' : ' (http only with --lti-allow-http)'}`, { issues: [{ field: `body.${field}`, message: 'must be an https URL' }] });
    }
    const platform = await this.platforms.upsert({ ...input, registeredBy: 'admin' });
    this.log.info({ platform: platform.id, issuer: platform.issuer, clientId: platform.clientId }, 'LTI platform registered by an admin');
    return platformView(platform);
  }

  async removePlatform(id: string): Promise<void> {
    if (!(await this.platforms.remove(id))) throw new NotFound(`there is no LTI platform ${id}`);
  }

  // ---- launches

  login(request: LoginRequest): Promise<{ redirect: string; state: string }> {
    return this.launches.login(request);
  }

  /** Verifies a launch and lands the LMS user: where to go, and a one-time ticket for the page's session. */
  async launch(form: { id_token: string; state: string }, cookieNames: readonly string[]): Promise<Landing & { ticket: string }> {
    const verified = await this.launches.verify(form, cookieNames);
    const landing = verified.kind === 'resource' ? await this.provisioner.resourceLaunch(verified.platform, verified.claims) : await this.provisioner.deepLinking(verified.platform, verified.claims);
    const ticket = randomBytes(32).toString('base64url');
    await this.platforms.addTicket(ticket, landing.learnerId, TICKET_TTL_MS);
    this.log.info({ platform: verified.platform.id, kind: verified.kind, learnerId: landing.learnerId, path: landing.path }, 'LTI launch');
    return { ...landing, ticket };
  }

  /** A launch ticket, once, becomes a session for the page inside the LMS (no cookie needed). */
  async exchange(ticket: string): Promise<{ learner: Learner; token: string }> {
    const learnerId = await this.platforms.takeTicket(ticket);
    const learner = learnerId ? await this.d.learners.byId(learnerId) : undefined;
    if (!learner) throw new Unauthenticated('This launch link was used already or has expired: open the activity again from your course.');
    return { learner, token: await this.d.learners.newSession(learner.id) };
  }

  // ---- deep linking

  private async deepLinkOf(id: string, learner: Learner) {
    const request = await this.courses.deepLink(id, learner.id);
    const platform = request ? await this.platforms.get(request.platformId) : undefined;
    if (!request || !platform) throw new NotFound('This content selection has ended or is not yours: start it again from the LMS.');
    return { request, platform };
  }

  async deepLinkOptions(id: string, learner: Learner): Promise<DeepLinkOptionsResponse> {
    const { request, platform } = await this.deepLinkOf(id, learner);
    return { platform: platform.name, acceptMultiple: request.acceptMultiple, items: this.deepLinks.catalog() };
  }

  async deepLinkChoose(id: string, learner: Learner, items: { lesson: string; exercise: string | null }[]): Promise<DeepLinkChoiceResponse> {
    const { request, platform } = await this.deepLinkOf(id, learner);
    const response = await this.deepLinks.respond(request, platform, items);
    if (!(await this.courses.useDeepLink(id))) throw new NotFound('This content selection was already sent.');
    return response;
  }

  // ---- the course's room

  /** Whether a learner teaches the course whose room this workshop is (co-instructors). */
  teaches(workshopId: string, learnerId: string): Promise<boolean> {
    return this.courses.teaches(workshopId, learnerId);
  }

  /** The learners of the course whose room this is, for its grid. */
  async courseLearners(workshopId: string): Promise<Learner[]> {
    const learners = await Promise.all((await this.courses.learnersOfWorkshop(workshopId)).map((id) => this.d.learners.byId(id)));
    return learners.flatMap((learner) => learner ?? []);
  }

  /** The course's members, as the LMS lists them now (NRPS), marked by whether they have started. */
  async roster(workshopId: string, viewer: Learner): Promise<RosterResponse> {
    const workshop = await this.d.workshops.get(workshopId);
    const mine = workshop && (viewer.role === 'admin' || workshop.instructorId === viewer.id || (await this.courses.teaches(workshopId, viewer.id)));
    const context = mine ? await this.courses.contextOfWorkshop(workshopId) : undefined;
    const platform = context ? await this.platforms.get(context.platformId) : undefined;
    if (!context || !platform) throw new NotFound(`workshop ${workshopId} is not the room of an LMS course of yours`);
    let problem: string | null = null;
    if (context.membershipsUrl === null) {
      problem = 'The LMS does not offer its member list (Names and Role Provisioning) for this course; only those who opened kubedojo are shown.';
    } else {
      try {
        const members = await this.client.members(platform, context.membershipsUrl);
        const active = members.filter((m) => m.status === undefined || m.status === 'Active');
        await this.courses.rosterUpdate(context.id, platform.issuer, active.map((m) => ({ sub: m.user_id, name: m.name ?? ([m.given_name, m.family_name].filter(Boolean).join(' ') || null), roles: m.roles, instructor: teaches(m.roles) })));
      } catch (error) {
        problem = `Could not read the course's members from the LMS: ${error instanceof Error ? error.message : String(error)}`;
        this.log.warn({ context: context.id, error: problem }, 'NRPS failed');
      }
    }
    const members = (await this.courses.members(context.id)).map((m) => ({ name: m.name ?? m.sub, roles: m.roles, instructor: m.instructor, status: m.launchedAt === null ? ('not-started' as const) : ('started' as const), launchedAt: m.launchedAt }));
    return { course: context.title, platform: platform.name, members, problem };
  }
}
