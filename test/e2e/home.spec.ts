import fs from 'node:fs/promises';
import path from 'node:path';
import { expect, takeViolations, test } from './fixtures.ts';
import { projectRoot } from '../helpers/cli.ts';
import { HomePage } from './pages/home-page.ts';
import { servedForSuite } from './server.ts';

test.describe('the first page, served with the embedded cluster', () => {
  const app = servedForSuite(test);

  test('says which cluster kubedojo is connected to and shows its nodes; only an admin sees the API server address', async ({ page }) => {
    const versions = JSON.parse(await fs.readFile(path.join(projectRoot, 'sandboxes/controlplane/versions.json'), 'utf8')) as { kubernetes: string };
    const home = new HomePage(page);
    await home.open(app().url);
    await expect(home.state).toHaveText('Connected');
    await expect(home.kind).toHaveText('Embedded local cluster');
    await expect(home.version).toHaveText(versions.kubernetes);
    // Seven simulated nodes and, as root (as the browser tests run), the real one.
    await expect(home.nodes).toHaveText('8 of 8 Ready · zones zone-a, zone-b, zone-c');
    await expect(home.problem).toHaveCount(0);
    // A guest is not told where the cluster's API server listens (neither on the page nor in the API).
    await expect(home.server).toHaveCount(0);
    expect(((await (await page.request.get(`${app().url}/api/cluster`)).json()) as { server: string | null }).server).toBeNull();
    await page.goto(app().setupUrl());
    await page.getByTestId('username').fill('operator');
    await page.getByTestId('password').fill('a good long password');
    await page.getByTestId('submit').click();
    await expect(page.getByRole('heading', { level: 1, name: 'Admin' })).toBeVisible();
    await home.open(app().url);
    await expect(home.server).toHaveText(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  test('the Content-Security-Policy refuses a script injected into the page', async ({ page }) => {
    const home = new HomePage(page);
    await home.open(app().url);
    await expect(home.state).toHaveText('Connected');
    // What an XSS would do: add an inline script. The policy allows only the app's own files.
    const ran = await page.evaluate(async () => {
      const script = document.createElement('script');
      script.textContent = 'window.kdInjected = true';
      document.body.append(script);
      await new Promise((r) => setTimeout(r, 100));
      return (window as unknown as { kdInjected?: boolean }).kdInjected === true;
    });
    expect(ran).toBe(false);
    const seen: string[] = [];
    await expect
      .poll(() => {
        seen.push(...takeViolations());
        return seen.join('\n');
      })
      .toContain('script-src');
    // The browser reports it twice (its console and the event): both are this test's, on purpose.
    await page.waitForTimeout(500);
    takeViolations();
  });

  test('switches to the dark theme from the keyboard and remembers it', async ({ page }) => {
    const home = new HomePage(page);
    await home.open(app().url);
    await page.emulateMedia({ colorScheme: 'light' });
    await page.reload();
    expect(await home.theme()).toBe('light');
    await home.themeToggle.focus();
    await page.keyboard.press('Enter');
    expect(await home.theme()).toBe('dark');
    await expect(home.themeToggle).toHaveAttribute('aria-pressed', 'true');
    await page.reload();
    expect(await home.theme()).toBe('dark');
  });
});

test.describe('the first page without a cluster', () => {
  const app = servedForSuite(test, ['--no-cluster-up']);

  test('says the cluster is unreachable and how to start it', async ({ page }) => {
    const home = new HomePage(page);
    await home.open(app().url);
    await expect(home.state).toHaveText('Unreachable');
    await expect(home.problem).toContainText('run "kubedojo cluster up"');
    const ready = await page.request.get(`${app().url}/readyz`);
    expect(ready.status()).toBe(503);
  });
});
