import type { Locator } from '@playwright/test';
import type { Scope } from './scope.ts';

/** The lab exercises of a lesson page, with their Check buttons and inline results. */
export class LabPanel {
  readonly page: Scope;
  readonly root: Locator;
  readonly progress: Locator;

  constructor(page: Scope) {
    this.page = page;
    this.root = page.getByTestId('lab-panel');
    this.progress = this.root.getByTestId('lab-progress');
  }

  exercise(id: string): Locator {
    return this.root.getByTestId(`exercise-${id}`);
  }

  async open(id: string): Promise<void> {
    const details = this.exercise(id);
    if ((await details.getAttribute('open')) === null) await details.locator(':scope > summary').click();
  }

  checkButton(id: string): Locator {
    return this.root.getByTestId(`check-${id}`);
  }

  result(id: string, check: string): Locator {
    return this.root.getByTestId(`results-${id}`).locator(`[data-check="${check}"]`);
  }

  badge(id: string): Locator {
    return this.exercise(id).locator(':scope > summary .badge');
  }
}
