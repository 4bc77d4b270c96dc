import { expect, test } from './fixtures.ts';
import { LessonPage } from './pages/lesson-page.ts';
import { SandboxPanel } from './pages/sandbox-panel.ts';
import { SocketFrames } from './pages/socket-frames.ts';
import { TerminalDock } from './pages/terminal-dock.ts';
import { servedForSuite } from './server.ts';

test.describe('the browser terminal', () => {
  const app = servedForSuite(test);

  test('start the lab, run kubectl get pods, reload and find the same shell with its screen', async ({ page }) => {
    const lesson = new LessonPage(page);
    await page.goto(`${app().url}/lessons/advanced-kubernetes-patterns`);
    await lesson.expectLoaded('Advanced Kubernetes Patterns');
    const panel = new SandboxPanel(page);
    await panel.start.click();
    await expect(panel.status).toHaveText('Your sandbox is ready.');
    await page.getByTestId('open-terminal').click();

    const terminal = new TerminalDock(page);
    await expect(terminal.state).toHaveText('Connected');
    await terminal.type('export KD_SHELL=same; kubectl get pods\n');
    await expect(terminal.screen).toContainText('np-frontend');
    await expect(terminal.screen).toContainText('Running');

    await page.reload();
    await lesson.expectLoaded('Advanced Kubernetes Patterns');
    // The terminal reopens by itself and shows the screen as it was.
    await expect(terminal.state).toHaveText('Connected');
    await expect(terminal.screen).toContainText('np-frontend');
    await terminal.type('echo "shell is $KD_SHELL"\n');
    await expect(terminal.screen).toContainText('shell is same');

    // Every session is recorded; the learner can replay theirs.
    await page.getByRole('link', { name: 'Recordings' }).click();
    await page.locator('.recording-list a').first().click();
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Terminal of advanced-kubernetes-patterns');
    await expect(page.getByTestId('player').locator('.ap-player')).toBeVisible();
  });

  test('"Run in my terminal" opens the terminal and runs a lesson block in it', async ({ page }) => {
    await page.goto(`${app().url}/lessons/advanced-kubernetes-patterns`);
    const panel = new SandboxPanel(page);
    await panel.start.click();
    await expect(panel.status).toHaveText('Your sandbox is ready.');
    const terminal = new TerminalDock(page);
    const block = page.locator('.code-block[data-run="true"]', { hasText: 'kubectl get nodes' }).first();
    await block.getByRole('button', { name: /^Run in my terminal: kubectl get nodes -L / }).click();
    await expect(terminal.state).toHaveText('Connected');
    await expect(terminal.screen).toContainText('worker-a1');
    // The rest of the block: the lesson's placement example, on the simulated zones.
    await expect(block.locator('.code-status')).toHaveText('Ran all 4 commands in your terminal.', { timeout: 60_000 });
    await expect(terminal.screen).toContainText('deployment.apps/web created');
  });

  test('after the shell ends, a reconnect and a restart each type every key into the shell once', async ({ page }) => {
    test.setTimeout(180_000);
    const frames = await SocketFrames.watch(page);
    /** What the page typed into the shell since `from` (the count of input events before). */
    const typedSince = (from: number) =>
      frames
        .sent('/terminal', 'input')
        .slice(from)
        .map(([data]) => String(data))
        .join('');
    const inputs = () => frames.sent('/terminal', 'input').length;
    const attaches = () => frames.sent('/terminal', 'attach').length;

    await page.goto(`${app().url}/lessons/advanced-kubernetes-patterns`);
    const panel = new SandboxPanel(page);
    await panel.start.click();
    await expect(panel.status).toHaveText('Your sandbox is ready.');
    await page.getByTestId('open-terminal').click();
    const terminal = new TerminalDock(page);
    await expect(terminal.state).toHaveText('Connected');
    expect(attaches()).toBe(1);

    // The shell ends; then the connection drops and comes back, which attaches a new shell.
    await terminal.type('exit\n');
    await expect(terminal.state).toHaveText('Ended');
    await expect(terminal.screen).toContainText('Press Enter to start a new shell.');
    frames.drop();
    await expect(terminal.state).toHaveText('Connected');
    expect(attaches()).toBe(2);
    let before = inputs();
    await terminal.type('echo once-$((40+2))\n');
    await expect(terminal.screen).toContainText('once-42');
    // Each key reached the shell once, and Enter did not also restart the shell.
    expect(typedSince(before)).toBe('echo once-$((40+2))\r');
    expect(attaches()).toBe(2);

    // The shell ends again; Enter starts a new one, once.
    await terminal.type('exit\n');
    await expect(terminal.state).toHaveText('Ended');
    await terminal.type('\n');
    await expect(terminal.state).toHaveText('Connected');
    expect(attaches()).toBe(3);
    before = inputs();
    await terminal.type('echo twice-$((40+3))\n');
    await expect(terminal.screen).toContainText('twice-43');
    expect(typedSince(before)).toBe('echo twice-$((40+3))\r');
    expect(attaches()).toBe(3);
  });
});
