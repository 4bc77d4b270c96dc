import type { LtiSessionResponse } from '../../server/protocol.ts';
import { storedGet, storedSet } from './storage.ts';

/**
 * The session of a page opened by an LMS (LTI). Inside the LMS's iframe kubedojo is a third-party
 * site and browsers withhold its cookies, so the launch hands the page a one-time ticket in the
 * address fragment; the page trades it for a session token it keeps for this tab and sends as
 * `Authorization: Bearer …` (and as socket.io's `auth.token`). Cookie sessions are not involved.
 */

const KEY = 'kd_lti_session';
/** Where the token lives when the browser refuses this frame storage too: this page only. */
let inMemory: string | null = null;

export function ltiToken(): string | null {
  return inMemory ?? storedGet('session', KEY);
}

/** Kept for the tab (a reload keeps it) where the browser allows storage in this frame, else in memory. */
function keep(token: string | null): void {
  inMemory = token;
  storedSet('session', KEY, token);
}

/** Signing out ends the LMS session of this tab too. */
export function forgetLtiSession(): void {
  keep(null);
}

/** For socket.io's `auth` option: the token when this tab came from an LMS. */
export function socketAuth(cb: (data: object) => void): void {
  const token = ltiToken();
  cb(token ? { token } : {});
}

/**
 * After a launch the address ends in `#kd-ticket=…&at=…`: trade the ticket for a session, and put
 * the address back to what the page shows (`#at`, an exercise). Returns a problem to show, if any.
 */
export async function adoptLaunch(): Promise<string | null> {
  const params = new URLSearchParams(location.hash.slice(1));
  const ticket = params.get('kd-ticket');
  if (!ticket) return null;
  const at = params.get('at');
  history.replaceState(null, '', `${location.pathname}${location.search}${at ? `#${at}` : ''}`);
  const response = await fetch('/api/lti/session', { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ ticket }) });
  if (!response.ok) return 'This launch has expired or was used already: open the activity again from your course.';
  keep(((await response.json()) as LtiSessionResponse).token);
  return null;
}
