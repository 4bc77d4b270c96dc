import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';
import { mockRoutes } from './mock-routes.ts';

/**
 * A mock LMS that speaks the real LTI 1.3 protocols, for tests: its own RSA keys and JWKS, an
 * OIDC authorization endpoint that posts an id_token form back, an OAuth 2 token endpoint that
 * checks the tool's JWT client assertion (RFC 7523) against the tool's JWKS, AGS line items and
 * scores, NRPS memberships, deep linking returns verified with the tool's keys, and dynamic
 * registration. It records everything it receives, and can be taken down (connections refused)
 * and brought back on the same port.
 */

export const ROLE = {
  instructor: 'http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor',
  learner: 'http://purl.imsglobal.org/vocab/lis/v2/membership#Learner',
} as const;

export interface MockUser {
  sub: string;
  name: string;
  email: string;
  /** Context roles, by course id. */
  roles: Record<string, string[]>;
}

export interface MockCourse {
  id: string;
  title: string;
}

export interface MockLink {
  id: string;
  course: string;
  title: string;
  url: string;
  custom: Record<string, string>;
  lineItem: string | null;
}

export interface MockLineItem {
  id: string;
  course: string;
  label: string;
  scoreMaximum: number;
  resourceId: string | null;
  resourceLinkId: string | null;
  tag: string | null;
}

export interface ScoreRecord {
  lineItem: string;
  body: { userId: string; scoreGiven: number; scoreMaximum: number; activityProgress: string; gradingProgress: string; timestamp: string };
  at: number;
}

/** The tool as this platform knows it (from dynamic registration, or set by a test). */
export interface ToolRegistration {
  clientId: string;
  deploymentId: string;
  loginUrl: string;
  redirectUris: string[];
  jwksUrl: string;
  scopes: string[];
}

export interface PendingLaunch {
  id: string;
  user: string;
  course: string;
  kind: 'resource' | 'deep-linking';
  link: string | null;
}

/** What tests may change in the next id_tokens (the attacks). */
export interface Tamper {
  claims?: (claims: JWTPayload) => JWTPayload;
  key?: 'platform' | 'rogue';
  expiresIn?: number;
}

export class MockPlatform {
  readonly users = new Map<string, MockUser>();
  readonly courses = new Map<string, MockCourse>();
  readonly links = new Map<string, MockLink>();
  readonly lineItems = new Map<string, MockLineItem>();
  readonly launches = new Map<string, PendingLaunch>();
  readonly tokens = new Map<string, { scopes: string[]; expiresAt: number }>();
  tool: ToolRegistration | undefined;
  tamper: Tamper = {};
  readonly registrationToken = `reg-${randomUUID()}`;
  readonly received = {
    authRequests: [] as Record<string, string>[],
    tokenRequests: [] as { scope: string; clientId: string }[],
    scores: [] as ScoreRecord[],
    rejectedScores: [] as { lineItem: string; body: unknown; reason: string }[],
    registrations: [] as Record<string, unknown>[],
    deepLinkReturns: [] as { items: unknown[] }[],
    membershipRequests: 0,
  };
  private server: http.Server | undefined;
  private port = 0;
  private keys!: { privateKey: CryptoKey; jwk: JWK; rogue: CryptoKey };

  /** The issuer and base URL, on `localhost`: another site than kubedojo's 127.0.0.1 in the browser. */
  get url(): string {
    return `http://localhost:${this.port}`;
  }

  static async start(): Promise<MockPlatform> {
    const mock = new MockPlatform();
    const platform = await generateKeyPair('RS256', { extractable: true });
    const rogue = await generateKeyPair('RS256');
    mock.keys = { privateKey: platform.privateKey, jwk: { ...(await exportJWK(platform.publicKey)), kid: 'platform-1', alg: 'RS256', use: 'sig' }, rogue: rogue.privateKey };
    await mock.up();
    return mock;
  }

  jwks(): { keys: JWK[] } {
    return { keys: [this.keys.jwk] };
  }

