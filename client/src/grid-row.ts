import type { GridCell, GridRow } from '../../server/protocol.ts';
import { h } from './dom.ts';
import { actionsKey, ago, CELL, cellOf, cellTitle, headKey, quizText, type GridColumn } from './grid-model.ts';

/** What the buttons of a row do; each resolves when done or rejects with what went wrong. */
export interface RowActions {
  watch(row: GridRow, namespace: string): Promise<void>;
  extend(row: GridRow, namespace: string): Promise<void>;
  reset(row: GridRow, namespace: string): Promise<void>;
  recordingsHref(row: GridRow): string;
  failed(error: unknown): void;
}

function fillCell(td: HTMLTableCellElement, c: GridCell): void {
  const info = CELL[c.status];
  const title = cellTitle(c);
  if (td.title !== title) td.title = title;
  if (td.dataset.cell === undefined) td.dataset.cell = `${c.lesson}/${c.exercise}`;
  if (td.dataset.status === c.status) return;
  td.className = `cell ${c.status}`;
  td.dataset.status = c.status;
  td.replaceChildren(h('span', { 'aria-hidden': 'true' }, info.mark), h('span', { class: 'visually-hidden' }, info.label));
}

function setText(element: HTMLElement, text: string): void {
  if (element.textContent !== text) element.textContent = text;
}

/**
 * One participant's row of the live grid. `update` changes only what differs in place: the
 * row, its cells and its buttons stay the same elements (focus and scroll stay where they are);
 * the buttons are rebuilt only when the sandbox they act on changes or the workshop ends.
 */
export class GridRowView {
  readonly tr: HTMLTableRowElement;
  private row: GridRow;
  private readonly columns: readonly GridColumn[];
  private readonly actions: RowActions;
  private readonly head = h('th', { scope: 'row' });
  private readonly quiz = h('td', { class: 'quiz', 'data-testid': 'quiz' });
  private readonly cells: HTMLTableCellElement[];
  private readonly lastActive = h('td', { class: 'muted' });
  private readonly buttons = h('td', { class: 'row-actions' });
  private drawnHead = '';
  private drawnActions: string | undefined;

  constructor(row: GridRow, columns: readonly GridColumn[], actions: RowActions, ended: boolean) {
    this.row = row;
    this.columns = columns;
    this.actions = actions;
    this.cells = columns.map(() => h('td'));
    this.tr = h('tr', { 'data-learner': row.learnerId });
    this.tr.append(this.head, this.quiz, ...this.cells, this.lastActive, this.buttons);
    this.update(row, ended);
  }

  get current(): GridRow {
    return this.row;
  }

  update(row: GridRow, ended: boolean): void {
    this.row = row;
    this.tr.classList.toggle('stuck', !!row.stuck);
    if (headKey(row) !== this.drawnHead) {
      this.drawnHead = headKey(row);
      this.head.replaceChildren(h('span', { class: 'who' }, row.displayName));
      if (row.stuck) this.head.append(h('span', { class: 'badge bad', 'data-testid': 'stuck', title: row.stuck }, 'stuck?'));
      if (row.terminalOpen) this.head.append(h('span', { class: 'badge info', title: 'their terminal is open' }, 'terminal'));
    }
    setText(this.quiz, quizText(row));
    this.columns.forEach((column, i) => {
      const td = this.cells[i];
      if (td) fillCell(td, cellOf(row, column));
    });
    this.refreshAge();
    this.drawActions(ended);
  }

  /** "Last active" ages without events. */
  refreshAge(now: number = Date.now()): void {
    setText(this.lastActive, ago(this.row.lastActivity, now));
  }

  private drawActions(ended: boolean): void {
    const key = actionsKey(this.row, ended);
    if (key === this.drawnActions) return;
    this.drawnActions = key;
    const focused = this.buttons.contains(document.activeElement) ? (document.activeElement as HTMLElement).dataset.testid : undefined;
    const namespace = this.row.sandboxes[0]?.namespace;
    const live = namespace !== undefined && !ended;
    this.buttons.replaceChildren(
      ...(live ? [this.button('Watch', 'watch', (row) => this.actions.watch(row, namespace)), this.button('+30 min', 'extend', (row) => this.actions.extend(row, namespace)), this.button('Reset', 'reset', (row) => this.actions.reset(row, namespace))] : []),
      h('a', { href: this.actions.recordingsHref(this.row), class: 'link-button', 'data-testid': 'recordings' }, 'Recordings'),
    );
    // A rebuilt button keeps the keyboard where it was.
    if (focused) this.buttons.querySelector<HTMLElement>(`[data-testid="${focused}"]`)?.focus({ preventScroll: true });
  }

  private button(label: string, testId: string, run: (row: GridRow) => Promise<void>): HTMLButtonElement {
    const button = h('button', { type: 'button', class: 'link-button', 'data-testid': testId }, label);
    button.addEventListener('click', () => {
      button.disabled = true;
      run(this.row).then(
        () => {
          button.disabled = false;
        },
        (error: unknown) => {
          button.disabled = false;
          this.actions.failed(error);
        },
      );
    });
    return button;
  }
}
