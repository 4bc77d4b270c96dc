import type { Locator } from '@playwright/test';
import type { Scope } from './scope.ts';

/** The lab sandbox card on a lesson page. */
export class SandboxPanel {
  readonly root: Locator;
  readonly start: Locator;
  readonly namespace: Locator;
  readonly group: Locator;
  readonly prefix: Locator;
  readonly nodes: Locator;
  readonly timeLeft: Locator;
  readonly extend: Locator;
  readonly remove: Locator;
  readonly status: Locator;

  constructor(page: Scope) {
    this.root = page.getByTestId('sandbox-panel');
    this.start = this.root.getByTestId('start-sandbox');
    this.namespace = this.root.getByTestId('sandbox-namespace');
    this.group = this.root.getByTestId('sandbox-group');
    this.prefix = this.root.getByTestId('sandbox-prefix');
    this.nodes = this.root.getByTestId('sandbox-nodes');
    this.timeLeft = this.root.getByTestId('sandbox-time-left');
    this.extend = this.root.getByTestId('extend-sandbox');
    this.remove = this.root.getByTestId('delete-sandbox');
    this.status = this.root.getByRole('status');
  }
}
