import type { LtiService } from '../../../server/lti/service.ts';
import { MockPlatform, ROLE } from './mock-platform.ts';

/**
 * LTI launches driven over real HTTP without a browser, hop by hop as a browser would follow
 * them: the LMS's initiation → kubedojo's login (302 to the LMS, with a state cookie) → the
 * LMS's authorization endpoint (a form with the id_token) → the form posted to kubedojo's launch.
 */

export interface LaunchForm {
  idToken: string;
  state: string;
  /** The state cookie kubedojo's login set, as `name=value`. */
  cookie: string;
}

/** Makes a mock LMS that knows kubedojo at `toolUrl`, and kubedojo that knows the LMS. */
export async function connectedPlatform(toolUrl: string, lti: LtiService): Promise<{ mock: MockPlatform; platformId: string }> {
  const mock = await MockPlatform.start();
  mock.tool = {
    clientId: 'kubedojo-client',
    deploymentId: 'deployment-1',
    loginUrl: `${toolUrl}/lti/login`,
    redirectUris: [`${toolUrl}/lti/launch`],
    jwksUrl: `${toolUrl}/.well-known/jwks.json`,
    scopes: ['https://purl.imsglobal.org/spec/lti-ags/scope/lineitem', 'https://purl.imsglobal.org/spec/lti-ags/scope/score', 'https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly'],
  };
  const platform = await lti.addPlatform({ name: 'Mock LMS', issuer: mock.url, clientId: 'kubedojo-client', deployments: ['deployment-1'], authUrl: `${mock.url}/auth`, tokenUrl: `${mock.url}/token`, jwksUrl: `${mock.url}/jwks`, tokenAudience: null, frameOrigins: [] });
  return { mock, platformId: platform.id };
}

/** A course with an instructor and learners, and a link to a lesson (or one exercise) with its line item. */
export function course(mock: MockPlatform, id: string, options: { lesson: string; exercise?: string; scoreMaximum: number; teacher?: string; learners: string[] }) {
  mock.addCourse(id, `Course ${id}`);
  if (options.teacher) mock.addUser(options.teacher, `Teacher ${options.teacher}`, { [id]: [ROLE.instructor] });
  for (const sub of options.learners) {
    const known = mock.users.get(sub);
    if (known) known.roles[id] = [ROLE.learner];
    else mock.addUser(sub, `Learner ${sub}`, { [id]: [ROLE.learner] });
  }
  const lineItem = mock.addLineItem(id, { label: options.lesson, scoreMaximum: options.scoreMaximum, resourceId: options.exercise ? `${options.lesson}/${options.exercise}` : options.lesson, resourceLinkId: null, tag: 'kubedojo' });
  const link = mock.addLink(id, options.exercise ?? options.lesson, { kubedojo_lesson: options.lesson, ...(options.exercise ? { kubedojo_exercise: options.exercise } : {}) }, { lineItem });
  lineItem.resourceLinkId = link.id;
  return { link, lineItem };
}

/** Follows a launch up to the form the LMS posts back (kubedojo's login and the LMS's authorization ran for real). */
export async function launchForm(mock: MockPlatform, user: string, target: { link: string } | { deepLinking: string }): Promise<LaunchForm> {
  const login = await fetch(mock.initiation(user, target), { redirect: 'manual' });
  if (login.status !== 302) throw new Error(`kubedojo's login answered ${login.status}: ${await login.text()}`);
  const cookie = (login.headers.getSetCookie()[0] ?? '').split(';')[0] ?? '';
  const auth = await fetch(login.headers.get('location') ?? '', { redirect: 'manual' });
  const html = await auth.text();
  if (auth.status !== 200) throw new Error(`the LMS's authorization answered ${auth.status}: ${html}`);
  const value = (name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1] ?? '';
  return { idToken: value('id_token'), state: value('state'), cookie };
}

/** Posts a launch form to kubedojo as the LMS's page would (a cross-site form post from a browser). */
export function postLaunch(toolUrl: string, form: { idToken: string; state: string }, cookie = ''): Promise<Response> {
  return fetch(`${toolUrl}/lti/launch`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', origin: 'http://localhost', 'sec-fetch-site': 'cross-site', ...(cookie ? { cookie } : {}) },
    body: new URLSearchParams({ id_token: form.idToken, state: form.state }),
  });
}

/** Where a launch landed and the session its page gets from the ticket. */
export async function landed(toolUrl: string, response: Response): Promise<{ path: string; anchor: string | null; token: string }> {
  const location = response.headers.get('location') ?? '';
  if (response.status !== 303) throw new Error(`the launch answered ${response.status}: ${await response.text()}`);
  const [path = '', fragment = ''] = location.split('#');
  const params = new URLSearchParams(fragment);
  const exchange = await fetch(`${toolUrl}/api/lti/session`, { method: 'POST', headers: { 'content-type': 'application/json', origin: toolUrl }, body: JSON.stringify({ ticket: params.get('kd-ticket') }) });
  const body = (await exchange.json()) as { token: string };
  return { path, anchor: params.get('at'), token: body.token };
}

/** A whole launch: login, authorization, launch, ticket exchange. */
export async function launch(toolUrl: string, mock: MockPlatform, user: string, target: { link: string } | { deepLinking: string }) {
  const form = await launchForm(mock, user, target);
  return landed(toolUrl, await postLaunch(toolUrl, form, form.cookie));
}

/** A fetch with the session of a launched page (Authorization: Bearer, as the page inside the LMS sends it). */
export function asLaunched(toolUrl: string, token: string) {
  return async (method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> => {
    const response = await fetch(`${toolUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), origin: toolUrl },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, json: text ? (JSON.parse(text) as unknown) : undefined };
  };
}
