import type { Locator } from '@playwright/test';
import { expect, test } from './fixtures.ts';
import { LabPanel } from './pages/lab-panel.ts';
import { LessonPage } from './pages/lesson-page.ts';
import { joinWorkshop, type Participant } from './pages/participant.ts';
import { SocketFrames } from './pages/socket-frames.ts';
import { WorkshopRoom, WorkshopsPage } from './pages/workshop-room.ts';
import { servedForSuite } from './server.ts';

const title = 'Grid morning';

/** Tags a row's element, to tell later whether it is still the same element. */
async function tag(row: Locator, name: string): Promise<void> {
  await row.evaluate((el, value) => {
    (el as HTMLElement & { kdTag?: string }).kdTag = value;
  }, name);
}

function tagOf(row: Locator): Promise<string | undefined> {
  return row.evaluate((el) => (el as HTMLElement & { kdTag?: string }).kdTag);
}

/**
 * The room's live grid patches the row that changed and leaves the others alone (the same
 * elements, focus and scroll where they were); watching another learner closes the view before
 * (one watch connection open at a time); leaving the room closes it too.
 */
test.describe('the workshop room, live', () => {
  const app = servedForSuite(test);

  test('a check patches one row in place; watching a second learner leaves one watch socket open', async ({ browser, page }) => {
    test.setTimeout(300_000);
    const frames = await SocketFrames.watch(page);
    await page.setViewportSize({ width: 1280, height: 420 });
    await page.goto(app().setupUrl());
    await page.getByTestId('username').fill('teacher');
    await page.getByTestId('password').fill('a good long password');
    await page.getByTestId('submit').click();
    await expect(page.getByRole('heading', { level: 1, name: 'Admin' })).toBeVisible();
    await page.getByTestId('nav-workshops').click();
    await new WorkshopsPage(page).create(title, ['kubernetes-fundamentals'], 2);
    const room = new WorkshopRoom(page);
    await expect(room.code).toHaveText(/^[A-Z2-9]{4}-[A-Z2-9]{4}$/);
    const code = (await room.code.textContent()) ?? '';

    // Two participants open the lesson and their terminals (an instructor watches only an open one).
    const people: Participant[] = [];
    for (const name of ['Ana', 'Ben']) {
      const p = await joinWorkshop(browser, app().url, code, name, title);
      await p.page.getByRole('link', { name: 'Kubernetes Fundamentals' }).click();
      await new LessonPage(p.page).expectLoaded('Kubernetes Fundamentals');
      await p.page.getByTestId('open-terminal').click();
      await expect(p.terminal.state).toHaveText('Connected');
      await expect(room.row(name)).toBeVisible();
      people.push(p);
    }
    const [ana, ben] = people;
    if (!ana || !ben) throw new Error('two participants expected');

    // A check of Ana's changes her row only: both rows stay the same elements, and the
    // keyboard focus on Ben's Watch button and the page's scroll position stay where they were.
    const anaRow = room.row('Ana');
    const benRow = room.row('Ben');
    await tag(anaRow, 'ana');
    await tag(benRow, 'ben');
    await benRow.getByTestId('watch').focus();
    await page.evaluate(() => {
      window.scrollTo(0, document.documentElement.scrollHeight);
    });
    const scrolled = await page.evaluate(() => window.scrollY);
    expect(scrolled, 'the room is taller than the window').toBeGreaterThan(0);
    const lab = new LabPanel(ana.page);
    await lab.open('deploy-web');
    await lab.checkButton('deploy-web').click();
    await expect(room.cell('Ana', 'deploy-web')).toHaveAttribute('data-status', 'failed', { timeout: 90_000 });
    await expect(room.cell('Ana', 'deploy-web')).toHaveAttribute('title', /deploy-web: failed after 1 check/);
    await expect(room.cell('Ben', 'deploy-web')).toHaveAttribute('data-status', 'not-started');
    expect(await tagOf(benRow), "Ben's row is the same element").toBe('ben');
    expect(await tagOf(anaRow), "Ana's row was patched, not replaced").toBe('ana');
    await expect(benRow.getByTestId('watch')).toBeFocused();
    expect(await page.evaluate(() => window.scrollY)).toBe(scrolled);

    // Watching Ana, then Ben: one read-only view, and one watch connection open.
    await room.watch('Ana');
    await expect(room.watchState).toHaveText('Watching');
    await expect.poll(() => frames.open('/terminal')).toBe(1);
    await room.watch('Ben');
    await expect(room.watchPanels).toHaveCount(1);
    await expect(room.watchPanels).toHaveAttribute('aria-label', 'Terminal of Ben, read-only');
    await expect(room.watchState).toHaveText('Watching');
    await ben.terminal.type('echo watched-$((6*7))\n');
    // Ben's own screen first: a failure below is then the view's, not keystrokes gone astray.
    await expect(ben.terminal.screen).toContainText('watched-42');
    await expect(room.watchScreen).toContainText('watched-42');
    await expect.poll(() => frames.open('/terminal')).toBe(1);
    // Closing the view closes its connection.
    await room.closeWatch();
    await expect(room.watchPanels).toHaveCount(0);
    await expect.poll(() => frames.open('/terminal')).toBe(0);
    // So does leaving the room while watching.
    await room.watch('Ana');
    await expect(room.watchState).toHaveText('Watching');
    await expect.poll(() => frames.open('/terminal')).toBe(1);
    await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: 'Workshops' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Workshops' })).toBeVisible();
    await expect.poll(() => frames.open('/terminal')).toBe(0);
    for (const p of people) await p.context.close();
  });
});
