import AxeBuilder from '@axe-core/playwright';
import type { Page, TestInfo } from '@playwright/test';
import { expect, test } from './fixtures.ts';
import { LabPanel } from './pages/lab-panel.ts';
import { SandboxPanel } from './pages/sandbox-panel.ts';
import { TerminalDock } from './pages/terminal-dock.ts';
import { WorkshopRoom, WorkshopsPage } from './pages/workshop-room.ts';
import { servedForSuite } from './server.ts';

/**
 * An axe-core audit (WCAG 2.2 A and AA rules, and axe's best practices) of the pages people
 * spend their day on: the catalog, a lesson with its lab and the terminal open, sign-in, the
 * workshop room (with a participant in its grid) and admin, in the light and the dark theme. No
 * serious or critical violation.
 */

async function audit(page: Page, info: TestInfo, name: string): Promise<string[]> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']).analyze();
  const grave = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  await info.attach(`axe ${name}`, { body: JSON.stringify(result.violations, null, 2), contentType: 'application/json' });
  const others = result.violations.map((v) => `${v.id} (${v.impact ?? 'no impact'})`).join(', ');
  console.log(`axe ${name}: ${result.passes.length} rules pass, ${result.violations.length} violations (${grave.length} serious or critical)${others ? `: ${others}` : ''}`);
  return grave.map((v) => `${name}: ${v.impact ?? ''} ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 5).join(' | ')}`);
}

test.describe('accessibility audit (axe-core)', () => {
  const app = servedForSuite(test);

  for (const theme of ['light', 'dark'] as const) {
    test(`catalog, lesson with lab and terminal, sign-in, workshop room and admin (${theme})`, async ({ page, browser }, info) => {
      test.setTimeout(180_000);
      const found: string[] = [];
      await page.emulateMedia({ colorScheme: theme });
      await page.setViewportSize({ width: 1440, height: 900 });

      await page.goto(app().url);
      await expect(page.getByTestId('cluster-card')).toBeVisible();
      await expect(page.getByTestId('cluster-state')).toHaveText('Connected');
      found.push(...(await audit(page, info, `catalog (${theme})`)));

      await page.goto(`${app().url}/lessons/kubernetes-fundamentals`);
      const panel = new SandboxPanel(page);
      await panel.start.click();
      await expect(panel.status).toHaveText('Your sandbox is ready.');
      await new LabPanel(page).open('deploy-web');
      await page.getByTestId('open-terminal').click();
      const terminal = new TerminalDock(page);
      await expect(terminal.state).toHaveText('Connected');
      await expect(page.locator('.diagram[data-drawn="true"]')).toHaveCount(3);
      found.push(...(await audit(page, info, `lesson with lab and terminal (${theme})`)));

      await page.goto(`${app().url}/login`);
      await expect(page.getByRole('heading', { level: 1 })).toHaveText('Sign in');
      found.push(...(await audit(page, info, `sign-in (${theme})`)));

      // The admin (made once, from the setup link) runs a workshop too.
      if (theme === 'light') {
        await page.goto(app().setupUrl());
        await page.getByTestId('username').fill('auditor');
        await page.getByTestId('password').fill('a good long password');
        await page.getByTestId('submit').click();
      } else {
        await page.getByTestId('username').fill('auditor');
        await page.getByTestId('password').fill('a good long password');
        await page.getByTestId('submit').click();
        await expect(page.getByTestId('signed-in-as')).toHaveText('auditor');
        await page.goto(`${app().url}/admin`);
      }
      await expect(page.getByRole('heading', { level: 1, name: 'Admin' })).toBeVisible();
      await expect(page.getByTestId('capacity-sandboxes')).toBeVisible();
      found.push(...(await audit(page, info, `admin (${theme})`)));

      await page.goto(`${app().url}/workshops`);
      await new WorkshopsPage(page).create(`Audit ${theme}`, ['kubernetes-fundamentals'], 2);
      const room = new WorkshopRoom(page);
      await expect(room.code).toBeVisible();
      // A participant in the grid, so its row and live actions are audited too.
      const participant = await browser.newContext();
      const them = await participant.newPage();
      await them.goto(`${app().url}/join/${(await room.code.textContent()) ?? ''}`);
      await them.getByTestId('join-name').fill(`Ada ${theme}`);
      await them.getByTestId('join-submit').click();
      await expect(them.getByTestId('workshop-title')).toHaveText(`Audit ${theme}`);
      await expect(room.row(`Ada ${theme}`)).toBeVisible();
      await participant.close();
      found.push(...(await audit(page, info, `workshop room (${theme})`)));
      expect(found, 'serious or critical axe violations').toEqual([]);
    });
  }
});
