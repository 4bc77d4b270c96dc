import fs from 'node:fs/promises';
import path from 'node:path';
import { projectRoot } from '../helpers/cli.ts';
import { expect, test } from './fixtures.ts';
import { LabPanel } from './pages/lab-panel.ts';
import { SandboxPanel } from './pages/sandbox-panel.ts';
import { TerminalDock } from './pages/terminal-dock.ts';
import { servedForSuite } from './server.ts';

/**
 * The operators exercise as a learner meets it: the CRD they paste into the terminal passes with
 * a sentence that reads right ("accepts all 3 valid samples", not "0 invalid ones rejected"),
 * and the starter operator from their home, run before its TODOs are done, fails in seconds
 * rather than at the check's 60–90 s timeout.
 */
const lab = path.join(projectRoot, 'lessons/03_advanced/labs/advanced-kubernetes-patterns');

test.describe('graders on the lesson page', () => {
  const app = servedForSuite(test);

  test('the CRD check passes in plain words; the unfinished starter operator fails within half a minute', async ({ page }) => {
    test.setTimeout(300_000);
    await page.goto(`${app().url}/lessons/advanced-kubernetes-patterns`);
    const panel = new SandboxPanel(page);
    await panel.start.click();
    await expect(panel.status).toHaveText('Your sandbox is ready.');
    const group = (await panel.group.textContent()) ?? '';
    expect(group).toMatch(/\.labs\.kubedojo\.dev$/);

    // The reference CRD, pasted as a heredoc: the paste runs as one command.
    const crd = (await fs.readFile(path.join(lab, 'database-crd/solution/crd.yaml'), 'utf8')).replaceAll('${group}', group);
    await page.getByTestId('open-terminal').click();
    const terminal = new TerminalDock(page);
    await expect(terminal.state).toHaveText('Connected');
    await terminal.paste(`kubectl apply -f - <<'EOF'\n${crd}EOF\n`);
    await expect(terminal.message).toHaveText('Ran the command in your terminal.', { timeout: 60_000 });
    await expect(terminal.screen).toContainText(`databases.${group} created`);

    const exercises = new LabPanel(page);
    await exercises.open('database-crd');
    await exercises.checkButton('database-crd').click();
    await expect(exercises.result('database-crd', 'database-crd').getByTestId('check-message')).toHaveText(
      `CRD databases.${group} is established, and the API server accepts all 3 valid samples`,
      { timeout: 60_000 },
    );
    await expect(exercises.result('database-crd', 'database-validation').getByTestId('check-message')).toHaveText(
      `CRD databases.${group} is established, and the API server rejects all 8 invalid ones`,
      { timeout: 60_000 },
    );
    await expect(exercises.badge('database-crd')).toHaveText('Passed');

    // The starter operator makes the children but, TODO 1 undone, no ownerReferences.
    await terminal.type('. ~/operator/env.sh && python3 ~/operator/database_operator.py\n');
    await expect(terminal.screen).toContainText(`watching databases.${group} in namespace`, { timeout: 30_000 });
    await exercises.open('database-operator');
    const pressed = Date.now();
    await exercises.checkButton('database-operator').click();
    const owns = exercises.result('database-operator', 'operator-owns-children');
    await expect(owns).toHaveClass(/failed/, { timeout: 60_000 });
    await expect(exercises.result('database-operator', 'operator-reports-status')).toHaveClass(/failed/, { timeout: 60_000 });
    const seconds = (Date.now() - pressed) / 1000;
    console.log(`graders: the starter operator failed both checks ${seconds.toFixed(1)} s after Check`);
    // Its children were made: the check waited for them, then stopped once nothing changed.
    await expect(terminal.screen).toContainText('creating StatefulSet probe-owned-db');
    await expect(owns.getByTestId('check-message')).toContainText('ownerReference');
    expect(seconds).toBeLessThan(30);
  });
});
