import { expect, test } from './fixtures.ts';
import { projectRoot } from '../helpers/cli.ts';
import { loadLibrary } from '../../server/lessons/library.ts';
import type { QuizQuestion } from '../../server/lessons/types.ts';
import { CatalogPage } from './pages/catalog-page.ts';
import { LessonPage } from './pages/lesson-page.ts';
import { servedForSuite } from './server.ts';

const slug = 'advanced-kubernetes-patterns';

/** The start of a markdown sentence as a browser shows it (no code or emphasis marks). */
const plain = (markdown: string) => markdown.replace(/[`*_]/g, '').slice(0, 40);
const title = 'Advanced Kubernetes Patterns';

test.describe('a learner takes a lesson', () => {
  const app = servedForSuite(test, ['--no-cluster-up']);
  let quiz: QuizQuestion[];
  let diagrams = 0;
  test.beforeAll(async () => {
    const library = await loadLibrary(`${projectRoot}/lessons`);
    quiz = library.bySlug.get(slug)?.quiz ?? [];
    diagrams = library.bySlug.get(slug)?.diagrams ?? 0;
  });

  test('catalog → lesson → diagram → quiz wrong then right → reload keeps progress', async ({ page }) => {
    const [first, second] = quiz;
    if (!first || !second) throw new Error('the lesson needs two questions');
    const wrong = Object.keys(first.options).find((l) => l !== first.answer) ?? '';

    const catalog = new CatalogPage(page);
    await catalog.open(app().url);
    await expect(catalog.progressOf(slug)).toHaveText('Not started');
    await catalog.openLesson(title);

    const lesson = new LessonPage(page);
    await lesson.expectLoaded(title);
    await expect(page).toHaveURL(`${app().url}/lessons/${slug}`);
    await expect(lesson.drawnDiagrams.first()).toBeVisible();
    // Every mermaid block of the lesson is drawn as an SVG, none failed.
    await expect(page.locator('.diagram[data-drawn="true"] svg')).toHaveCount(diagrams);
    await expect(page.locator('.diagram[data-drawn="failed"]')).toHaveCount(0);
    await expect(lesson.toc.getByRole('link', { name: 'Quiz' })).toBeVisible();
    await expect(page.locator('.code-block .copy-button').first()).toBeVisible();
    await expect(page.locator('.link-unavailable', { hasText: 'Service Mesh Fundamentals' })).toBeVisible();
    // Opening a lesson is not progress; answering a question is.
    await expect(lesson.progress).toHaveText('Not started');

    await lesson.answer(first.id, wrong);
    await expect(lesson.result(first.id)).toContainText(`Not quite: ${wrong} is not the answer`);
    await expect(lesson.progress).toHaveText(`In progress · quiz 0/${quiz.length}`);
    await expect(lesson.explanation(first.id)).toHaveCount(0);

    await lesson.answer(first.id, first.answer);
    await expect(lesson.result(first.id)).toContainText(`Correct — ${first.answer}.`);
    await expect(lesson.explanation(first.id)).toContainText(plain(first.explanation));
    await expect(lesson.progress).toHaveText(`In progress · quiz 1/${quiz.length}`);
    // The next question still shows no explanation.
    await expect(lesson.explanation(second.id)).toHaveCount(0);

    await page.reload();
    await lesson.expectLoaded(title);
    await expect(lesson.explanation(first.id)).toContainText(plain(first.explanation));
    await expect(lesson.question(first.id).locator(`input[value="${first.answer}"]`)).toBeChecked();
    await expect(lesson.progress).toHaveText(`In progress · quiz 1/${quiz.length}`);

    await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: 'Lessons' }).click();
    await expect(catalog.progressOf(slug)).toHaveText(`In progress · quiz 1/${quiz.length}`);
  });

  test('the quiz works from the keyboard alone', async ({ page }) => {
    const question = quiz[1];
    if (!question) throw new Error('no second question');
    const lesson = new LessonPage(page);
    await page.goto(`${app().url}/lessons/${slug}#quiz`);
    await lesson.expectLoaded(title);
    const letters = Object.keys(question.options);
    const radios = lesson.question(question.id).locator('input[type=radio]');
    await radios.first().focus();
    // Arrow keys move within a radio group, selecting as they go.
    for (let i = 0; i < letters.indexOf(question.answer); i += 1) await page.keyboard.press('ArrowDown');
    await expect(radios.nth(letters.indexOf(question.answer))).toBeChecked();
    await page.keyboard.press('Tab');
    await expect(page.getByTestId(`check-${question.id}`)).toBeFocused();
    await page.keyboard.press('Enter');
    await expect(lesson.result(question.id)).toContainText('Correct');
  });

  test('an unknown lesson says so, with a way back', async ({ page }) => {
    await page.goto(`${app().url}/lessons/no-such-lesson`);
    await expect(page.getByRole('alert')).toHaveText('There is no lesson "no-such-lesson".');
    await page.getByRole('link', { name: 'Back to the lessons' }).click();
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Learn Kubernetes on a real cluster');
  });
});
