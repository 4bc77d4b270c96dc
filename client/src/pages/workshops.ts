import type { CatalogResponse, GridCell, GridResponse, GridRow, WorkshopEndedEvent, WorkshopListResponse, WorkshopView } from '../../../server/protocol.ts';
import { ApiError, getJson, postJson } from '../api.ts';
import { h } from '../dom.ts';
import { plainError } from '../forms.ts';
import { liveSocket } from '../session.ts';
import { workshopForm } from './workshop-form.ts';
import { watchTerminal } from '../watch-terminal.ts';
import { ltiRoster } from '../lti-roster.ts';

const CELL: Record<GridCell['status'], { mark: string; label: string }> = {
  passed: { mark: '✔', label: 'passed' },
  failed: { mark: '✘', label: 'failed' },
  error: { mark: '⚠', label: 'could not check' },
  running: { mark: '…', label: 'checking' },
  'not-started': { mark: '·', label: 'not checked yet' },
};

function ago(iso: string | null): string {
  if (!iso) return 'never';
  const minutes = Math.round((Date.now() - Date.parse(iso)) / 60_000);
  return minutes < 1 ? 'just now' : minutes < 60 ? `${minutes} min ago` : `${Math.round(minutes / 60)} h ago`;
}

/** What the room says once it has ended: how many participant sandboxes are going. */
function endedMessage(sandboxes: number): string {
  if (sandboxes === 0) return 'Ended. There were no participant sandboxes to remove.';
  return `Ended. ${sandboxes === 1 ? '1 sandbox is' : `${sandboxes} sandboxes are`} being removed.`;
}

/** An instructor's workshops, and the form that creates one. */
export async function showWorkshops(main: HTMLElement, go: (path: string) => void): Promise<void> {
  document.title = 'Workshops · kubedojo';
  let list: WorkshopView[];
  let catalog: CatalogResponse;
  try {
    [list, catalog] = await Promise.all([getJson<WorkshopListResponse>('/api/workshops').then((r) => r.workshops), getJson<CatalogResponse>('/api/lessons')]);
  } catch (error) {
    const message = error instanceof ApiError && error.status === 401 ? h('span', {}, 'Sign in as an instructor first. ', h('a', { href: '/login?next=/workshops' }, 'Sign in')) : error instanceof ApiError && error.status === 403 ? 'Workshops are for instructors.' : 'Could not load your workshops.';
    main.replaceChildren(h('h1', {}, 'Workshops'), h('p', { class: 'problem', role: 'alert' }, message));
    return;
  }
  const form = workshopForm(
    catalog.levels.flatMap((l) => l.lessons),
    (created) => {
      go(`/workshops/${created.id}`);
    },
  );
  main.replaceChildren(
    h('h1', {}, 'Workshops'),
    list.length === 0
      ? h('p', { class: 'muted' }, 'No workshops yet.')
      : h(
          'ul',
          { class: 'plain-list workshop-list', 'data-testid': 'workshop-list' },
          ...list.map((w) => h('li', {}, h('a', { href: `/workshops/${w.id}` }, w.title), ` · ${w.state} · ${w.participants}/${w.seats} joined · code `, h('code', {}, w.code))),
        ),
    form,
  );
}

function cell(c: GridCell): HTMLElement {
  const info = CELL[c.status];
  return h('td', { class: `cell ${c.status}`, title: `${c.exercise}: ${info.label}${c.attempts ? ` after ${c.attempts} check(s)` : ''}`, 'data-cell': `${c.lesson}/${c.exercise}`, 'data-status': c.status }, h('span', { 'aria-hidden': 'true' }, info.mark), h('span', { class: 'visually-hidden' }, info.label));
}

/**
 * The instructor's room: join code and link, a live grid of who is where (updated over socket.io
 * as checks run and quizzes are answered), who looks stuck, a read-only look at any participant's
 * terminal, broadcast, reset or extend a sandbox, export, and the end.
 */
