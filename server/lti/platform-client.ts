import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { z } from 'zod';
import type { Platform } from '../db/lti-platforms.ts';
import type { ScoreBody } from '../db/lti-queue.ts';
import { TOOL_ALG, type ToolKeys } from './keys.ts';
import { SCOPE } from './claims.ts';

/** Calls kubedojo makes to an LMS: OAuth 2 client credentials, AGS line items and scores, NRPS. */

/** The platform could not be reached, or answered in a way that may change (5xx, 429, 408; 401 to a service call). */
export class PlatformUnavailable extends Error {
  override readonly name = 'PlatformUnavailable';
}

/** The platform refused for good (4xx): sending the same again will not help. */
export class PlatformRefused extends Error {
  override readonly name = 'PlatformRefused';
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.status = status;
  }
}

const MAX_BODY = 1024 * 1024;
const TIMEOUT_MS = 10_000;

/** Whether a URL may be called: https, or http when the operator allowed it (local trials, tests). */
export function allowedUrl(value: string, allowHttp: boolean): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || (allowHttp && url.protocol === 'http:');
  } catch {
    return false;
  }
}

/** One HTTP call to a platform with a timeout and a size limit, errors sorted into the two kinds above. */
export async function callPlatform(url: string, init: RequestInit, what: string): Promise<{ status: number; headers: Headers; body: unknown; text: string }> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
    throw new PlatformUnavailable(`${what}: ${url} could not be reached (${error instanceof Error ? error.message : String(error)}${cause})`);
  }
  const text = (await response.text()).slice(0, MAX_BODY);
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (response.status >= 500 || response.status === 429 || response.status === 408) throw new PlatformUnavailable(`${what}: ${url} answered ${response.status}`);
  if (response.status >= 400) throw new PlatformRefused(`${what}: ${url} answered ${response.status}: ${text.slice(0, 300)}`, response.status);
  return { status: response.status, headers: response.headers, body, text };
}

const tokenResponse = z.looseObject({
  access_token: z.string().min(1),
  token_type: z.string().regex(/^bearer$/i, 'must be Bearer'),
  expires_in: z.number().positive().optional(),
});

const lineItem = z.looseObject({ id: z.url(), resourceId: z.string().optional(), resourceLinkId: z.string().optional(), tag: z.string().optional() });
const memberships = z.looseObject({
  members: z.array(
    z.looseObject({
      user_id: z.string().min(1).max(255),
      status: z.string().optional(),
      name: z.string().max(200).optional(),
      given_name: z.string().max(200).optional(),
      family_name: z.string().max(200).optional(),
      email: z.string().max(320).optional(),
      roles: z.array(z.string().max(500)).max(100),
    }),
  ),
});
export type Membership = z.infer<typeof memberships>['members'][number];

