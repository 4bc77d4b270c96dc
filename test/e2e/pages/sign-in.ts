import type { Page } from '@playwright/test';
import { expect } from '../fixtures.ts';

export interface Account {
  username: string;
  password: string;
  displayName: string;
}

/** The sign-in form at /login, which also creates accounts (its "Create an account" mode). */
export class SignInPage {
  readonly page: Page;

  constructor(page: Page) {
    this.page = page;
  }

  /** Opens /login?next=… on `url`. */
  async open(url: string, next: string): Promise<void> {
    await this.page.goto(`${url}/login?next=${encodeURIComponent(next)}`);
    await expect(this.page.getByRole('heading', { level: 1 })).toHaveText('Sign in');
  }

  async signIn(account: Account): Promise<void> {
    await this.page.getByTestId('username').fill(account.username);
    await this.page.getByTestId('password').fill(account.password);
    await this.page.getByTestId('submit').click();
    await expect(this.page.getByTestId('signed-in-as')).toHaveText(account.displayName);
  }

  async signUp(account: Account): Promise<void> {
    await this.page.getByTestId('toggle-mode').click();
    await expect(this.page.getByRole('heading', { level: 1 })).toHaveText('Create an account');
    await this.page.getByTestId('display-name').fill(account.displayName);
    await this.signIn(account);
  }
}