  /** Listens (again, on the same port after `down`). */
  async up(): Promise<void> {
    const server = http.createServer(mockRoutes(this));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        resolve();
      });
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stops listening: every connection to the platform is refused until `up`. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
      server.closeAllConnections();
    });
  }

  async close(): Promise<void> {
    await this.down();
  }

  addUser(sub: string, name: string, roles: Record<string, string[]>): MockUser {
    const user = { sub, name, email: `${sub}@school.example`, roles };
    this.users.set(sub, user);
    return user;
  }

  addCourse(id: string, title: string): MockCourse {
    const course = { id, title };
    this.courses.set(id, course);
    return course;
  }

  addLineItem(course: string, item: Omit<MockLineItem, 'id' | 'course'>): MockLineItem {
    const id = `${this.url}/courses/${course}/lineitems/${this.lineItems.size + 1}`;
    const made = { ...item, id, course };
    this.lineItems.set(id, made);
    return made;
  }

  addLink(course: string, title: string, custom: Record<string, string>, options: { lineItem?: MockLineItem | null; url?: string } = {}): MockLink {
    const id = `rl-${this.links.size + 1}`;
    const link = { id, course, title, url: options.url ?? this.tool?.redirectUris[0] ?? '', custom, lineItem: options.lineItem?.id ?? null };
    this.links.set(id, link);
    return link;
  }

  /** Who is in a course (has a role there). */
  members(course: string): MockUser[] {
    return [...this.users.values()].filter((u) => (u.roles[course] ?? []).length > 0);
  }

  /** The URL that starts a launch, as the LMS's link or button would (third-party login initiation). */
  initiation(user: string, target: { link: string } | { deepLinking: string }): string {
    const tool = this.tool;
    if (!tool) throw new Error('no tool is registered with the mock platform');
    const launch: PendingLaunch =
      'link' in target
        ? { id: randomUUID(), user, course: this.links.get(target.link)?.course ?? '', kind: 'resource', link: target.link }
        : { id: randomUUID(), user, course: target.deepLinking, kind: 'deep-linking', link: null };
    this.launches.set(launch.id, launch);
    const login = new URL(tool.loginUrl);
    login.searchParams.set('iss', this.url);
    login.searchParams.set('login_hint', user);
    login.searchParams.set('target_link_uri', launch.link ? (this.links.get(launch.link)?.url ?? '') : (tool.redirectUris[0] ?? ''));
    login.searchParams.set('lti_message_hint', launch.id);
    login.searchParams.set('client_id', tool.clientId);
    login.searchParams.set('lti_deployment_id', tool.deploymentId);
    return login.toString();
  }

  /** The claims of a launch, as an LMS would put them in the id_token. */
  claimsFor(launch: PendingLaunch, nonce: string): JWTPayload {
    const tool = this.tool;
    const user = this.users.get(launch.user);
    const course = this.courses.get(launch.course);
    if (!tool || !user || !course) throw new Error(`unknown launch ${launch.id}`);
    const lti = 'https://purl.imsglobal.org/spec/lti/claim/';
    const base: JWTPayload = {
      nonce,
      sub: user.sub,
      name: user.name,
      email: user.email,
      azp: tool.clientId,
      [`${lti}version`]: '1.3.0',
      [`${lti}deployment_id`]: tool.deploymentId,
      [`${lti}roles`]: user.roles[course.id] ?? [],
      [`${lti}context`]: { id: course.id, label: course.id.toUpperCase(), title: course.title, type: ['http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering'] },
      [`${lti}tool_platform`]: { guid: 'mock-lms', name: 'Mock LMS', product_family_code: 'mock' },
      [`${lti}launch_presentation`]: { document_target: 'iframe', return_url: `${this.url}/course/${course.id}` },
      'https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice': { context_memberships_url: `${this.url}/courses/${course.id}/memberships`, service_versions: ['2.0'] },
    };
    if (launch.kind === 'deep-linking') {
      return {
        ...base,
        [`${lti}message_type`]: 'LtiDeepLinkingRequest',
        [`${lti}target_link_uri`]: tool.redirectUris[0],
        'https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings': {
          deep_link_return_url: `${this.url}/courses/${course.id}/deep-link-return`,
          accept_types: ['ltiResourceLink'],
          accept_presentation_document_targets: ['iframe', 'window'],
          accept_multiple: true,
          data: `dl-${launch.id}`,
        },
      };
    }
    const link = this.links.get(launch.link ?? '');
    if (!link) throw new Error(`unknown link ${launch.link ?? ''}`);
    return {
      ...base,
      [`${lti}message_type`]: 'LtiResourceLinkRequest',
      [`${lti}target_link_uri`]: link.url,
      [`${lti}resource_link`]: { id: link.id, title: link.title },
      [`${lti}custom`]: link.custom,
      'https://purl.imsglobal.org/spec/lti-ags/claim/endpoint': {
        scope: ['https://purl.imsglobal.org/spec/lti-ags/scope/lineitem', 'https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly', 'https://purl.imsglobal.org/spec/lti-ags/scope/score'],
        lineitems: `${this.url}/courses/${course.id}/lineitems`,
        ...(link.lineItem ? { lineitem: link.lineItem } : {}),
      },
    };
  }

  /** Signs an id_token as this platform (or, tampered, with a key it does not publish). */
  async sign(claims: JWTPayload, options: { key?: 'platform' | 'rogue'; expiresIn?: number } = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const rogue = options.key === 'rogue';
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: rogue ? 'rogue-1' : 'platform-1', typ: 'JWT' })
      .setIssuer(typeof claims.iss === 'string' ? claims.iss : this.url)
      .setAudience(claims.aud ?? this.tool?.clientId ?? '')
      .setIssuedAt(now)
      .setExpirationTime(now + (options.expiresIn ?? 300))
      .sign(rogue ? this.keys.rogue : this.keys.privateKey);
  }

  /** An id_token for a pending launch, with whatever the test asked to tamper with. */
  async idTokenFor(launch: PendingLaunch, nonce: string): Promise<string> {
    const claims = this.claimsFor(launch, nonce);
    return this.sign(this.tamper.claims ? this.tamper.claims(claims) : claims, { ...(this.tamper.key ? { key: this.tamper.key } : {}), ...(this.tamper.expiresIn !== undefined ? { expiresIn: this.tamper.expiresIn } : {}) });
  }

  /** The scores a line item received, in arrival order. */
  scoresOf(lineItem: string, userId?: string): ScoreRecord['body'][] {
    return this.received.scores.filter((s) => s.lineItem === lineItem && (userId === undefined || s.body.userId === userId)).map((s) => s.body);
  }
}
