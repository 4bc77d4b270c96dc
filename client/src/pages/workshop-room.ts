import type { GridResponse, GridRow, WorkshopEndedEvent, WorkshopView } from '../../../server/protocol.ts';
import { ApiError, getJson, postJson } from '../api.ts';
import { Disposables } from '../disposables.ts';
import { h } from '../dom.ts';
import { plainError } from '../forms.ts';
import { endedMessage, joinedText } from '../grid-model.ts';
import { LiveGrid } from '../live-grid.ts';
import { ltiRoster } from '../lti-roster.ts';
import { liveSocket } from '../session.ts';
import { WatchSlot } from '../watch-terminal.ts';

/** Rows are fetched again this often: "last active" ages, and idle participants become stuck, without events. */
const REFRESH_MS = 30_000;

/** The room's status line: what the last action did, or what went wrong. */
function statusLine(): { element: HTMLElement; say(text: string, kind?: 'muted' | 'problem'): void } {
  const element = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite', 'data-testid': 'ws-status' });
  return {
    element,
    say(text, kind) {
      element.textContent = text;
      if (kind) element.className = kind;
    },
  };
}

/** The broadcast form: a message to every participant, on whatever page they are. */
function broadcastForm(id: string, say: (text: string) => void): { form: HTMLFormElement; disable(): void } {
  const message = h('input', { type: 'text', maxlength: '500', placeholder: 'Say something to everyone…', 'aria-label': 'Message to every participant', 'data-testid': 'broadcast-input' });
  const send = h('button', { type: 'submit', class: 'button', 'data-testid': 'broadcast-send' }, 'Broadcast');
  const form = h('form', { class: 'inline-form' }, message, send);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!message.value.trim()) return;
    postJson(`/api/workshops/${id}/broadcast`, { text: message.value }).then(
      () => {
        say('Sent to every participant.');
        message.value = '';
      },
      (error: unknown) => {
        say(error instanceof Error ? error.message : String(error));
      },
    );
  });
  return {
    form,
    disable() {
      message.disabled = true;
      send.disabled = true;
    },
  };
}

/** Join code, join link (with a copy button) and the head count of the room. */
function roomHead(w: WorkshopView, parts: { counter: HTMLElement; warm: HTMLElement; state: HTMLElement }, say: (text: string) => void): HTMLElement {
  const copy = h('button', { type: 'button', class: 'button', 'data-testid': 'copy-link' }, 'Copy join link');
  copy.addEventListener('click', () => {
    void navigator.clipboard.writeText(w.joinUrl).then(
      () => {
        say('Join link copied.');
      },
      () => {
        say(w.joinUrl);
      },
    );
  });
  return h(
    'section',
    { class: 'card ws-head' },
    h('div', {}, h('p', { class: 'muted' }, 'Join code'), h('p', { class: 'join-code', 'data-testid': 'join-code' }, w.code)),
    h('div', {}, h('p', { class: 'muted' }, 'Join link'), h('p', {}, h('code', { 'data-testid': 'join-url' }, w.joinUrl)), copy),
    h('div', {}, h('p', { class: 'muted' }, 'Room'), h('p', {}, parts.counter, parts.warm, ' · ', parts.state)),
  );
}

/**
 * The instructor's room: join code and link, a live grid of who is where (patched row by row
 * over socket.io as checks run and quizzes are answered), who looks stuck, a read-only look at
 * any participant's terminal, broadcast, reset or extend a sandbox, export, and the end.
 * Everything it starts (socket listeners, the refresh timer, a watched terminal) stops when
 * `leave` aborts: the router's signal that another page is shown.
 */
