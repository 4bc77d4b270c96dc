import type { Locator, Page } from '@playwright/test';
import { PNG } from 'pngjs';
import { expect, test } from './fixtures.ts';
import { SandboxPanel } from './pages/sandbox-panel.ts';
import { TerminalDock } from './pages/terminal-dock.ts';
import { servedForSuite } from './server.ts';

/**
 * Underscores in the terminal: with the fallback font the DOM renderer's rows clipped them, so
 * `database_operator.py` read "database operator.py". The test prints the name and the same
 * name with a space, screenshots the one cell where they differ at each zoom level, and
 * compares: the underscore's cell must hold a bar of ink across it, the space's none (a clipped
 * underscore leaves nothing, or a sliver).
 */

/** The on-screen box of the character at `index` of a terminal row. */
async function cellBox(row: Locator, index: number): Promise<{ x: number; y: number; width: number; height: number }> {
  return row.evaluate((el, at) => {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    let offset = 0;
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const length = node.textContent?.length ?? 0;
      if (at < offset + length) {
        const range = document.createRange();
        range.setStart(node, at - offset);
        range.setEnd(node, at - offset + 1);
        const char = range.getBoundingClientRect();
        const line = el.getBoundingClientRect();
        return { x: char.x, y: line.y, width: char.width, height: line.height };
      }
      offset += length;
    }
    throw new Error(`the row has no character ${at}`);
  }, index);
}

/**
 * Pixels of a screenshot that differ clearly from its top-left pixel (the terminal's background),
 * and the widest horizontal run of them in one pixel row: an underscore is a bar across its cell.
 */
function ink(png: Buffer): { count: number; widestRow: number; width: number } {
  const image = PNG.sync.read(png);
  const at = (x: number, y: number) => {
    const i = (image.width * y + x) * 4;
    return [image.data[i] ?? 0, image.data[i + 1] ?? 0, image.data[i + 2] ?? 0];
  };
  const [br, bg, bb] = at(0, 0);
  let count = 0;
  let widestRow = 0;
  for (let y = 0; y < image.height; y += 1) {
    let inRow = 0;
    for (let x = 0; x < image.width; x += 1) {
      const [r, g, b] = at(x, y);
      if (Math.abs((r ?? 0) - (br ?? 0)) + Math.abs((g ?? 0) - (bg ?? 0)) + Math.abs((b ?? 0) - (bb ?? 0)) > 120) inRow += 1;
    }
    count += inRow;
    widestRow = Math.max(widestRow, inRow);
  }
  return { count, widestRow, width: image.width };
}

async function zoom(page: Page, factor: number): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  const size = page.viewportSize() ?? { width: 1440, height: 900 };
  await cdp.send('Emulation.setDeviceMetricsOverride', { width: size.width, height: size.height, deviceScaleFactor: factor, mobile: false });
}

test.describe('terminal glyphs', () => {
  const app = servedForSuite(test);

  test('an underscore is drawn, inside its row, at every zoom level (screenshots compared cell by cell)', async ({ page }, info) => {
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.goto(`${app().url}/lessons/kubernetes-fundamentals`);
    const panel = new SandboxPanel(page);
    await panel.start.click();
    await expect(panel.status).toHaveText('Your sandbox is ready.');
    await page.getByTestId('open-terminal').click();
    const terminal = new TerminalDock(page);
    await expect(terminal.state).toHaveText('Connected');
    await terminal.type("clear; printf '%s\\n%s\\n' database_operator.py 'database operator.py'\n");
    const underscoreRow = terminal.rows.filter({ hasText: /^database_operator\.py\s*$/ });
    const spaceRow = terminal.rows.filter({ hasText: /^database operator\.py\s*$/ });
    await expect(underscoreRow).toHaveCount(1);
    await expect(spaceRow).toHaveCount(1);

    for (const factor of [1, 1.25, 1.5, 2, 3]) {
      await zoom(page, factor);
      // xterm measures its cells again for the new pixel ratio on the next frame.
      await page.waitForTimeout(300);
      const under = await page.screenshot({ clip: await cellBox(underscoreRow, 8) });
      const space = await page.screenshot({ clip: await cellBox(spaceRow, 8) });
      await info.attach(`underscore cell at ${factor}x`, { body: under, contentType: 'image/png' });
      await info.attach(`space cell at ${factor}x`, { body: space, contentType: 'image/png' });
      const drawn = ink(under);
      expect(drawn.count, `the underscore's cell holds ink at ${factor}x`).toBeGreaterThan(0);
      expect(drawn.widestRow, `the underscore is a bar across its cell, inside its row, at ${factor}x`).toBeGreaterThanOrEqual(drawn.width * 0.5);
      expect(ink(space).count, `the space's cell is empty at ${factor}x`).toBe(0);
    }
  });
});
