import type { RecordingView } from '../../../server/protocol.ts';
import { ApiError, getJson, getText } from '../api.ts';
import { h } from '../dom.ts';

function when(iso: string): string {
  return new Date(iso).toLocaleString();
}

/** The learner's own terminal recordings. */
export async function showRecordings(main: HTMLElement): Promise<void> {
  document.title = 'Terminal recordings · kubedojo';
  main.replaceChildren(h('h1', {}, 'Terminal recordings'), h('p', { class: 'muted' }, 'Loading…'));
  try {
    const { recordings } = await getJson<{ recordings: RecordingView[] }>('/api/recordings');
    main.lastElementChild?.replaceWith(
      recordings.length === 0
        ? h('p', { class: 'muted' }, 'No recordings yet: every terminal session is recorded, and appears here.')
        : h(
            'ul',
            { class: 'recording-list' },
            ...recordings.map((r) =>
              h('li', {}, h('a', { href: `/recordings/${r.id}` }, when(r.startedAt)), ` · ${r.lesson} · ${r.namespace}${r.endedAt ? '' : ' · live'}`),
            ),
          ),
    );
  } catch (error) {
    main.lastElementChild?.replaceWith(h('p', { class: 'problem', role: 'alert' }, `Could not load recordings: ${error instanceof Error ? error.message : String(error)}`));
  }
}

/** Replays one recording with asciinema-player (loaded only on this page). */
export async function showRecording(main: HTMLElement, id: string): Promise<void> {
  document.title = 'Recording · kubedojo';
  main.replaceChildren(h('p', { class: 'muted' }, 'Loading the recording…'));
  let recording: RecordingView;
  let cast: string;
  try {
    recording = await getJson<RecordingView>(`/api/recordings/${encodeURIComponent(id)}`);
    // Fetched here, not by the player, so a file this server cannot read (kept by another
    // replica) is explained by the server's own message instead of the player's bare failure.
    cast = await getText(`/api/recordings/${encodeURIComponent(id)}/cast`);
  } catch (error) {
    const message = error instanceof ApiError && error.status === 404 ? 'There is no such recording.' : `Could not load the recording: ${error instanceof Error ? error.message : String(error)}`;
    main.replaceChildren(h('h1', {}, 'Recording unavailable'), h('p', { class: 'problem', role: 'alert' }, message), h('p', {}, h('a', { href: '/recordings' }, 'All recordings')));
    return;
  }
  const stage = h('div', { class: 'recording-stage', 'data-testid': 'player' });
  main.replaceChildren(
    h('nav', { class: 'breadcrumbs' }, h('a', { href: '/recordings' }, 'Recordings'), ` / ${when(recording.startedAt)}`),
    h('h1', {}, `Terminal of ${recording.lesson}`),
    h('p', { class: 'muted' }, `${recording.namespace} · started ${when(recording.startedAt)}${recording.endedAt ? ` · ended ${when(recording.endedAt)}` : ' · still running'}`),
    stage,
  );
  const [player] = await Promise.all([import('asciinema-player'), import('asciinema-player/dist/bundle/asciinema-player.css')]);
  player.create({ data: cast }, stage, { fit: 'width', idleTimeLimit: 2, terminalFontFamily: "ui-monospace, Menlo, Consolas, monospace" });
}
