import { loadLibrary } from '../../server/lessons/library.ts';
import { projectRoot } from '../helpers/cli.ts';
import { deployedForSuite } from './deployed.ts';
import { expect, test } from './fixtures.ts';
import { LabPanel } from './pages/lab-panel.ts';
import { LessonPage } from './pages/lesson-page.ts';
import { joinWorkshop, type Participant } from './pages/participant.ts';
import { SandboxPanel } from './pages/sandbox-panel.ts';
import { SignInPage, type Account } from './pages/sign-in.ts';
import { SocketFrames } from './pages/socket-frames.ts';
import { TerminalDock } from './pages/terminal-dock.ts';
import { WorkshopRoom, WorkshopsPage } from './pages/workshop-room.ts';

const slug = 'kubernetes-fundamentals';
const title = 'Kubernetes Fundamentals';
const workshop = 'Cluster day';

/**
 * kubedojo as it runs for a course that outgrew a laptop: its own image, installed by the chart
 * with two replicas on one PostgreSQL, on the embedded cluster's real node, reached through its
 * Service's NodePort (kube-proxy spreads connections over the replicas). A learner signs up and
 * takes a lesson in Chromium (quiz, sandbox, a command in the terminal, Check) while an
 * instructor's live grid follows a workshop participant. Then the replica serving the learner's
 * terminal is deleted: the page reattaches to the same shell through the other replica, and
 * nothing the learner did is lost. Then the replica serving the participant's terminal, which
 * the instructor watches, is deleted: the instructor's view follows the shell to its new replica.
 */
