import { expect, test } from './fixtures.ts';
import { LabPanel } from './pages/lab-panel.ts';
import { LessonPage } from './pages/lesson-page.ts';
import { SandboxPanel } from './pages/sandbox-panel.ts';
import { TerminalDock } from './pages/terminal-dock.ts';
import { servedForSuite } from './server.ts';

test.describe('Check on the lesson page', () => {
  const app = servedForSuite(test);

  test('build an exercise in the terminal, press Check, read what is wrong, fix it, pass', async ({ page }) => {
    test.setTimeout(180_000);
    const lesson = new LessonPage(page);
    await page.goto(`${app().url}/lessons/kubernetes-fundamentals`);
    await lesson.expectLoaded('Kubernetes Fundamentals');
    const lab = new LabPanel(page);
    await expect(lab.progress).toHaveText('0 of 4 exercises passed');
    // No sandbox yet: nothing to check.
    await lab.open('deploy-web');
    await expect(lab.checkButton('deploy-web')).toBeDisabled();

    const sandbox = new SandboxPanel(page);
    await sandbox.start.click();
    await expect(sandbox.status).toHaveText('Your sandbox is ready.');
    const namespace = (await sandbox.namespace.textContent()) ?? '';
    // The instructions now carry the learner's own namespace.
    await expect(lab.exercise('deploy-web')).toContainText(namespace);
    await expect(lab.checkButton('deploy-web')).toBeEnabled();

    // A Deployment without the tier label the exercise asks for.
    await page.getByTestId('open-terminal').click();
    const terminal = new TerminalDock(page);
    await expect(terminal.state).toHaveText('Connected');
    await terminal.type('kubectl create deployment web --image=nginxinc/nginx-unprivileged:1.27-alpine --replicas=3 --port=8080\n');
    await expect(terminal.screen).toContainText('deployment.apps/web created');

    await lab.checkButton('deploy-web').click();
    await expect(lab.result('deploy-web', 'web-deployment')).toHaveClass(/passed/, { timeout: 60_000 });
    await expect(lab.result('deploy-web', 'web-pods')).toHaveClass(/failed/, { timeout: 60_000 });
    await expect(lab.result('deploy-web', 'web-pods').getByTestId('check-message')).toContainText('app=web,tier=frontend');
    await expect(lab.result('deploy-web', 'web-pods')).toContainText('Expected');
    await expect(lab.badge('deploy-web')).toHaveText('Not yet');

    // Fix it: the Pods get the label, press Check again.
    await terminal.type(`kubectl patch deployment web -p '{"spec":{"template":{"metadata":{"labels":{"tier":"frontend"}}}}}'\n`);
    await expect(terminal.screen).toContainText('deployment.apps/web patched');
    await lab.checkButton('deploy-web').click();
    await expect(lab.result('deploy-web', 'web-pods')).toHaveClass(/passed/, { timeout: 90_000 });
    await expect(lab.badge('deploy-web')).toHaveText('Passed');
    await expect(lab.progress).toHaveText('1 of 4 exercises passed');

    // The result is kept: a reload shows the exercise passed.
    await page.reload();
    await lesson.expectLoaded('Kubernetes Fundamentals');
    await expect(lab.badge('deploy-web')).toHaveText('Passed');
  });
});