export async function showWorkshop(main: HTMLElement, id: string): Promise<void> {
  document.title = 'Workshop · kubedojo';
  let grid: GridResponse;
  try {
    grid = await getJson<GridResponse>(`/api/workshops/${encodeURIComponent(id)}/grid`);
  } catch (error) {
    main.replaceChildren(h('h1', {}, 'Workshop unavailable'), h('p', { class: 'problem', role: 'alert' }, error instanceof ApiError && error.status === 404 ? 'There is no such workshop of yours.' : error instanceof Error ? error.message : String(error)));
    return;
  }
  const w = grid.workshop;
  document.title = `${w.title} · kubedojo`;
  const status = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite', 'data-testid': 'ws-status' });
  const watchSlot = h('div', { class: 'watch-slot' });
  const tbody = h('tbody', { 'data-testid': 'grid-body' });
  const rows = new Map<string, GridRow>(grid.rows.map((r) => [r.learnerId, r]));
  // An LMS course's room has no seats: its members come from the course.
  const joined = (n: number) => (w.seats > 0 ? `${n} of ${w.seats} joined` : `${n} in the course`);
  const counter = h('span', { 'data-testid': 'ws-participants' }, joined(w.participants));
  const lessonsOf = [...new Set(grid.columns.map((c) => c.lesson))];
  /** Once ended, the room keeps the results but offers nothing that acts on sandboxes that are gone. */
  let ended = w.state === 'ended';
  const state = h('span', { 'data-testid': 'ws-state' }, ended ? 'ended' : w.state);
  const warm = h('span', { 'data-testid': 'ws-warm' }, ended ? '' : ` · ${w.warmSandboxes} sandboxes ready`);

  const action = (label: string, run: () => Promise<unknown>, testId: string) => {
    const button = h('button', { type: 'button', class: 'link-button', 'data-testid': testId }, label);
    button.addEventListener('click', () => {
      button.disabled = true;
      run().then(
        () => {
          button.disabled = false;
        },
        (error: unknown) => {
          button.disabled = false;
          status.textContent = plainError(error);
          status.className = 'problem';
        },
      );
    });
    return button;
  };

  const renderRow = (row: GridRow): HTMLElement => {
    const sandbox = row.sandboxes[0];
    const actions = h('td', { class: 'row-actions' });
    if (sandbox && !ended) {
      actions.append(
        action(
          'Watch',
          () => {
            watchSlot.replaceChildren(watchTerminal(sandbox.namespace, row.displayName).root);
            watchSlot.scrollIntoView({ behavior: 'smooth', block: 'nearest' });
            return Promise.resolve();
          },
          'watch',
        ),
        action('+30 min', () => postJson(`/api/workshops/${id}/sandboxes/${sandbox.namespace}/extend`, { minutes: 30 }).then(() => (status.textContent = `Gave ${row.displayName} 30 more minutes.`)), 'extend'),
        action(
          'Reset',
          async () => {
            if (!confirm(`Reset ${row.displayName}'s sandbox? Their work in it is deleted.`)) return;
            await postJson(`/api/workshops/${id}/sandboxes/${sandbox.namespace}/reset`, {});
            status.textContent = `Reset ${row.displayName}'s sandbox.`;
          },
          'reset',
        ),
      );
    }
    actions.append(h('a', { href: `/workshops/${id}/recordings/${row.learnerId}`, class: 'link-button' }, 'Recordings'));
    const quiz = row.quiz.map((q) => `${q.correct}/${q.total}`).join(' · ');
    return h(
      'tr',
      { 'data-learner': row.learnerId, class: row.stuck ? 'stuck' : '' },
      h('th', { scope: 'row' }, h('span', { class: 'who' }, row.displayName), row.stuck ? h('span', { class: 'badge bad', 'data-testid': 'stuck', title: row.stuck }, 'stuck?') : null, row.terminalOpen ? h('span', { class: 'badge info', title: 'their terminal is open' }, 'terminal') : null),
      h('td', { class: 'quiz', 'data-testid': 'quiz' }, quiz),
      ...grid.columns.map((c) => cell(row.cells.find((x) => x.lesson === c.lesson && x.exercise === c.exercise) ?? { lesson: c.lesson, exercise: c.exercise, status: 'not-started', attempts: 0, lastCheckedAt: null })),
      h('td', { class: 'muted' }, ago(row.lastActivity)),
      actions,
    );
  };
  const redraw = () => {
    const sorted = [...rows.values()].sort((a, b) => Number(!!b.stuck) - Number(!!a.stuck) || a.displayName.localeCompare(b.displayName));
    tbody.replaceChildren(...sorted.map(renderRow));
    counter.textContent = joined(rows.size);
  };

  const message = h('input', { type: 'text', maxlength: '500', placeholder: 'Say something to everyone…', 'aria-label': 'Message to every participant', 'data-testid': 'broadcast-input' });
  const send = h('button', { type: 'submit', class: 'button', 'data-testid': 'broadcast-send' }, 'Broadcast');
  const broadcast = h('form', { class: 'inline-form' }, message, send);
  broadcast.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!message.value.trim()) return;
    postJson(`/api/workshops/${id}/broadcast`, { text: message.value }).then(
      () => {
        status.textContent = 'Sent to every participant.';
        message.value = '';
      },
      (error: unknown) => (status.textContent = error instanceof Error ? error.message : String(error)),
    );
  });
  const endButton = h('button', { type: 'button', class: 'button danger', 'data-testid': 'end-workshop' }, 'End the workshop');
  endButton.addEventListener('click', () => {
    if (!confirm('End the workshop? Every participant sandbox is deleted and nobody can join any more.')) return;
    endButton.disabled = true;
    postJson<{ deleted: number }>(`/api/workshops/${id}/end`, {}).then(
      (r) => {
        markEnded(endedMessage(r.deleted));
      },
      (error: unknown) => {
        endButton.disabled = false;
        status.textContent = plainError(error);
      },
    );
  });
  const copy = h('button', { type: 'button', class: 'button', 'data-testid': 'copy-link' }, 'Copy join link');
  copy.addEventListener('click', () => {
    void navigator.clipboard.writeText(w.joinUrl).then(() => (status.textContent = 'Join link copied.'), () => (status.textContent = w.joinUrl));
  });

  main.replaceChildren(
    h('nav', { class: 'breadcrumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '/workshops' }, 'Workshops'), ` / ${w.title}`),
    h('h1', {}, w.title),
    h(
      'section',
      { class: 'card ws-head' },
      h('div', {}, h('p', { class: 'muted' }, 'Join code'), h('p', { class: 'join-code', 'data-testid': 'join-code' }, w.code)),
      h('div', {}, h('p', { class: 'muted' }, 'Join link'), h('p', {}, h('code', { 'data-testid': 'join-url' }, w.joinUrl)), copy),
      h('div', {}, h('p', { class: 'muted' }, 'Room'), h('p', {}, counter, warm, ' · ', state)),
    ),
    h('div', { class: 'ws-actions' }, broadcast, h('a', { class: 'button', href: `/api/workshops/${id}/results?format=csv`, download: '' }, 'Export CSV'), h('a', { class: 'button', href: `/api/workshops/${id}/results`, download: '' }, 'Export JSON'), endButton),
    status,
    ltiRoster(id),
    h(
      'div',
      { class: 'grid-wrap' },
      h(
        'table',
        { class: 'grid', 'data-testid': 'grid' },
        h(
          'thead',
          {},
          h('tr', {}, h('th', { rowspan: '2', scope: 'col' }, 'Participant'), h('th', { rowspan: '2', scope: 'col' }, 'Quiz'), ...lessonsOf.map((l) => h('th', { colspan: String(grid.columns.filter((c) => c.lesson === l).length), scope: 'colgroup' }, w.lessons.find((x) => x.slug === l)?.title ?? l)), h('th', { rowspan: '2', scope: 'col' }, 'Last active'), h('th', { rowspan: '2', scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions'))),
          h('tr', {}, ...grid.columns.map((c, i) => h('th', { scope: 'col', title: c.title, class: 'exercise-col' }, String(i + 1)))),
        ),
        tbody,
      ),
    ),
    h('ol', { class: 'grid-legend', 'aria-label': 'Exercises' }, ...grid.columns.map((c) => h('li', {}, c.title))),
    watchSlot,
  );
  const markEnded = (message: string) => {
    ended = true;
    state.textContent = 'ended';
    warm.textContent = '';
    endButton.hidden = true;
    for (const control of broadcast.querySelectorAll<HTMLInputElement | HTMLButtonElement>('input, button')) control.disabled = true;
    watchSlot.replaceChildren();
    status.textContent = message;
    status.className = 'muted';
    redraw();
  };
  redraw();
  if (ended) markEnded('This workshop has ended: its sandboxes are gone; the results stay here and in the exports.');

  const socket = liveSocket();
  // Every instructor watching this room hears the end at once, whoever pressed the button.
  socket.on('workshop:ended', (event: WorkshopEndedEvent) => {
    if (event.workshopId === id) markEnded(endedMessage(event.sandboxes));
  });
  const watch = () => {
    void socket.emitWithAck('grid:watch', { workshopId: id });
  };
  if (socket.connected) watch();
  socket.on('connect', watch);
  socket.on('grid:row', (update: { workshopId: string; row: GridRow }) => {
    if (update.workshopId !== id) return;
    rows.set(update.row.learnerId, update.row);
    redraw();
  });
  // Last activity ages, and idle participants become stuck, without events.
  const timer = window.setInterval(() => {
    if (!main.isConnected || !tbody.isConnected) {
      window.clearInterval(timer);
      return;
    }
    void getJson<GridResponse>(`/api/workshops/${encodeURIComponent(id)}/grid`).then((fresh) => {
      for (const r of fresh.rows) rows.set(r.learnerId, r);
      redraw();
    });
  }, 30_000);
}

/** A participant's terminal recordings, for their instructor. */
export async function showParticipantRecordings(main: HTMLElement, id: string, learnerId: string): Promise<void> {
  document.title = 'Recordings · kubedojo';
  try {
    const { recordings } = await getJson<{ recordings: { id: string; lesson: string; startedAt: string }[] }>(`/api/workshops/${encodeURIComponent(id)}/participants/${encodeURIComponent(learnerId)}/recordings`);
    main.replaceChildren(
      h('nav', { class: 'breadcrumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: `/workshops/${id}` }, 'Workshop'), ' / recordings'),
      h('h1', {}, 'Terminal recordings'),
      recordings.length === 0 ? h('p', { class: 'muted' }, 'None yet.') : h('ul', { class: 'recording-list' }, ...recordings.map((r) => h('li', {}, h('a', { href: `/recordings/${r.id}` }, new Date(r.startedAt).toLocaleString()), ` · ${r.lesson}`))),
    );
  } catch (error) {
    main.replaceChildren(h('h1', {}, 'Recordings'), h('p', { class: 'problem', role: 'alert' }, error instanceof Error ? error.message : String(error)));
  }
}
