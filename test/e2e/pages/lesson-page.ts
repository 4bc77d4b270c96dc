import { expect, type Locator } from '@playwright/test';
import type { Scope } from './scope.ts';

/** A lesson: body, diagrams, code blocks and the quiz widget. */
export class LessonPage {
  readonly page: Scope;
  readonly title: Locator;
  readonly progress: Locator;
  readonly drawnDiagrams: Locator;
  readonly toc: Locator;

  constructor(page: Scope) {
    this.page = page;
    this.title = page.getByRole('heading', { level: 1 });
    this.progress = page.getByTestId('lesson-progress');
    this.drawnDiagrams = page.locator('.diagram-drawn svg');
    this.toc = page.getByRole('navigation', { name: 'On this page' });
  }

  async expectLoaded(title: string): Promise<void> {
    await expect(this.title).toHaveText(title);
  }

  question(id: string): Locator {
    return this.page.locator(`fieldset[data-question="${id}"]`);
  }

  async answer(id: string, letter: string): Promise<void> {
    await this.question(id).locator(`input[value="${letter}"]`).check();
    await this.page.getByTestId(`check-${id}`).click();
  }

  result(id: string): Locator {
    return this.page.getByTestId(`result-${id}`);
  }

  explanation(id: string): Locator {
    return this.page.getByTestId(`explanation-${id}`);
  }
}
