import { expect, type Locator, type Page } from '@playwright/test';

/** The lesson catalog (the home page). */
export class CatalogPage {
  readonly page: Page;
  constructor(page: Page) {
    this.page = page;
  }

  async open(baseUrl: string): Promise<void> {
    await this.page.goto(baseUrl);
    await expect(this.page.getByRole('heading', { level: 1, name: 'Learn Kubernetes on a real cluster' })).toBeVisible();
  }

  card(slug: string): Locator {
    return this.page.locator(`[data-testid="lesson-card"][data-slug="${slug}"]`);
  }

  progressOf(slug: string): Locator {
    return this.card(slug).getByTestId('progress');
  }

  async openLesson(title: string): Promise<void> {
    await this.page.getByRole('link', { name: title, exact: true }).first().click();
  }
}
