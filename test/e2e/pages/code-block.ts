import type { Locator } from '@playwright/test';
import type { Scope } from './scope.ts';

/** A code block of a lesson page, with what the page offers on it (Run, Apply, Save, Copy). */
export class CodeBlock {
  readonly root: Locator;
  readonly run: Locator;
  readonly apply: Locator;
  readonly save: Locator;
  readonly status: Locator;
  readonly note: Locator;
  readonly panel: Locator;

  /** The block whose text contains `text`. */
  constructor(page: Scope, text: string) {
    this.root = page.locator('.code-block', { has: page.locator('pre', { hasText: text }) }).first();
    this.run = this.root.getByRole('button', { name: /^Run in my terminal: / });
    this.apply = this.root.getByTestId('apply-block');
    this.save = this.root.getByTestId('save-block');
    this.status = this.root.locator('.code-status');
    this.note = this.root.getByTestId('not-runnable');
    this.panel = this.root.locator('.block-panel');
  }

  /** An object in the Apply preview or result, by "Kind name". */
  object(kindName: string): Locator {
    return this.panel.locator('li').filter({ hasText: new RegExp(`^${kindName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} `) });
  }
}
