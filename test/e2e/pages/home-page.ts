import { expect, type Locator, type Page } from '@playwright/test';

/** The first page: what kubedojo is connected to. */
export class HomePage {
  readonly page: Page;
  readonly clusterCard: Locator;
  readonly state: Locator;
  readonly kind: Locator;
  readonly version: Locator;
  readonly nodes: Locator;
  readonly server: Locator;
  readonly problem: Locator;
  readonly themeToggle: Locator;

  constructor(page: Page) {
    this.page = page;
    this.clusterCard = page.getByTestId('cluster-card');
    this.state = page.getByTestId('cluster-state');
    this.kind = page.getByTestId('cluster-kind');
    this.version = page.getByTestId('cluster-version');
    this.nodes = page.getByTestId('cluster-nodes');
    this.server = page.getByTestId('cluster-server');
    this.problem = this.clusterCard.getByRole('alert');
    this.themeToggle = page.getByTestId('theme-toggle');
  }

  async open(baseUrl: string): Promise<void> {
    await this.page.goto(baseUrl);
    await expect(this.page.getByRole('heading', { level: 1 })).toBeVisible();
    await expect(this.clusterCard).toBeVisible();
  }

  theme(): Promise<string | undefined> {
    return this.page.evaluate(() => document.documentElement.dataset.theme);
  }
}
