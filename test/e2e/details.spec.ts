import type { Page } from '@playwright/test';
import { expect, test } from './fixtures.ts';
import { CatalogPage } from './pages/catalog-page.ts';
import { LessonPage } from './pages/lesson-page.ts';
import { SandboxPanel } from './pages/sandbox-panel.ts';
import { servedForSuite } from './server.ts';

/**
 * The smaller things a learner and an admin meet: diagram arrows that stay visible in the dark,
 * diagrams neither huge nor tiny, a topic filter with every topic, "In progress" only after real
 * progress, the shell's $NAMESPACE and $GROUP named on the page, the prerequisite the author
 * meant, and an admin page that lists sandboxes and accounts.
 */

/** WCAG contrast ratio of two CSS colours (rgb() strings or #hex). */
function contrast(a: string, b: string): number {
  const rgb = (c: string) => {
    const hex = /^#([0-9a-f]{6})$/i.exec(c);
    const parts = hex?.[1] ? [0, 2, 4].map((i) => parseInt(hex[1]?.slice(i, i + 2) ?? '0', 16)) : (c.match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map(Number);
    const [r = 0, g = 0, bl = 0] = parts.map((v) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [rgb(a), rgb(b)].sort((x, y) => y - x);
  return ((hi ?? 0) + 0.05) / ((lo ?? 0) + 0.05);
}

async function drawn(page: Page, count: number): Promise<void> {
  await expect(page.locator('.diagram[data-drawn="true"]')).toHaveCount(count, { timeout: 30_000 });
}

test.describe('the details', () => {
  const app = servedForSuite(test);

  test('diagram arrows keep their contrast after switching to the dark theme and back, and no diagram is huge or its text tiny', async ({ page }) => {
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.goto(`${app().url}/lessons/advanced-kubernetes-patterns`);
    await drawn(page, 8);
    const arrows = page.locator('.diagram-drawn svg .flowchart-link');
    const check = async (theme: string) => {
      const background = await page.locator('.diagram').first().evaluate((el) => getComputedStyle(el).backgroundColor);
      const strokes = await arrows.evaluateAll((paths) => paths.map((p) => getComputedStyle(p).stroke));
      expect(strokes.length).toBeGreaterThan(20);
      for (const stroke of new Set(strokes)) expect(contrast(stroke, background), `${theme}: arrow ${stroke} on ${background}`).toBeGreaterThanOrEqual(3);
      return strokes[0];
    };
    const light = await check('light');
    // The learner switches the theme on the page: the diagrams are drawn again in its colours.
    await page.getByTestId('theme-toggle').click();
    await expect(page.locator('.diagram[data-theme="dark"]')).toHaveCount(8);
    expect(await check('dark')).not.toBe(light);
    await page.getByTestId('theme-toggle').click();
    await expect(page.locator('.diagram[data-theme="light"]')).toHaveCount(8);
    expect(await check('light')).toBe(light);

    const sizes = await page.locator('.diagram-drawn').evaluateAll((figures) =>
      figures.map((f) => ({ scale: Number((f as HTMLElement).dataset.scale), height: f.getBoundingClientRect().height, window: window.innerHeight })),
    );
    expect(sizes).toHaveLength(8);
    for (const [i, size] of sizes.entries()) {
      expect(size.scale, `diagram ${i + 1}: text at ${size.scale} of its size`).toBeGreaterThanOrEqual(0.75);
      expect(size.height, `diagram ${i + 1}: ${size.height} px tall`).toBeLessThanOrEqual(size.window * 0.8 + 1);
    }
  });

  test('the topic filter offers every topic the lessons carry, and a card’s topic filters too', async ({ page }) => {
    const catalog = new CatalogPage(page);
    await catalog.open(app().url);
    const filters = await page.locator('.tag-filter button[data-tag]').evaluateAll((buttons) => buttons.map((b) => (b as HTMLElement).dataset.tag).filter((t) => t));
    const tags = await page.locator('[data-testid="lesson-card"] .tags li').allTextContents();
    expect(tags.length).toBeGreaterThan(14);
    for (const tag of tags) expect(filters, tag).toContain(tag);
    await page.locator('.tag-filter button[data-tag="operators"]').click();
    await expect(page.locator('[data-testid="lesson-card"]')).toHaveCount(1);
    await expect(catalog.card('advanced-kubernetes-patterns')).toBeVisible();
    await catalog.open(app().url);
    await catalog.card('kubernetes-fundamentals').getByRole('link', { name: 'Lessons about labels' }).click();
    await expect(page).toHaveURL(/\?tag=labels$/);
    await expect(page.locator('.tag-filter button[data-tag="labels"]')).toHaveAttribute('aria-pressed', 'true');
  });

  test('a lesson is "In progress" only after real progress; the page names $NAMESPACE and $GROUP; the prerequisite is the lesson meant', async ({ page }) => {
    const catalog = new CatalogPage(page);
    await page.goto(`${app().url}/lessons/advanced-kubernetes-patterns`);
    const lesson = new LessonPage(page);
    await lesson.expectLoaded('Advanced Kubernetes Patterns');
    // prerequisites: [1] in advanced lesson 1: the intermediate lesson 1 it links to, never itself.
    await expect(page.locator('.lesson-header .lesson-meta')).toContainText('after Kubernetes Fundamentals');
    await expect(lesson.progress).toHaveText('Not started');
    await catalog.open(app().url);
    await expect(catalog.progressOf('advanced-kubernetes-patterns')).toHaveText('Not started');

    await page.goto(`${app().url}/lessons/advanced-kubernetes-patterns`);
    const panel = new SandboxPanel(page);
    await panel.start.click();
    await expect(panel.status).toHaveText('Your sandbox is ready.');
    await expect(panel.root).toContainText('in your terminal: $NAMESPACE');
    await expect(panel.root).toContainText('in your terminal: $GROUP');
    await expect(panel.root).toContainText('in your terminal: $PRIORITY_CLASS_PREFIX');
    await catalog.open(app().url);
    await expect(catalog.progressOf('advanced-kubernetes-patterns')).toHaveText(/^In progress/);
  });

  test('the admin page lists every sandbox and the accounts as a table', async ({ page, browser }) => {
    const learner = await browser.newContext();
    const them = await learner.newPage();
    await them.goto(`${app().url}/lessons/kubernetes-fundamentals`);
    const panel = new SandboxPanel(them);
    await panel.start.click();
    await expect(panel.status).toHaveText('Your sandbox is ready.');
    const namespace = (await panel.namespace.textContent()) ?? '';
    // The list and the delete are the admins' alone: a learner gets neither.
    expect((await them.request.get(`${app().url}/api/admin/sandboxes`)).status()).toBe(401);

    await page.goto(app().setupUrl());
    await page.getByTestId('username').fill('admin');
    await page.getByTestId('password').fill('a good long password');
    await page.getByTestId('submit').click();
    await expect(page.getByRole('heading', { level: 1, name: 'Admin' })).toBeVisible();
    const sandboxes = page.getByTestId('admin-sandboxes');
    const row = sandboxes.locator(`tr[data-namespace="${namespace}"]`);
    await expect(row).toContainText('kubernetes-fundamentals');
    await expect(row).toContainText('ready');
    await expect(row.getByRole('button', { name: `Delete the sandbox ${namespace} of a guest` })).toBeVisible();
    // One line per account, its name shown only when it says more than the username.
    const account = page.getByTestId('accounts').locator('tr[data-username="admin"]');
    await expect(account.locator('td')).toHaveText(['admin', '—', 'admin', /\d/]);
    page.once('dialog', (dialog) => void dialog.accept());
    await row.getByRole('button', { name: /^Delete the sandbox/ }).click();
    await expect(sandboxes.locator(`tr[data-namespace="${namespace}"]`)).toContainText('terminating');
    await learner.close();
  });
});
