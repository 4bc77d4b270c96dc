import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { MockPlatform, ROLE } from '../helpers/lti/mock-platform.ts';
import { LabPanel } from './pages/lab-panel.ts';
import { LessonPage } from './pages/lesson-page.ts';
import { DeepLinkPicker, LtiAdminCard, MockLmsCourse, MockLmsTools } from './pages/mock-lms.ts';
import { SandboxPanel } from './pages/sandbox-panel.ts';
import { TerminalDock } from './pages/terminal-dock.ts';
import { WorkshopRoom } from './pages/workshop-room.ts';
import { servedForSuite } from './server.ts';

/**
 * kubedojo inside an LMS, in Chromium, against a mock LMS that speaks the real protocols. The LMS
 * is served from `localhost` and kubedojo from `127.0.0.1`: two sites, so kubedojo runs as a
 * third-party iframe, where the browser withholds its cookies.
 */

test.describe.configure({ mode: 'serial' });

test.describe('kubedojo as an LTI 1.3 tool', () => {
  const app = servedForSuite(test, ['--lti-allow-http']);
  let mock: MockPlatform;
  let linkId = '';
  const contexts: BrowserContext[] = [];

  test.beforeAll(async () => {
    mock = await MockPlatform.start();
    mock.addCourse('k8s', 'Kubernetes course');
    mock.addUser('prof', 'Prof Ada', { k8s: [ROLE.instructor] });
    mock.addUser('ana', 'Ana Lopez', { k8s: [ROLE.learner] });
    mock.addUser('ben', 'Ben Okafor', { k8s: [ROLE.learner] });
  });

  test.afterEach(async () => {
    for (const context of contexts.splice(0)) await context.close();
  });

  test.afterAll(async () => {
    await mock.close();
  });

  async function newPage(browser: Browser): Promise<Page> {
    const context = await browser.newContext();
    contexts.push(context);
    return context.newPage();
  }

  async function asUser(browser: Browser, user: string): Promise<{ page: Page; lms: MockLmsCourse }> {
    const page = await newPage(browser);
    const lms = new MockLmsCourse(page);
    await lms.open(mock.url, 'k8s', user);
    return { page, lms };
  }

  test('the LMS installs kubedojo from one registration link (dynamic registration)', async ({ page }) => {
    await page.goto(app().setupUrl());
    await page.getByTestId('username').fill('admin');
    await page.getByTestId('password').fill('a good long password');
    await page.getByTestId('submit').click();
    const card = new LtiAdminCard(page);
    await card.newLink.click();
    const registrationUrl = (await card.registrationUrl.textContent()) ?? '';
    expect(registrationUrl).toMatch(/\/lti\/register\/[A-Za-z0-9_-]{32}$/);

    const browser = page.context().browser();
    if (!browser) throw new Error('no browser');
    const lmsAdmin = await newPage(browser);
    await lmsAdmin.goto(`${mock.url}/admin/tools`);
    const tools = new MockLmsTools(lmsAdmin);
    await tools.toolUrl.fill(registrationUrl);
    await tools.register.click();
    await expect(tools.frame.getByTestId('lti-registered')).toContainText('kubedojo is registered with mock');
    // kubedojo's page told the LMS to close its frame, and the LMS now knows the tool.
    await expect(tools.status).toHaveText(/^Registered client-[0-9a-f]+ \(deployment deployment-1\)$/);

    await page.reload();
    await expect(card.platforms.getByTestId('lti-platform')).toContainText(`issuer ${mock.url}`);
    await expect(card.platforms.getByTestId('lti-platform')).toContainText('deployments deployment-1');
  });

  test('an instructor deep links an exercise: the LMS gets a link with a line item of its checks', async ({ browser }) => {
    const { lms } = await asUser(browser, 'prof');
    await lms.addActivity.click();
    const picker = new DeepLinkPicker(lms.frame);
    await picker.item('kubernetes-fundamentals', 'deploy-web').check();
    await picker.submit.click();
    await expect(lms.frame.getByTestId('added')).toContainText('Kubernetes Fundamentals: Run three web replicas with a Deployment');
    const link = [...mock.links.values()].find((l) => l.course === 'k8s');
    expect(link?.custom).toEqual({ kubedojo_lesson: 'kubernetes-fundamentals', kubedojo_exercise: 'deploy-web' });
    expect(mock.lineItems.get(link?.lineItem ?? '')).toMatchObject({ scoreMaximum: 2, tag: 'kubedojo' });
    linkId = link?.id ?? '';
  });

  test("an instructor's launch lands in the course's room, with the members who have not started", async ({ browser }) => {
    const { lms } = await asUser(browser, 'prof');
    await lms.activity(linkId).click();
    await expect(lms.frame.getByRole('heading', { level: 1 })).toHaveText('Kubernetes course');
    await expect(lms.frame.getByTestId('roster-not-started')).toHaveText(/Ana Lopez\s*Ben Okafor/);
    await expect(lms.frame.getByTestId('ws-participants')).toHaveText('0 in the course');
  });

  test('a launch in a new window works too, and a reload keeps its session', async ({ browser }) => {
    const page = await newPage(browser);
    // What an LMS does for an activity set to open in a new window: a top-level launch.
    await page.goto(`${mock.url}/launch/${linkId}?user=ben`);
    const lesson = new LessonPage(page);
    await lesson.expectLoaded('Kubernetes Fundamentals');
    await expect(page).toHaveURL(/\/lessons\/kubernetes-fundamentals#exercise-deploy-web$/);
    await expect(page.getByTestId('signed-in-as')).toHaveText('Ben Okafor');
    await page.reload();
    await lesson.expectLoaded('Kubernetes Fundamentals');
    await expect(page.getByTestId('signed-in-as')).toHaveText('Ben Okafor');
  });

  test('a learner launches in the iframe, passes a Check, and the score arrives at the line item', async ({ browser }) => {
    test.setTimeout(240_000);
    const { page, lms } = await asUser(browser, 'ana');
    await lms.activity(linkId).click();
    const lesson = new LessonPage(lms.frame);
    await lesson.expectLoaded('Kubernetes Fundamentals');
    await expect(page.getByTestId('tool-frame')).toBeVisible();
    const frame = page.frames().find((f) => f.url().startsWith(app().url));
    // Cookieless: this browser keeps no cookies (nor storage) for a third-party frame, and the page works on its token.
    expect(await frame?.evaluate(() => document.cookie)).toBe('');
    expect(await frame?.evaluate(() => {
      try {
        return sessionStorage.length >= 0 ? 'storage allowed' : '';
      } catch {
        return 'storage refused';
      }
    })).toBe('storage refused');
    expect(frame?.url()).toMatch(/\/lessons\/kubernetes-fundamentals#exercise-deploy-web$/);
    await expect(lms.frame.getByTestId('signed-in-as')).toHaveText('Ana Lopez');

    const sandbox = new SandboxPanel(lms.frame);
    await sandbox.start.click();
    await expect(sandbox.status).toHaveText('Your sandbox is ready.', { timeout: 60_000 });
    await lms.frame.getByTestId('open-terminal').click();
    const terminal = new TerminalDock(page, lms.frame);
    await expect(terminal.state).toHaveText('Connected');
    await terminal.type(`kubectl create deployment web --image=nginxinc/nginx-unprivileged:1.27-alpine --replicas=3 --port=8080 && kubectl patch deployment web -p '{"spec":{"template":{"metadata":{"labels":{"tier":"frontend"}}}}}'\n`);
    await expect(terminal.screen).toContainText('deployment.apps/web patched');
    const lab = new LabPanel(lms.frame);
    await lab.open('deploy-web');
    await lab.checkButton('deploy-web').click();
    await expect(lab.badge('deploy-web')).toHaveText('Passed', { timeout: 90_000 });

    const lineItem = mock.links.get(linkId)?.lineItem ?? '';
    await expect.poll(() => mock.scoresOf(lineItem, 'ana').at(-1), { timeout: 30_000 }).toMatchObject({ scoreGiven: 2, scoreMaximum: 2, activityProgress: 'Completed', gradingProgress: 'FullyGraded' });
    expect(mock.received.rejectedScores).toEqual([]);

    // The instructor's room shows her pass, and the roster no longer lists her as not started.
    const teacher = await asUser(browser, 'prof');
    await teacher.lms.activity(linkId).click();
    const room = new WorkshopRoom(teacher.page, teacher.lms.frame);
    await expect(room.cell('Ana Lopez', 'deploy-web')).toHaveAttribute('data-status', 'passed');
    await expect(teacher.lms.frame.getByTestId('roster-all-started')).toHaveText('Everyone has started.');
  });
});
