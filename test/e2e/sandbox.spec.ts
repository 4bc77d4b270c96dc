import { expect, test } from './fixtures.ts';
import { LessonPage } from './pages/lesson-page.ts';
import { SandboxPanel } from './pages/sandbox-panel.ts';
import { servedForSuite } from './server.ts';

test.describe('a learner starts the lab sandbox from the lesson page', () => {
  const app = servedForSuite(test);

  test('start → see namespace, group and prefix → extend → reload keeps it → delete', async ({ page }) => {
    page.on('dialog', (dialog) => void dialog.accept());
    const lesson = new LessonPage(page);
    await page.goto(`${app().url}/lessons/advanced-kubernetes-patterns`);
    await lesson.expectLoaded('Advanced Kubernetes Patterns');
    const panel = new SandboxPanel(page);
    await panel.start.click();
    await expect(panel.status).toHaveText('Your sandbox is ready.');
    const namespace = (await panel.namespace.textContent()) ?? '';
    expect(namespace).toMatch(/^kd-[a-z0-9-]+$/);
    await expect(panel.group).toHaveText(`${namespace}.labs.kubedojo.dev`);
    await expect(panel.prefix).toHaveText(`${namespace}-`);
    await expect(panel.timeLeft).toHaveText(/^(1 h 59|2 h 0) min left$/);
    await panel.extend.click();
    await expect(panel.status).toHaveText('Extended by 30 minutes.');
    await expect(panel.timeLeft).toHaveText(/^2 h (29|30) min left$/);

    await page.reload();
    await expect(panel.namespace).toHaveText(namespace);
    await panel.remove.click();
    await expect(panel.status).toHaveText('Your sandbox was deleted.');
    await expect(panel.start).toBeVisible();
  });
});
