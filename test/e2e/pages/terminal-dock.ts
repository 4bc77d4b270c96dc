import type { Locator, Page } from '@playwright/test';

/** The terminal dock: xterm.js renders its rows into the DOM, which is what a learner sees. */
export class TerminalDock {
  readonly page: Page;
  readonly root: Locator;
  readonly state: Locator;
  readonly screen: Locator;

  constructor(page: Page) {
    this.page = page;
    this.root = page.getByTestId('terminal-dock');
    this.state = this.root.getByTestId('terminal-state');
    this.screen = this.root.locator('.xterm-rows');
  }

  async type(text: string): Promise<void> {
    await this.root.locator('.xterm-helper-textarea').focus();
    await this.page.keyboard.type(text);
  }
}
