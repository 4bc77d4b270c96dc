import type { Locator, Page } from '@playwright/test';
import type { Scope } from './scope.ts';

/** The terminal dock: xterm.js renders its rows into the DOM, which is what a learner sees. */
export class TerminalDock {
  readonly page: Page;
  readonly root: Locator;
  readonly state: Locator;
  readonly screen: Locator;

  /** `scope`: the frame the dock is in, when kubedojo runs inside an LMS's iframe. */
  constructor(page: Page, scope: Scope = page) {
    this.page = page;
    this.root = scope.getByTestId('terminal-dock');
    this.state = this.root.getByTestId('terminal-state');
    this.screen = this.root.locator('.xterm-rows');
  }

  async type(text: string): Promise<void> {
    await this.root.locator('.xterm-helper-textarea').focus();
    await this.page.keyboard.type(text);
  }
}