/** `https://lms/lineitems/7?x=1` → `https://lms/lineitems/7/scores?x=1` (AGS: the query stays). */
export function scoresUrl(lineItemUrl: string): string {
  const url = new URL(lineItemUrl);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/scores`;
  return url.toString();
}

export class PlatformClient {
  private readonly keys: ToolKeys;
  private readonly now: () => number;
  private readonly tokens = new Map<string, { token: string; expiresAt: number }>();
  private readonly fetching = new Map<string, Promise<string>>();

  constructor(deps: { keys: ToolKeys; now?: () => number }) {
    this.keys = deps.keys;
    this.now = deps.now ?? Date.now;
  }

  /**
   * An access token for these scopes (OAuth 2 client credentials with a JWT client assertion,
   * RFC 7523, signed by our key), cached until a minute before it expires; concurrent callers
   * share one request.
   */
  async token(platform: Platform, scopes: readonly string[]): Promise<string> {
    const key = `${platform.id} ${[...scopes].sort().join(' ')}`;
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > this.now()) return cached.token;
    const pending = this.fetching.get(key);
    if (pending) return pending;
    const request = this.requestToken(platform, scopes, key).finally(() => this.fetching.delete(key));
    this.fetching.set(key, request);
    return request;
  }

  private async requestToken(platform: Platform, scopes: readonly string[], key: string): Promise<string> {
    const signing = await this.keys.signing();
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: TOOL_ALG, kid: signing.kid, typ: 'JWT' })
      .setIssuer(platform.clientId)
      .setSubject(platform.clientId)
      .setAudience(platform.tokenAudience ?? platform.tokenUrl)
      .setIssuedAt()
      .setExpirationTime('5m')
      .setJti(randomUUID())
      .sign(signing.key);
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
      scope: scopes.join(' '),
    });
    const { body } = await callPlatform(platform.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: form }, 'the token endpoint');
    const parsed = tokenResponse.safeParse(body);
    if (!parsed.success) throw new PlatformRefused(`the token endpoint ${platform.tokenUrl} answered without a usable access_token (${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')})`, 502);
    const lifetime = (parsed.data.expires_in ?? 3600) * 1000;
    this.tokens.set(key, { token: parsed.data.access_token, expiresAt: this.now() + Math.max(0, lifetime - 60_000) });
    return parsed.data.access_token;
  }

  /** Forgets a token the platform refused (401), so the next call fetches a new one. */
  forget(platform: Platform): void {
    for (const key of this.tokens.keys()) if (key.startsWith(`${platform.id} `)) this.tokens.delete(key);
  }

  private async authorized(platform: Platform, scopes: readonly string[], url: string, init: RequestInit, what: string) {
    const token = await this.token(platform, scopes);
    try {
      return await callPlatform(url, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` } }, what);
    } catch (error) {
      // A refused access token (revoked, or expired early): fetch a new one and try again later.
      if (error instanceof PlatformRefused && error.status === 401) {
        this.forget(platform);
        throw new PlatformUnavailable(`${error.message} (the access token was refused; a new one is fetched)`);
      }
      throw error;
    }
  }

  /** Posts one score to a line item (AGS score publish service). */
  async postScore(platform: Platform, lineItemUrl: string, score: ScoreBody): Promise<void> {
    await this.authorized(platform, [SCOPE.score], scoresUrl(lineItemUrl), { method: 'POST', headers: { 'content-type': 'application/vnd.ims.lis.v1.score+json' }, body: JSON.stringify(score) }, 'posting a score');
  }

  /** The line item of a resource link: the one the platform holds for it, or a new one. */
  async lineItemFor(platform: Platform, lineItemsUrl: string, item: { resourceLinkId: string; resourceId: string; label: string; scoreMaximum: number }): Promise<string> {
    const list = new URL(lineItemsUrl);
    list.searchParams.set('resource_link_id', item.resourceLinkId);
    const found = await this.authorized(platform, [SCOPE.lineItem], list.toString(), { headers: { accept: 'application/vnd.ims.lis.v2.lineitemcontainer+json' } }, 'listing line items');
    const items = z.array(lineItem).safeParse(found.body);
    const mine = items.success ? items.data.find((i) => i.resourceId === item.resourceId || (i.resourceLinkId === item.resourceLinkId && i.tag === 'kubedojo')) : undefined;
    if (mine) return mine.id;
    const made = await this.authorized(
      platform,
      [SCOPE.lineItem],
      lineItemsUrl,
      { method: 'POST', headers: { 'content-type': 'application/vnd.ims.lis.v2.lineitem+json', accept: 'application/vnd.ims.lis.v2.lineitem+json' }, body: JSON.stringify({ ...item, tag: 'kubedojo' }) },
      'creating a line item',
    );
    const parsed = lineItem.safeParse(made.body);
    if (!parsed.success) throw new PlatformRefused(`creating a line item at ${lineItemsUrl}: the answer has no line item id`, 502);
    return parsed.data.id;
  }

  /** Every member of a course (NRPS), following `Link: <…>; rel="next"` pages. */
  async members(platform: Platform, membershipsUrl: string): Promise<Membership[]> {
    const out: Membership[] = [];
    let next: string | undefined = membershipsUrl;
    for (let page = 0; next !== undefined && page < 100; page += 1) {
      const answer = await this.authorized(platform, [SCOPE.memberships], next, { headers: { accept: 'application/vnd.ims.lti-nrps.v2.membershipcontainer+json' } }, 'listing course members');
      const parsed = memberships.safeParse(answer.body);
      if (!parsed.success) throw new PlatformRefused(`listing course members at ${next}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, 502);
      out.push(...parsed.data.members);
      const link = /<([^>]+)>\s*;\s*rel="?next"?/.exec(answer.headers.get('link') ?? '');
      next = link?.[1] ? new URL(link[1], next).toString() : undefined;
    }
    return out;
  }
}
