import type { Locator, Page } from '@playwright/test';
import type { Scope } from './scope.ts';

/** The instructor's room: join code, the live grid, the read-only terminal view, the end. */
export class WorkshopRoom {
  readonly page: Page;
  readonly scope: Scope;
  readonly code: Locator;
  readonly grid: Locator;
  readonly status: Locator;
  readonly watchScreen: Locator;
  readonly watchState: Locator;
  /** The read-only terminal views on the page (one at most). */
  readonly watchPanels: Locator;
  /** "scheduled", "running" or "ended". */
  readonly state: Locator;
  /** " · N sandboxes ready" while the warm pool serves it; empty once ended. */
  readonly warm: Locator;
  readonly endButton: Locator;
  readonly broadcastInput: Locator;

  /** `scope`: the frame the room is in, when an instructor opens it from an LMS course. */
  constructor(page: Page, scope: Scope = page) {
    this.page = page;
    this.scope = scope;
    this.code = scope.getByTestId('join-code');
    this.grid = scope.getByTestId('grid');
    this.status = scope.getByTestId('ws-status');
    this.watchScreen = scope.getByTestId('watch-screen').locator('.xterm-rows');
    this.watchState = scope.getByTestId('watch-state');
    this.watchPanels = scope.getByTestId('watch-panel');
    this.state = scope.getByTestId('ws-state');
    this.warm = scope.getByTestId('ws-warm');
    this.endButton = scope.getByTestId('end-workshop');
    this.broadcastInput = scope.getByTestId('broadcast-input');
  }

  /** Watch, +30 min and Reset of every row: what acts on a participant's live sandbox. */
  liveActions(): Locator {
    return this.grid.locator('[data-testid="watch"], [data-testid="extend"], [data-testid="reset"]');
  }

  row(name: string): Locator {
    return this.grid.locator('tbody tr', { has: this.scope.locator('.who', { hasText: name }) });
  }

  cell(name: string, exercise: string): Locator {
    return this.row(name).locator(`td[data-cell$="/${exercise}"]`);
  }

  async watch(name: string): Promise<void> {
    await this.row(name).getByTestId('watch').click();
  }

  async closeWatch(): Promise<void> {
    await this.watchPanels.getByRole('button', { name: 'Close the view' }).click();
  }

  async end(): Promise<void> {
    this.page.once('dialog', (dialog) => void dialog.accept());
    await this.page.getByTestId('end-workshop').click();
  }
}

/** The create form on /workshops. */
export class WorkshopsPage {
  readonly page: Page;
  readonly status: Locator;
  readonly when: Locator;
  constructor(page: Page) {
    this.page = page;
    this.status = page.getByTestId('form-status');
    this.when = page.getByTestId('ws-when');
  }

  lessonOrder(): Promise<string[]> {
    return this.page.getByTestId('ws-lessons').locator(':scope > li').evaluateAll((items) => items.map((li) => (li as HTMLElement).dataset.slug ?? ''));
  }

  async create(title: string, lessons: string[], seats: number): Promise<void> {
    await this.page.getByTestId('ws-title').fill(title);
    for (const slug of lessons) await this.page.getByTestId(`ws-lesson-${slug}`).check();
    await this.page.getByTestId('ws-seats').fill(String(seats));
    await this.page.getByTestId('ws-create').click();
  }
}
