import type { Page } from '@playwright/test';
import { expect, test } from './fixtures.ts';
import { LessonPage } from './pages/lesson-page.ts';
import { SandboxPanel } from './pages/sandbox-panel.ts';
import { TerminalDock } from './pages/terminal-dock.ts';
import { servedForSuite } from './server.ts';

/**
 * A keyboard and screen-reader user's lesson: the terminal can be left with a documented key
 * (Esc, then Tab) and read in xterm's screen-reader mode; every Check, Check answer and Run
 * button says which exercise, question or block it acts on; each diagram is an image named
 * by its text alternative, drawn from its mermaid source; the header fits a 390 px phone.
 */

async function names(page: Page, selector: string): Promise<string[]> {
  return page.locator(selector).evaluateAll((els) => els.map((el) => el.getAttribute('aria-label') ?? el.textContent.trim()));
}

test.describe('accessibility', () => {
  const app = servedForSuite(test);

  test('Esc then Tab leaves the terminal (Shift+Tab backwards); plain Tab stays in the shell; screen-reader mode on request', async ({ page }) => {
    await page.goto(`${app().url}/lessons/kubernetes-fundamentals`);
    const panel = new SandboxPanel(page);
    await panel.start.click();
    await expect(panel.status).toHaveText('Your sandbox is ready.');
    await page.getByTestId('open-terminal').click();
    const terminal = new TerminalDock(page);
    await expect(terminal.state).toHaveText('Connected');
    await expect(terminal.input).toBeFocused();
    await expect(terminal.input).toHaveAccessibleDescription('Esc then Tab leaves the terminal');

    // Tab belongs to the shell (completion), as a learner expects: focus stays.
    await terminal.type('echo tab-stays');
    await page.keyboard.press('Tab');
    await expect(terminal.input).toBeFocused();
    await page.keyboard.press('Control+U');

    await page.keyboard.press('Escape');
    await page.keyboard.press('Tab');
    await expect(terminal.input).not.toBeFocused();
    const after = await page.evaluate(() => document.activeElement?.closest('[data-testid="terminal-dock"] .xterm') === null);
    expect(after, 'focus left the terminal').toBe(true);

    await terminal.input.focus();
    await page.keyboard.press('Escape');
    await page.keyboard.press('Shift+Tab');
    await expect(terminal.input).not.toBeFocused();

    // Screen-reader mode: xterm keeps an accessible copy of the rows; the choice is remembered.
    await expect(terminal.screenReaderMode).toHaveAttribute('aria-pressed', 'false');
    await terminal.screenReaderMode.click();
    await expect(terminal.screenReaderMode).toHaveAttribute('aria-pressed', 'true');
    await terminal.type('echo "read aloud: $((6 * 7))"\n');
    await expect(terminal.accessibleRows).toContainText('read aloud: 42');
    await page.reload();
    await expect(terminal.state).toHaveText('Connected');
    await expect(terminal.screenReaderMode).toHaveAttribute('aria-pressed', 'true');
  });

  test('every Check, Check answer and Run button is named after what it acts on', async ({ page }) => {
    await page.goto(`${app().url}/lessons/kubernetes-fundamentals`);
    await new LessonPage(page).expectLoaded('Kubernetes Fundamentals');
    await expect(page.getByRole('button', { name: 'Check exercise 1: Run three web replicas with a Deployment', includeHidden: true })).toHaveCount(1);
    await expect(page.getByRole('button', { name: 'Check answer to Question 3' })).toBeVisible();
    await expect(page.getByRole('button', { name: /^Run in my terminal: kubectl apply -f hello-pod\.yaml/ })).toBeVisible();
    for (const selector of ['.exercise-actions button', 'button.quiz-check', 'button.run-button']) {
      const all = await names(page, selector);
      expect(all.length, selector).toBeGreaterThan(1);
      expect(new Set(all).size, `${selector}: ${all.join(' | ')}`).toBe(all.length);
    }
  });

  test('each diagram is an image named by its text alternative, drawn from its source', async ({ page }) => {
    await page.goto(`${app().url}/lessons/kubernetes-fundamentals`);
    const figure = page.getByRole('img', { name: /^Diagram\. A flowchart from top to bottom: 7 boxes and 6 arrows\.$/ });
    await expect(figure).toBeVisible();
    await expect(figure).toHaveAccessibleDescription(/Deployment web, replicas: 3 → ReplicaSet web-7d4b9c, image nginx:1\.26, scaling down/);
    const text = page.locator('.diagram-text').first();
    await text.locator('summary').click();
    await expect(text.locator('li').first()).toHaveText('Deployment web, replicas: 3 → ReplicaSet web-7d4b9c, image nginx:1.26, scaling down');
  });

  test('the header fits a 390 px phone, and so does the page', async ({ page }) => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const path of ['/', '/lessons/kubernetes-fundamentals', '/login']) {
      await page.goto(`${app().url}${path}`);
      await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
      const widths = await page.evaluate(() => ({ header: document.querySelector('.topbar')?.scrollWidth ?? 0, page: document.documentElement.scrollWidth }));
      expect(widths.header, `${path}: header`).toBeLessThanOrEqual(390);
      expect(widths.page, `${path}: page`).toBeLessThanOrEqual(390);
      await expect(page.getByRole('link', { name: 'Sign in' })).toBeInViewport();
    }
  });
});
