import type { Locator, Page } from '@playwright/test';
import type { Scope } from './scope.ts';

/** The terminal dock: xterm.js renders its rows into the DOM, which is what a learner sees. */
export class TerminalDock {
  readonly page: Page;
  readonly root: Locator;
  readonly state: Locator;
  readonly screen: Locator;
  readonly rows: Locator;
  readonly message: Locator;
  readonly input: Locator;
  readonly screenReaderMode: Locator;
  /** xterm's accessible copy of the rows (screen-reader mode). */
  readonly accessibleRows: Locator;

  /** `scope`: the frame the dock is in, when kubedojo runs inside an LMS's iframe. */
  constructor(page: Page, scope: Scope = page) {
    this.page = page;
    this.root = scope.getByTestId('terminal-dock');
    this.state = this.root.getByTestId('terminal-state');
    this.screen = this.root.locator('.xterm-rows');
    this.rows = this.screen.locator(':scope > div');
    this.message = this.root.locator('.terminal-message');
    this.input = this.root.locator('.xterm-helper-textarea');
    this.screenReaderMode = this.root.getByTestId('screen-reader-mode');
    this.accessibleRows = this.root.locator('.xterm-accessibility-tree');
  }

  async type(text: string): Promise<void> {
    await this.input.focus();
    await this.page.keyboard.type(text);
  }

  /** Pastes text into the terminal as the browser does on Ctrl+V (a paste event with the text). */
  async paste(text: string): Promise<void> {
    await this.input.focus();
    await this.input.evaluate((el, value) => {
      const data = new DataTransfer();
      data.setData('text/plain', value);
      el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
    }, text);
  }
}
