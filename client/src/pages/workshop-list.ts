import type { CatalogResponse, WorkshopListResponse, WorkshopView } from '../../../server/protocol.ts';
import { ApiError, getJson } from '../api.ts';
import { h } from '../dom.ts';
import { workshopForm } from './workshop-form.ts';

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
