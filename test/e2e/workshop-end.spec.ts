import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { expect, test, watchCsp } from './fixtures.ts';
import { LabPanel } from './pages/lab-panel.ts';
import { LessonPage } from './pages/lesson-page.ts';
import { SandboxPanel } from './pages/sandbox-panel.ts';
import { TerminalDock } from './pages/terminal-dock.ts';
import { WorkshopRoom, WorkshopsPage } from './pages/workshop-room.ts';
import { servedForSuite } from './server.ts';

/**
 * The end of a workshop, seen by its instructor and a participant at the same time: it reaches
 * both over socket.io at once; the room says "ended" and offers nothing that acts on sandboxes
 * that are gone; the participant hears it, and their panels say so (also after a reload); the
 * warm-pool sandboxes made for the empty seats are removed with the participants'.
 */
test.describe('the end of a workshop', () => {
  const app = servedForSuite(test);

  test('reaches the room and the participant at once; the panels tell the truth, also after a reload', async ({ browser, page }) => {
    test.setTimeout(300_000);
    const kc = new KubeConfig();
    kc.loadFromFile(`${app().dataDir}/cluster/admin.kubeconfig`);
    const core = kc.makeApiClient(CoreV1Api);
    const poolSandboxes = async () => (await core.listNamespace({ labelSelector: 'kubedojo.dev/learner=pool' })).items.filter((n) => n.status?.phase !== 'Terminating').length;

    await page.goto(app().setupUrl());
    await page.getByTestId('username').fill('teacher');
    await page.getByTestId('password').fill('a good long password');
    await page.getByTestId('submit').click();
    await expect(page.getByRole('heading', { level: 1, name: 'Admin' })).toBeVisible();
    await page.getByTestId('nav-workshops').click();
    await new WorkshopsPage(page).create('Afternoon lab', ['kubernetes-fundamentals'], 3);
    const room = new WorkshopRoom(page);
    await expect(room.code).toHaveText(/^[A-Z2-9]{4}-[A-Z2-9]{4}$/);
    const code = (await room.code.textContent()) ?? '';
    // The warm pool is filled for the three seats before anyone arrives.
    await expect.poll(poolSandboxes, { timeout: 60_000 }).toBe(3);

    const learner = await browser.newContext();
    await watchCsp(learner);
    const them = await learner.newPage();
    await them.goto(`${app().url}/join/${code}`);
    await them.getByTestId('join-name').fill('Dana');
    await them.getByTestId('join-submit').click();
    await expect(them.getByTestId('workshop-title')).toHaveText('Afternoon lab');
    await them.getByRole('link', { name: 'Kubernetes Fundamentals' }).click();
    await new LessonPage(them).expectLoaded('Kubernetes Fundamentals');
    const panel = new SandboxPanel(them);
    await expect(panel.namespace).toBeVisible();
    await them.getByTestId('open-terminal').click();
    const terminal = new TerminalDock(them);
    await expect(terminal.state).toHaveText('Connected');
    await expect(room.row('Dana')).toBeVisible();
    await expect(room.liveActions()).toHaveCount(3);
    // Dana took one pool sandbox; two wait for seats nobody will take.
    await expect.poll(poolSandboxes, { timeout: 30_000 }).toBe(2);

    await room.end();
    // The room: ended, and nothing offered that acts on the sandboxes that are going.
    await expect(room.status).toHaveText('Ended. 1 sandbox is being removed.');
    await expect(room.state).toHaveText('ended');
    await expect(room.warm).toHaveText('');
    await expect(room.liveActions()).toHaveCount(0);
    await expect(room.endButton).toBeHidden();
    await expect(room.broadcastInput).toBeDisabled();
    // The participant, at the same time: a notice, a sandbox panel that says it ended, no terminal, no checks.
    await expect(them.getByTestId('broadcast')).toContainText('The workshop has ended.');
    await expect(panel.root.getByTestId('sandbox-ended')).toHaveText('Ended');
    await expect(panel.root).toContainText('The workshop “Afternoon lab” has ended, and your sandbox with it.');
    await expect(terminal.root).toHaveCount(0);
    const lab = new LabPanel(them);
    await expect(lab.root.getByTestId('check-all')).toBeDisabled();
    await expect(lab.root).toContainText('The workshop “Afternoon lab” has ended, and your sandbox with it.');

    // After a reload both still tell the truth: no "Start my sandbox", no "sandboxes ready".
    await them.reload();
    await expect(panel.root.getByTestId('sandbox-ended')).toHaveText('Ended');
    await expect(panel.start).toHaveCount(0);
    await page.reload();
    await expect(room.state).toHaveText('ended');
    await expect(room.warm).toHaveText('');
    await expect(room.liveActions()).toHaveCount(0);
    // The pool sandboxes made for the empty seats are gone too.
    await expect.poll(poolSandboxes, { timeout: 60_000 }).toBe(0);
    await them.goto(`${app().url}/workshop`);
    await expect(them.getByTestId('workshop-state')).toHaveText('This workshop has ended. Thank you for taking part! The lessons stay open to read.');
    await learner.close();
  });
});
