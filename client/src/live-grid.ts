import type { GridResponse, GridRow } from '../../server/protocol.ts';
import { h } from './dom.ts';
import { compareRows, reorder, type GridColumn } from './grid-model.ts';
import { GridRowView, type RowActions } from './grid-row.ts';

/** Where the reader is: the focused element and the scroll offsets of the page and the grid. */
interface Place {
  focused: HTMLElement | undefined;
  page: [number, number];
  wrap: [number, number];
}

/**
 * The workshop room's live grid: one row per participant, keyed by learner. A row update
 * patches that row in place (see GridRowView); a row moves only when its place in the order
 * changes (who looks stuck comes first), and focus and scroll stay where they were.
 */
export class LiveGrid {
  /** The table in its scrolling wrapper. */
  readonly element: HTMLElement;
  /** The exercises, numbered as the grid's columns are. */
  readonly legend: HTMLElement;
  private readonly tbody = h('tbody', { 'data-testid': 'grid-body' });
  private readonly views = new Map<string, GridRowView>();
  private readonly columns: readonly GridColumn[];
  private readonly actions: RowActions;
  private ended = false;

  constructor(grid: GridResponse, actions: RowActions) {
    this.columns = grid.columns;
    this.actions = actions;
    const lessons = [...new Set(grid.columns.map((c) => c.lesson))];
    const colgroup = (lesson: string) => h('th', { colspan: String(grid.columns.filter((c) => c.lesson === lesson).length), scope: 'colgroup' }, grid.workshop.lessons.find((x) => x.slug === lesson)?.title ?? lesson);
    this.element = h(
      'div',
      { class: 'grid-wrap' },
      h(
        'table',
        { class: 'grid', 'data-testid': 'grid' },
        h(
          'thead',
          {},
          h('tr', {}, h('th', { rowspan: '2', scope: 'col' }, 'Participant'), h('th', { rowspan: '2', scope: 'col' }, 'Quiz'), ...lessons.map(colgroup), h('th', { rowspan: '2', scope: 'col' }, 'Last active'), h('th', { rowspan: '2', scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions'))),
          h('tr', {}, ...grid.columns.map((c, i) => h('th', { scope: 'col', title: c.title, class: 'exercise-col' }, String(i + 1)))),
        ),
        this.tbody,
      ),
    );
    this.legend = h('ol', { class: 'grid-legend', 'aria-label': 'Exercises' }, ...grid.columns.map((c) => h('li', {}, c.title)));
    this.upsert(grid.rows);
  }

  /** How many participants the grid shows. */
  get size(): number {
    return this.views.size;
  }

  /** Adds or patches rows (by learner); other rows are not touched. */
  upsert(rows: readonly GridRow[]): void {
    const place = this.place();
    for (const row of rows) {
      const view = this.views.get(row.learnerId);
      if (view) view.update(row, this.ended);
      else this.views.set(row.learnerId, new GridRowView(row, this.columns, this.actions, this.ended));
    }
    this.order();
    this.restore(place);
  }

  /** "Last active" ages, without events. */
  refreshAges(): void {
    const now = Date.now();
    for (const view of this.views.values()) view.refreshAge(now);
  }

  /** The workshop ended: its rows keep their results but offer nothing that acts on sandboxes. */
  end(): void {
    this.ended = true;
    this.upsert([...this.views.values()].map((v) => v.current));
  }

  private order(): void {
    const wanted = [...this.views.values()].map((v) => v.current).sort(compareRows).map((r) => r.learnerId);
    const current = [...this.tbody.children].map((tr) => (tr as HTMLElement).dataset.learner ?? '');
    for (const [key, before] of reorder(current, wanted)) {
      const tr = this.views.get(key)?.tr;
      if (!tr) continue;
      const reference = before === null ? null : (this.views.get(before)?.tr ?? null);
      // moveBefore keeps a moved row's focus and state; a row new to the page is inserted.
      if (tr.isConnected && this.tbody.isConnected) {
        try {
          this.tbody.moveBefore(tr, reference);
          continue;
        } catch {
          // Not supported here: insert it (focus is put back afterwards).
        }
      }
      this.tbody.insertBefore(tr, reference);
    }
  }

  private place(): Place {
    const active = document.activeElement;
    const wrap = this.element;
    return {
      focused: active instanceof HTMLElement && this.element.contains(active) ? active : undefined,
      page: [window.scrollX, window.scrollY],
      wrap: [wrap.scrollLeft, wrap.scrollTop],
    };
  }

  private restore(place: Place): void {
    const { focused } = place;
    if (focused?.isConnected && document.activeElement !== focused) focused.focus({ preventScroll: true });
    if (this.element.scrollLeft !== place.wrap[0] || this.element.scrollTop !== place.wrap[1]) this.element.scrollTo(place.wrap[0], place.wrap[1]);
    if (window.scrollX !== place.page[0] || window.scrollY !== place.page[1]) window.scrollTo(place.page[0], place.page[1]);
  }
}
