import type { Locator, Page } from '@playwright/test';
import { expect, test } from './fixtures.ts';
import { WorkshopRoom, WorkshopsPage } from './pages/workshop-room.ts';
import { servedForSuite } from './server.ts';

/**
 * Forms as a person fills them in: sign-in shows only its own fields, errors come in plain
 * words (never a raw `body.password`) and once, the workshop form's dates fit beside their
 * neighbours at a desktop and a phone width, and the lessons of a workshop can be put in order.
 */

/** How often `text` appears in the page's visible text. */
async function occurrences(page: Page, text: string): Promise<number> {
  const all = await page.locator('main').innerText();
  return all.split(text).length - 1;
}

/** The boxes of the inputs of a row, checked: none overlaps the next, none sticks out of its field. */
async function fitsSideBySide(row: Locator): Promise<void> {
  const boxes = await row.locator(':scope > .field').evaluateAll((fields) =>
    fields.map((f) => {
      const field = f.getBoundingClientRect();
      const input = f.querySelector('input, select')?.getBoundingClientRect();
      return { field: { left: field.left, right: field.right, top: field.top, bottom: field.bottom }, input: input ? { left: input.left, right: input.right } : null };
    }),
  );
  expect(boxes.length).toBe(4);
  for (const [i, box] of boxes.entries()) {
    expect(box.input, `field ${i} has an input`).not.toBeNull();
    expect(box.input?.right ?? 0, `input ${i} stays inside its field`).toBeLessThanOrEqual(box.field.right + 0.5);
    const next = boxes[i + 1];
    // On one line, the next field starts after this one's input ends.
    if (next && Math.abs(next.field.top - box.field.top) < 2) expect(box.input?.right ?? 0, `input ${i} ends before field ${i + 1} begins`).toBeLessThanOrEqual(next.field.left);
  }
  const overflow = await row.evaluate((el) => el.scrollWidth - el.clientWidth);
  expect(overflow, 'the row does not overflow').toBeLessThanOrEqual(0);
}

test.describe('forms', () => {
  const app = servedForSuite(test);

  test('sign-in shows only its fields; sign-up adds the name; errors are plain words, once', async ({ page }) => {
    await page.goto(`${app().url}/login`);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Sign in');
    await expect(page.getByTestId('username')).toBeVisible();
    await expect(page.getByTestId('password')).toBeVisible();
    await expect(page.getByTestId('display-name')).toBeHidden();
    await expect(page.getByText('Your name (shown to instructors)')).toBeHidden();

    await page.getByTestId('toggle-mode').click();
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Create an account');
    await expect(page.getByTestId('display-name')).toBeVisible();
    await page.getByTestId('username').fill('newcomer');
    await page.getByTestId('password').fill('short');
    await page.getByTestId('submit').click();
    const error = page.locator('#f-password-error');
    await expect(error).toHaveText('Must be at least 10 characters.');
    await expect(page.getByTestId('password')).toHaveAttribute('aria-invalid', 'true');
    await expect(page.getByTestId('password')).toBeFocused();
    await expect(page.getByTestId('form-status')).toHaveText('Please correct the field marked below.');
    expect(await occurrences(page, 'at least 10 characters')).toBe(1);
    expect(await occurrences(page, 'body.')).toBe(0);

    // A sign-in that fails says so once, in the status line.
    await page.getByTestId('toggle-mode').click();
    await page.getByTestId('password').fill('not the password');
    await page.getByTestId('submit').click();
    await expect(page.getByTestId('form-status')).toHaveText(/^Wrong username or password/i);
    await expect(error).toBeHidden();
  });

  test('the workshop form: dates fit at 1440 and 390 px, lessons go in the order set, errors name their field', async ({ page }) => {
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.goto(app().setupUrl());
    await page.getByTestId('username').fill('teacher');
    await page.getByTestId('password').fill('a good long password');
    await page.getByTestId('submit').click();
    await expect(page.getByRole('heading', { level: 1, name: 'Admin' })).toBeVisible();
    await page.goto(`${app().url}/workshops`);
    const form = new WorkshopsPage(page);
    await expect(form.when).toBeVisible();
    await fitsSideBySide(form.when);
    await page.setViewportSize({ width: 390, height: 844 });
    await fitsSideBySide(form.when);
    await page.setViewportSize({ width: 1440, height: 900 });

    // Nothing filled in: each error under its own field, none twice, no raw paths.
    await page.getByTestId('ws-create').click();
    await expect(page.locator('#f-title-error')).toHaveText('Must not be empty.');
    await expect(page.locator('#f-lessons-error')).toHaveText('Needs at least one lesson.');
    await expect(form.status).toHaveText('Please correct the 2 fields marked below.');
    expect(await occurrences(page, 'body.')).toBe(0);

    await page.getByTestId('ws-title').fill('Ordered');
    await page.getByTestId('ws-lesson-kubernetes-fundamentals').check();
    await page.getByTestId('ws-lesson-advanced-kubernetes-patterns').check();
    expect(await form.lessonOrder()).toEqual(['kubernetes-fundamentals', 'advanced-kubernetes-patterns']);
    const up = page.getByRole('button', { name: 'Move Advanced Kubernetes Patterns up' });
    await up.click();
    await expect(up).toBeFocused();
    expect(await form.lessonOrder()).toEqual(['advanced-kubernetes-patterns', 'kubernetes-fundamentals']);
    await page.getByTestId('ws-create').click();
    const room = new WorkshopRoom(page);
    await expect(room.code).toBeVisible();
    await expect(room.grid.locator('thead tr').first().locator('th[scope="colgroup"]')).toHaveText(['Advanced Kubernetes Patterns', 'Kubernetes Fundamentals']);
  });
});
