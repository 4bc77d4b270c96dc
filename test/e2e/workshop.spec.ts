import type { Browser, BrowserContext, Page } from '@playwright/test';
import { expect, test, watchCsp } from './fixtures.ts';
import { KubeConfig, CoreV1Api } from '@kubernetes/client-node';
import { loadLibrary } from '../../server/lessons/library.ts';
import { projectRoot } from '../helpers/cli.ts';
import { LabPanel } from './pages/lab-panel.ts';
import { LessonPage } from './pages/lesson-page.ts';
import { SandboxPanel } from './pages/sandbox-panel.ts';
import { TerminalDock } from './pages/terminal-dock.ts';
import { WorkshopRoom, WorkshopsPage } from './pages/workshop-room.ts';
import { servedForSuite } from './server.ts';

const lesson = 'kubernetes-fundamentals';
const password = 'a good long password';

interface Learner {
  name: string;
  context: BrowserContext;
  page: Page;
  terminal: TerminalDock;
}

async function join(browser: Browser, url: string, code: string, name: string): Promise<Learner> {
  const context = await browser.newContext();
  await watchCsp(context);
  const page = await context.newPage();
  await page.goto(`${url}/join/${code}`);
  await page.getByTestId('join-name').fill(name);
  await page.getByTestId('join-submit').click();
  await expect(page.getByTestId('workshop-title')).toHaveText('Kubernetes morning');
  await expect(page.getByTestId('signed-in-as')).toHaveText(name);
  return { name, context, page, terminal: new TerminalDock(page) };
}

test.describe('an instructor-led workshop, in the browser', () => {
  const app = servedForSuite(test);

  test('create, three learners join and work, the grid follows, watch one learner, end', async ({ browser, page }) => {
    test.setTimeout(300_000);
    const library = await loadLibrary(`${projectRoot}/lessons`);
    const first = library.bySlug.get(lesson)?.quiz[0];
    if (!first) throw new Error('the lesson has no quiz');

    // The instructor sets the platform up from the one-time link and creates the workshop.
    await page.goto(app().setupUrl());
    await page.getByTestId('username').fill('teacher');
    await page.getByTestId('password').fill(password);
    await page.getByTestId('submit').click();
    await expect(page.getByRole('heading', { level: 1, name: 'Admin' })).toBeVisible();
    await expect(page.getByTestId('capacity-sandboxes')).toContainText('of 300');
    await page.getByTestId('nav-workshops').click();
    await new WorkshopsPage(page).create('Kubernetes morning', [lesson], 3);
    const room = new WorkshopRoom(page);
    await expect(room.code).toHaveText(/^[A-Z2-9]{4}-[A-Z2-9]{4}$/);
    const code = (await room.code.textContent()) ?? '';

    const learners: Learner[] = [];
    for (const name of ['Ana', 'Ben', 'Cy']) learners.push(await join(browser, app().url, code, name));
    for (const l of learners) await expect(room.row(l.name)).toBeVisible();

    // Each learner answers the quiz, builds deploy-web in the terminal and presses Check; the grid follows.
    for (const l of learners) {
      await l.page.getByRole('link', { name: 'Kubernetes Fundamentals' }).click();
      const lessonPage = new LessonPage(l.page);
      await lessonPage.expectLoaded('Kubernetes Fundamentals');
      await lessonPage.answer(first.id, first.answer);
      await expect(lessonPage.result(first.id)).toContainText('Correct');
      await expect(room.row(l.name).getByTestId('quiz')).toHaveText(`1/${library.bySlug.get(lesson)?.quiz.length ?? 0}`);

      // The sandbox claimed at join is already there.
      await expect(new SandboxPanel(l.page).namespace).toBeVisible();
      await l.page.getByTestId('open-terminal').click();
      await expect(l.terminal.state).toHaveText('Connected');
      await l.terminal.type('kubectl get pods\n');
      await expect(l.terminal.screen).toContainText('No resources found');
      await l.terminal.type(`kubectl create deployment web --image=nginxinc/nginx-unprivileged:1.27-alpine --replicas=3 --port=8080 && kubectl patch deployment web -p '{"spec":{"template":{"metadata":{"labels":{"tier":"frontend"}}}}}'\n`);
      await expect(l.terminal.screen).toContainText('deployment.apps/web patched');

      const lab = new LabPanel(l.page);
      await lab.open('deploy-web');
      await lab.checkButton('deploy-web').click();
      await expect(room.cell(l.name, 'deploy-web')).toHaveAttribute('data-status', /running|passed/);
      await expect(lab.badge('deploy-web')).toHaveText('Passed', { timeout: 90_000 });
      await expect(room.cell(l.name, 'deploy-web')).toHaveAttribute('data-status', 'passed');
    }

    // The instructor watches Ben type, read-only.
    const ben = learners[1];
    if (!ben) throw new Error('no Ben');
    await room.watch('Ben');
    await expect(room.watchState).toHaveText('Watching');
    await ben.terminal.type('echo hello-from-ben\n');
    await expect(room.watchScreen).toContainText('hello-from-ben');

    // The end: every sandbox namespace of the workshop goes.
    await room.end();
    await expect(room.status).toContainText('Ended. 3 sandboxes are being removed.');
    const kc = new KubeConfig();
    kc.loadFromFile(`${app().dataDir}/cluster/admin.kubeconfig`);
    const core = kc.makeApiClient(CoreV1Api);
    await expect
      .poll(async () => (await core.listNamespace({ labelSelector: 'kubedojo.dev/workshop' })).items.filter((n) => n.metadata?.labels?.['kubedojo.dev/workshop'] !== 'none').length, { timeout: 120_000 })
      .toBe(0);
    // The participants hear that it has ended, on whatever page they are.
    for (const l of learners) await expect(l.page.getByTestId('broadcast')).toContainText('The workshop has ended');
    for (const l of learners) await l.context.close();
  });
});