export async function showWorkshop(main: HTMLElement, id: string, leave: AbortSignal): Promise<void> {
  document.title = 'Workshop · kubedojo';
  let grid: GridResponse;
  try {
    grid = await getJson<GridResponse>(`/api/workshops/${encodeURIComponent(id)}/grid`);
  } catch (error) {
    if (leave.aborted) return;
    main.replaceChildren(h('h1', {}, 'Workshop unavailable'), h('p', { class: 'problem', role: 'alert' }, error instanceof ApiError && error.status === 404 ? 'There is no such workshop of yours.' : error instanceof Error ? error.message : String(error)));
    return;
  }
  if (leave.aborted) return;
  const w = grid.workshop;
  document.title = `${w.title} · kubedojo`;
  const disposables = new Disposables();
  leave.addEventListener('abort', () => {
    disposables.dispose();
  });

  const status = statusLine();
  const say = (text: string) => {
    status.say(text);
  };
  const watchSlot = new WatchSlot();
  disposables.add(() => {
    watchSlot.close();
  });
  const live = new LiveGrid(grid, {
    watch: (row, namespace) => {
      watchSlot.show(namespace, row.displayName);
      return Promise.resolve();
    },
    extend: async (row, namespace) => {
      await postJson(`/api/workshops/${id}/sandboxes/${namespace}/extend`, { minutes: 30 });
      say(`Gave ${row.displayName} 30 more minutes.`);
    },
    reset: async (row, namespace) => {
      if (!confirm(`Reset ${row.displayName}'s sandbox? Their work in it is deleted.`)) return;
      await postJson(`/api/workshops/${id}/sandboxes/${namespace}/reset`, {});
      say(`Reset ${row.displayName}'s sandbox.`);
    },
    recordingsHref: (row) => `/workshops/${id}/recordings/${row.learnerId}`,
    failed: (error) => {
      status.say(plainError(error), 'problem');
    },
  });
  const counter = h('span', { 'data-testid': 'ws-participants' }, joinedText(w.participants, w.seats));
  const patch = (rows: readonly GridRow[]) => {
    live.upsert(rows);
    counter.textContent = joinedText(live.size, w.seats);
  };

  /** Once ended, the room keeps the results but offers nothing that acts on sandboxes that are gone. */
  const endedAtLoad = w.state === 'ended';
  const state = h('span', { 'data-testid': 'ws-state' }, endedAtLoad ? 'ended' : w.state);
  const warm = h('span', { 'data-testid': 'ws-warm' }, endedAtLoad ? '' : ` · ${w.warmSandboxes} sandboxes ready`);
  const broadcast = broadcastForm(id, say);
  const endButton = h('button', { type: 'button', class: 'button danger', 'data-testid': 'end-workshop' }, 'End the workshop');
  const markEnded = (message: string) => {
    state.textContent = 'ended';
    warm.textContent = '';
    endButton.hidden = true;
    broadcast.disable();
    watchSlot.close();
    status.say(message, 'muted');
    live.end();
  };
  endButton.addEventListener('click', () => {
    if (!confirm('End the workshop? Every participant sandbox is deleted and nobody can join any more.')) return;
    endButton.disabled = true;
    postJson<{ deleted: number }>(`/api/workshops/${id}/end`, {}).then(
      (r) => {
        markEnded(endedMessage(r.deleted));
      },
      (error: unknown) => {
        endButton.disabled = false;
        say(plainError(error));
      },
    );
  });

  main.replaceChildren(
    h('nav', { class: 'breadcrumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '/workshops' }, 'Workshops'), ` / ${w.title}`),
    h('h1', {}, w.title),
    roomHead(w, { counter, warm, state }, say),
    h('div', { class: 'ws-actions' }, broadcast.form, h('a', { class: 'button', href: `/api/workshops/${id}/results?format=csv`, download: '' }, 'Export CSV'), h('a', { class: 'button', href: `/api/workshops/${id}/results`, download: '' }, 'Export JSON'), endButton),
    status.element,
    ltiRoster(id),
    live.element,
    live.legend,
    watchSlot.root,
  );
  if (endedAtLoad) markEnded('This workshop has ended: its sandboxes are gone; the results stay here and in the exports.');
  followRoom(
    id,
    {
      patch,
      ended: (event) => {
        markEnded(endedMessage(event.sandboxes));
      },
      gone: () => !live.element.isConnected,
      tick: () => {
        live.refreshAges();
      },
    },
    disposables,
  );
}

/**
 * The room's live events: rows as they change and the end, heard by every instructor watching
 * it, whoever acted; and every row fetched again now and then. Its listeners and timer are
 * kept in `disposables` (also disposed when the room is found gone from the page).
 */
function followRoom(id: string, room: { patch(rows: readonly GridRow[]): void; ended(event: WorkshopEndedEvent): void; gone(): boolean; tick(): void }, disposables: Disposables): void {
  const socket = liveSocket();
  const ended = (event: WorkshopEndedEvent) => {
    if (event.workshopId === id) room.ended(event);
  };
  const row = (update: { workshopId: string; row: GridRow }) => {
    if (update.workshopId === id) room.patch([update.row]);
  };
  const watch = () => {
    void socket.emitWithAck('grid:watch', { workshopId: id });
  };
  socket.on('workshop:ended', ended).on('grid:row', row).on('connect', watch);
  disposables.add(() => {
    socket.off('workshop:ended', ended).off('grid:row', row).off('connect', watch);
  });
  if (socket.connected) watch();
  const timer = window.setInterval(() => {
    if (room.gone()) {
      disposables.dispose();
      return;
    }
    room.tick();
    getJson<GridResponse>(`/api/workshops/${encodeURIComponent(id)}/grid`).then(
      (fresh) => {
        if (!disposables.disposed) room.patch(fresh.rows);
      },
      () => undefined, // the next tick tries again
    );
  }, REFRESH_MS);
  disposables.add(() => {
    window.clearInterval(timer);
  });
}
