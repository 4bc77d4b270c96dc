import { getJson } from '../api.ts';
import { h } from '../dom.ts';

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
