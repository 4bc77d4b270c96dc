import { io } from 'socket.io-client';
import type { BroadcastView, SessionResponse, WorkshopEndedEvent } from '../../server/protocol.ts';
import { getJson, postJson } from './api.ts';
import { h } from './dom.ts';
import { forgetLtiSession, socketAuth } from './lti.ts';
import type { LiveSocket } from './sockets.ts';

let current: Promise<SessionResponse> | undefined;

/** Who is signed in (cached for the page; `refresh` after signing in or out). */
export function session(refresh = false): Promise<SessionResponse> {
  if (refresh || !current) current = getJson<SessionResponse>('/api/session');
  return current;
}

let live: LiveSocket | undefined;
/**
 * The signed-in learner's live events (checks, grid, broadcasts); one connection per page.
 * Websockets only, like the terminal: a connection is then one request that stays on the server
 * replica it reached, so replicas behind a plain Service need no sticky sessions (HTTP
 * long-polling would spread one connection's requests over them).
 */
export function liveSocket(): LiveSocket {
  live ??= io('/live', { transports: ['websocket'], auth: socketAuth });
  return live;
}

/** Resets the live connection after the session changed (its cookie authenticates it). */
export function resetLive(): void {
  live?.close();
  live = undefined;
}

/**
 * The account corner of the top bar: sign in, or who you are with the links your role opens
 * (workshops for instructors, admin for admins), and sign out.
 */
export async function renderAccount(slot: HTMLElement, go: (path: string) => void): Promise<void> {
  const state = await session(true).catch(() => undefined);
  const learner = state?.learner;
  const links: (HTMLElement | string)[] = [];
  if (learner?.kind === 'account') {
    if (learner.role !== 'learner') links.push(h('a', { href: '/workshops', 'data-testid': 'nav-workshops' }, 'Workshops'));
    if (learner.role === 'admin') links.push(h('a', { href: '/admin', 'data-testid': 'nav-admin' }, 'Admin'));
    const signOut = h('button', { type: 'button', class: 'link-button', 'data-testid': 'sign-out' }, 'Sign out');
    signOut.addEventListener('click', () => {
      void postJson('/api/auth/logout', {}).then(async () => {
        forgetLtiSession();
        resetLive();
        await renderAccount(slot, go);
        go('/');
      });
    });
    links.push(h('span', { class: 'who', 'data-testid': 'signed-in-as' }, learner.displayName ?? learner.username ?? ''), signOut);
  } else if (learner?.kind === 'participant') {
    links.push(h('a', { href: '/workshop', 'data-testid': 'nav-my-workshop' }, 'My workshop'), h('span', { class: 'who', 'data-testid': 'signed-in-as' }, learner.displayName ?? ''));
  } else {
    links.push(h('a', { href: '/join', 'data-testid': 'nav-join' }, 'Join a workshop'), h('a', { href: '/login', 'data-testid': 'nav-sign-in' }, 'Sign in'));
  }
  slot.replaceChildren(...links);
  if (learner?.kind === 'participant') watchBroadcasts();
}

let broadcasting = false;
/** A participant sees what their instructor says to the room, on any page, as it is said. */
function watchBroadcasts(): void {
  if (broadcasting) return;
  broadcasting = true;
  const banner = h('div', { class: 'broadcast', role: 'status', 'aria-live': 'assertive', 'data-testid': 'broadcast', hidden: '' });
  document.body.prepend(banner);
  const socket = liveSocket();
  socket.on('workshop:broadcast', (message: BroadcastView) => {
    const close = h('button', { type: 'button', class: 'icon-button', 'aria-label': 'Dismiss' }, '×');
    close.addEventListener('click', () => {
      banner.hidden = true;
    });
    banner.replaceChildren(h('strong', {}, 'From your instructor: '), h('span', { 'data-testid': 'broadcast-text' }, message.text), close);
    banner.hidden = false;
  });
  socket.on('workshop:ended', (event: WorkshopEndedEvent) => {
    banner.replaceChildren(h('strong', {}, 'The workshop has ended. '), `“${event.title}” is over and your sandboxes are being removed. Thank you for taking part!`);
    banner.hidden = false;
    // The pages a participant has open (sandbox panel, lab, My workshop) show it too.
    window.dispatchEvent(new CustomEvent<WorkshopEndedEvent>(WORKSHOP_ENDED, { detail: event }));
  });
}

/** The window event pages listen to when the participant's workshop ends. */
export const WORKSHOP_ENDED = 'kubedojo:workshop-ended';

/** Calls `then` once when this participant's workshop ends while the element is on the page. */
export function onWorkshopEnded(element: HTMLElement, then: (event: WorkshopEndedEvent) => void): void {
  const listener = (event: Event) => {
    if (!element.isConnected) {
      window.removeEventListener(WORKSHOP_ENDED, listener);
      return;
    }
    then((event as CustomEvent<WorkshopEndedEvent>).detail);
  };
  window.addEventListener(WORKSHOP_ENDED, listener);
}
