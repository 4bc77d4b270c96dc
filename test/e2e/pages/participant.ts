import type { Browser, BrowserContext, Page } from '@playwright/test';
import { expect, watchCsp } from '../fixtures.ts';
import { TerminalDock } from './terminal-dock.ts';

/** A participant in their own browser context, joined with the workshop's code. */
export interface Participant {
  name: string;
  context: BrowserContext;
  page: Page;
  terminal: TerminalDock;
}

export async function joinWorkshop(browser: Browser, url: string, code: string, name: string, title: string): Promise<Participant> {
  const context = await browser.newContext();
  await watchCsp(context);
  const page = await context.newPage();
  await page.goto(`${url}/join/${code}`);
  await page.getByTestId('join-name').fill(name);
  await page.getByTestId('join-submit').click();
  await expect(page.getByTestId('workshop-title')).toHaveText(title);
  await expect(page.getByTestId('signed-in-as')).toHaveText(name);
  return { name, context, page, terminal: new TerminalDock(page) };
}