test.describe('kubedojo on a cluster: two replicas, one PostgreSQL, one Service', () => {
  const deployed = deployedForSuite(test, (database, url) => ({
    replicaCount: 2,
    database: { url: database },
    publicUrl: url,
    // emptyDirs: the embedded cluster's volumes are simulated and stay off the real node.
    persistence: { enabled: false },
    resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '1Gi' } },
  }));

  /** The replicas whose log says they started (or reattached) the terminal of `namespace`. */
  async function terminalHolders(namespace: string): Promise<string[]> {
    const holders: string[] = [];
    for (const pod of await deployed().pods()) {
      const lines = await deployed()
        .logs(pod)
        .catch(() => []);
      if (lines.some((l) => l.msg === 'terminal started' && l.namespace === namespace)) holders.push(pod);
    }
    return holders;
  }

  test('a learner and an instructor in Chromium; the replica serving the terminal is deleted and the shell carries on', async ({ browser, page }) => {
    test.setTimeout(15 * 60_000);
    const { url, kubectl, namespace: home } = deployed();
    const quiz = (await loadLibrary(`${projectRoot}/lessons`)).bySlug.get(slug)?.quiz ?? [];
    const question = quiz[0];
    if (!question) throw new Error(`${slug} has no quiz`);

    // The instructor's account, made as the README says: kubedojo's CLI in a replica.
    const teacher: Account = { username: 'teacher', password: 'a good long password', displayName: 'teacher' };
    const made = await kubectl(['-n', home, 'exec', '-i', 'deploy/kubedojo', '--', 'kubedojo', 'admin', 'create', '--username', teacher.username, '--role', 'instructor', '--password-stdin'], { stdin: `${teacher.password}\n` });
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toContain('Created the instructor account "teacher"');

    const instructor = await browser.newContext();
    const room = new WorkshopRoom(await instructor.newPage());
    // The instructor's socket.io frames, to count the view's `watch` requests.
    const roomFrames = await SocketFrames.watch(room.page);
    await test.step('the instructor opens a workshop room', async () => {
      const signIn = new SignInPage(room.page);
      await signIn.open(url, '/workshops');
      await signIn.signIn(teacher);
      await room.page.goto(`${url}/workshops`);
      await new WorkshopsPage(room.page).create(workshop, [slug], 2);
      await expect(room.code).toHaveText(/^[A-Z2-9]{4}-[A-Z2-9]{4}$/);
    });

    // The learner's page, with its socket.io frames in view (to count terminal attaches).
    const frames = await SocketFrames.watch(page);
    const lesson = new LessonPage(page);
    const sandbox = new SandboxPanel(page);
    const terminal = new TerminalDock(page);
    const lab = new LabPanel(page);
    let namespace = '';
    let participant: Participant | undefined;
    let anaNamespace = '';
    await test.step('a learner signs up, answers the quiz, gets a sandbox, works in the terminal and passes a Check', async () => {
      const signIn = new SignInPage(page);
      await signIn.open(url, `/lessons/${slug}`);
      await signIn.signUp({ username: 'lena', password: 'correct horse battery staple', displayName: 'Lena' });
      await lesson.expectLoaded(title);
      await lesson.answer(question.id, question.answer);
      await expect(lesson.result(question.id)).toContainText(`Correct — ${question.answer}.`);
      await sandbox.start.click();
      await expect(sandbox.status).toHaveText('Your sandbox is ready.', { timeout: 120_000 });
      namespace = (await sandbox.namespace.textContent()) ?? '';
      await page.getByTestId('open-terminal').click();
      await expect(terminal.state).toHaveText('Connected', { timeout: 120_000 });
      await terminal.type('export KD_SHELL=kept-$((6*7)); echo "first $KD_SHELL"\n');
      await expect(terminal.screen).toContainText('first kept-42');
      await terminal.type(`kubectl create deployment web --image=nginxinc/nginx-unprivileged:1.27-alpine --replicas=3 --port=8080 && kubectl patch deployment web -p '{"spec":{"template":{"metadata":{"labels":{"tier":"frontend"}}}}}'\n`);
      await expect(terminal.screen).toContainText('deployment.apps/web patched');
      await lab.open('deploy-web');
      await lab.checkButton('deploy-web').click();
      await expect(lab.badge('deploy-web')).toHaveText('Passed', { timeout: 120_000 });
    });

    await test.step("a participant joins; the instructor's grid follows their Check and watches their terminal live", async () => {
      const ana = await joinWorkshop(browser, url, (await room.code.textContent()) ?? '', 'Ana', workshop);
      await ana.page.getByRole('link', { name: title }).click();
      await new LessonPage(ana.page).expectLoaded(title);
      await expect(room.row('Ana')).toBeVisible();
      const anaLab = new LabPanel(ana.page);
      await anaLab.open('deploy-web');
      await anaLab.checkButton('deploy-web').click();
      // Nothing built: failed, and the grid shows it without a reload, whichever replica graded it.
      await expect(room.cell('Ana', 'deploy-web')).toHaveAttribute('data-status', 'failed', { timeout: 120_000 });
      await expect(room.cell('Ana', 'deploy-web')).toHaveAttribute('title', /deploy-web: failed after 1 check/);
      // Ana opens her terminal; the instructor watches it, read-only, wherever each is served.
      await ana.page.getByTestId('open-terminal').click();
      await expect(ana.terminal.state).toHaveText('Connected', { timeout: 120_000 });
      await room.watch('Ana');
      await expect(room.watchState).toHaveText('Watching');
      await ana.terminal.type('echo watched-$((6*7))\n');
      await expect(room.watchScreen).toContainText('watched-42');
      participant = ana;
      anaNamespace = (await new SandboxPanel(ana.page).namespace.textContent()) ?? '';
    });

    await test.step("the replica serving the learner's terminal is deleted; the page reattaches to the same shell", async () => {
      expect(await deployed().pods(), 'two replicas serve').toHaveLength(2);
      const [holder, ...others] = await terminalHolders(namespace);
      expect(holder, `one replica logged the terminal of ${namespace}`).toBeDefined();
      expect(others).toEqual([]);
      const attaches = frames.sent('/terminal', 'attach').length;
      const since = Date.now();
      const deleted = await kubectl(['-n', home, 'delete', 'pod', holder ?? '', '--wait=false']);
      expect(deleted.code, deleted.stderr).toBe(0);
      // The page notices, reconnects through the Service and attaches again.
      await expect.poll(() => frames.sent('/terminal', 'attach').length, { timeout: 120_000 }).toBeGreaterThan(attaches);
      await expect(terminal.state).toHaveText('Connected', { timeout: 120_000 });
      // The same shell: its variable, and its history (upper-cased, so only `history` can print it).
      await terminal.type(`echo "again $KD_SHELL"; history | grep -F 'KD_SHELL=kept' | head -1 | tr a-z A-Z\n`);
      await expect(terminal.screen).toContainText('again kept-42');
      await expect(terminal.screen).toContainText('EXPORT KD_SHELL=KEPT-$((6*7))');
      // How long the learner waited: from the delete to the shell's answer, for the README.
      process.stderr.write(`deploy-replicas: the shell answered through another replica ${((Date.now() - since) / 1000).toFixed(1)} s after its replica was deleted\n`);
      // … through a replica that is not the deleted one.
      const now = await terminalHolders(namespace);
      expect(now.length, 'another replica holds the terminal').toBeGreaterThan(0);
      expect(now).not.toContain(holder);
    });

    await test.step("the replica serving the watched participant's terminal is deleted; the instructor's view follows the shell", async () => {
      const ana = participant;
      if (!ana) throw new Error('no participant');
      // Both replicas serve again before the next one goes.
      const ready = await kubectl(['-n', home, 'rollout', 'status', 'deploy/kubedojo', '--timeout=180s'], { timeoutMs: 200_000 });
      expect(ready.code, ready.stderr).toBe(0);
      await expect(ana.terminal.state).toHaveText('Connected', { timeout: 120_000 });
      await expect(room.watchState).toHaveText('Watching', { timeout: 120_000 });
      const alive = new Set(await deployed().pods());
      const holders = (await terminalHolders(anaNamespace)).filter((p) => alive.has(p));
      expect(holders, `one live replica holds the terminal of ${anaNamespace}`).toHaveLength(1);
      const watches = roomFrames.sent('/terminal', 'watch').length;
      const since = Date.now();
      const deleted = await kubectl(['-n', home, 'delete', 'pod', holders[0] ?? '', '--wait=false']);
      expect(deleted.code, deleted.stderr).toBe(0);
      // The view asks again by itself, and watches the same shell through the replica that took it.
      await expect.poll(() => roomFrames.sent('/terminal', 'watch').length, { timeout: 90_000 }).toBeGreaterThan(watches);
      await expect(ana.terminal.state).toHaveText('Connected', { timeout: 120_000 });
      await expect(room.watchState).toHaveText('Watching', { timeout: 90_000 });
      await ana.terminal.type('echo followed-$((6*7))\n');
      await expect(room.watchScreen).toContainText('followed-42');
      process.stderr.write(`deploy-replicas: the instructor's view followed the shell ${((Date.now() - since) / 1000).toFixed(1)} s after its replica was deleted\n`);
      await room.closeWatch();
      await ana.context.close();
    });

    await test.step('nothing the learner did is lost', async () => {
      await page.reload();
      await lesson.expectLoaded(title);
      await expect(lesson.progress).toHaveText(`In progress · quiz 1/${quiz.length}`);
      await expect(lab.badge('deploy-web')).toHaveText('Passed');
      await expect(sandbox.namespace).toHaveText(namespace);
      await expect(terminal.state).toHaveText('Connected');
      await terminal.type('echo "after reload $KD_SHELL"\n');
      await expect(terminal.screen).toContainText('after reload kept-42');
      // The instructor's room still has the participant's result.
      await room.page.reload();
      await expect(room.cell('Ana', 'deploy-web')).toHaveAttribute('data-status', 'failed');
    });
    await instructor.close();
  });

  test('backs the shared database up from a replica (kubectl exec … -- kubedojo db backup -): a pg_dump archive', async () => {
    const { kubectl, namespace } = deployed();
    const out = await kubectl(['-n', namespace, 'exec', 'deploy/kubedojo', '--', 'kubedojo', 'db', 'backup', '-'], { timeoutMs: 120_000 });
    expect(out.code, out.stderr).toBe(0);
    // pg_dump's custom format begins with its magic.
    expect(out.stdout.slice(0, 5)).toBe('PGDMP');
  });
});
