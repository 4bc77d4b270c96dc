import { expect, test } from './fixtures.ts';
import { CodeBlock } from './pages/code-block.ts';
import { LessonPage } from './pages/lesson-page.ts';
import { SandboxPanel } from './pages/sandbox-panel.ts';
import { TerminalDock } from './pages/terminal-dock.ts';
import { servedForSuite } from './server.ts';

/**
 * The lesson's code blocks in the browser: a runnable block runs command by command (an
 * `exec -it` no longer swallows the lines after it), a block that cannot run says why and offers
 * no Run, a manifest is applied as the learner after a dry-run preview, or saved into the home
 * and applied from there, and a multi-line paste runs like a block.
 */
test.describe('code blocks of a lesson', () => {
  const app = servedForSuite(test);

  test.beforeEach(async ({ page }) => {
    await page.goto(`${app().url}/lessons/kubernetes-fundamentals`);
    await new LessonPage(page).expectLoaded('Kubernetes Fundamentals');
    const panel = new SandboxPanel(page);
    await panel.start.click();
    await expect(panel.status).toHaveText('Your sandbox is ready.');
  });

  test('the hello block runs every command, the ones after kubectl exec -it included', async ({ page }) => {
    test.setTimeout(180_000);
    const hello = new CodeBlock(page, 'kubectl apply -f hello-pod.yaml');
    await expect(hello.run).toHaveAccessibleName(/^Run in my terminal: kubectl apply -f hello-pod\.yaml \(and 6 more lines\)$/);
    await hello.run.click();
    const terminal = new TerminalDock(page);
    await expect(terminal.state).toHaveText('Connected');
    await expect(hello.status).toHaveText('Ran all 7 commands in your terminal.', { timeout: 150_000 });
    // The page served by the Pod on the real node, through exec -it; then the delete after it ran.
    await expect(terminal.screen).toContainText('hello from a real container');
    await expect(terminal.screen).toContainText('pod "hello" deleted');
  });

  test('a block that cannot run in the sandbox says why and offers no Run', async ({ page }) => {
    const namespaces = new CodeBlock(page, 'kubectl apply -f namespaces.yaml');
    await expect(namespaces.note).toHaveText(/^Not offered to run: names namespaces\.yaml, which is not in the learner's home/);
    await expect(namespaces.run).toHaveCount(0);
    const curl = new CodeBlock(page, 'kubectl run curl --rm -it');
    await expect(curl.note).toHaveText(/^Not offered to run: kubectl run curl waits for curlimages\/curl:8\.10\.1 to run, but the real node does not have that image offline/);
  });

  test('Apply shows the dry run first and applies as the learner; Save puts the manifest in the home for kubectl apply -f', async ({ page }) => {
    test.setTimeout(120_000);
    const manifest = new CodeBlock(page, 'revisionHistoryLimit: 5');
    await expect(manifest.apply).toHaveAccessibleName('Apply Deployment web, Service web to my sandbox');
    await manifest.apply.click();
    await expect(manifest.object('Deployment web')).toContainText('will be created');
    await expect(manifest.object('Service web')).toContainText('will be created');
    await manifest.panel.getByTestId('apply-confirm').click();
    await expect(manifest.status).toHaveText('Applied: Deployment web created, Service web created.');

    // Applied again, nothing would change: the preview says so and offers nothing to apply.
    await manifest.apply.click();
    await expect(manifest.object('Deployment web')).toContainText('is already like this (no change)');
    await expect(manifest.panel.getByTestId('apply-confirm')).toBeDisabled();

    // The learner's own rights: a Namespace is refused by the API server, in its words.
    const namespaces = new CodeBlock(page, 'name: shop-staging');
    await namespaces.apply.click();
    await expect(namespaces.object('Namespace shop')).toContainText(/would be refused: .*forbidden.*system:serviceaccount:kd-[a-z0-9-]+:kubedojo-learner/);

    await manifest.save.click();
    await expect(manifest.panel.getByTestId('save-name')).toHaveValue('deployment-web.yaml');
    await manifest.panel.getByTestId('save-confirm').click();
    await expect(manifest.panel.getByTestId('saved')).toHaveText('Saved as ~/deployment-web.yaml. Apply it with kubectl apply -f deployment-web.yaml.');
    await manifest.panel.getByTestId('save-run').click();
    const terminal = new TerminalDock(page);
    await expect(manifest.status).toHaveText('Ran the command in your terminal.', { timeout: 60_000 });
    await expect(terminal.screen).toContainText('deployment.apps/web');

    // Saving again under the same name asks before replacing.
    await manifest.save.click();
    await manifest.panel.getByTestId('save-confirm').click();
    await expect(manifest.status).toHaveText('~/deployment-web.yaml exists already: choose another name, or press “Replace it”.');
    await expect(manifest.panel.getByTestId('save-confirm')).toHaveText('Replace it');
  });

  test('a multi-line paste runs command by command, as typed', async ({ page }) => {
    await page.getByTestId('open-terminal').click();
    const terminal = new TerminalDock(page);
    await expect(terminal.state).toHaveText('Connected');
    await terminal.paste('echo "first $((20 + 1))"\necho "second $((20 + 2))"\n');
    await expect(terminal.screen).toContainText('first 21');
    await expect(terminal.screen).toContainText('second 22');
    await expect(terminal.message).toHaveText('Ran all 2 commands in your terminal.');
  });
});
