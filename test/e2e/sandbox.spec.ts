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
    // The advanced lab keeps its Pods on the simulated nodes (zones, GPUs, simulated load).
    await expect(panel.nodes).toHaveText(/^This lab runs on the simulated nodes/);
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

  test('says which node runs containers: the real one, for a lab whose Pods may run there', async ({ page }) => {
    const lesson = new LessonPage(page);
    await page.goto(`${app().url}/lessons/kubernetes-fundamentals`);
    await lesson.expectLoaded('Kubernetes Fundamentals');
    const panel = new SandboxPanel(page);
    await panel.start.click();
    await expect(panel.status).toHaveText('Your sandbox is ready.');
    // The browser tests run as root, as CI does: the embedded cluster has its real node.
    await expect(panel.nodes).toHaveText('Containers run for real on real-node when it can run them; the other nodes are simulated (kubectl get nodes shows the role).');
  });
});
