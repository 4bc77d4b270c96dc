import type { LessonProgressView, LessonResponse, SandboxView } from '../../../server/protocol.ts';
import { ApiError, getJson, putJson } from '../api.ts';
import { enhanceCodeBlocks } from '../code-blocks.ts';
import { drawDiagrams, redrawOnThemeChange } from '../diagrams.ts';
import { h } from '../dom.ts';
import { levelLabel, progressBadge } from '../format.ts';
import { setupQuiz } from '../quiz.ts';
import { labPanel } from '../lab-panel.ts';
import { sandboxPanel } from '../sandbox-panel.ts';
import { openTerminal } from '../terminal.ts';

function toc(lesson: LessonResponse): HTMLElement {
  const entries = lesson.toc.filter((t) => t.level <= 3);
  return h(
    'nav',
    { class: 'toc', 'aria-label': 'On this page' },
    h('p', { class: 'toc-title' }, 'On this page'),
    h('ol', {}, ...entries.map((t) => h('li', { class: `toc-l${t.level}` }, h('a', { href: `#${t.id}` }, t.text)))),
  );
}

function header(lesson: LessonResponse, progressSlot: HTMLElement): HTMLElement {
  const prerequisites = lesson.prerequisites.filter((p) => p.slug && p.title);
  return h(
    'header',
    { class: 'lesson-header' },
    h('nav', { class: 'breadcrumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '/' }, 'Lessons'), ' / ', levelLabel(lesson.level)),
    h('h1', {}, lesson.title),
    h(
      'p',
      { class: 'lesson-meta' },
      `${levelLabel(lesson.level)} · lesson ${lesson.number} · ${lesson.estimatedMinutes} min`,
      prerequisites.length > 0 ? ' · after ' : '',
      ...prerequisites.flatMap((p, i) => [i > 0 ? ', ' : '', h('a', { href: `/lessons/${p.slug ?? ''}` }, p.title ?? '')]),
    ),
    h('ul', { class: 'tags', 'aria-label': 'Topics' }, ...lesson.tags.map((t) => h('li', {}, t))),
    progressSlot,
  );
}

export async function showLesson(main: HTMLElement, slug: string, url: URL): Promise<void> {
  main.replaceChildren(h('p', { class: 'muted', 'aria-live': 'polite' }, 'Loading the lesson…'));
  let lesson: LessonResponse;
  try {
    lesson = await getJson<LessonResponse>(`/api/lessons/${encodeURIComponent(slug)}`);
  } catch (error) {
    document.title = 'Lesson not found · kubedojo';
    const message = error instanceof ApiError && error.status === 404 ? `There is no lesson "${slug}".` : `Could not load the lesson: ${error instanceof Error ? error.message : String(error)}`;
    main.replaceChildren(h('h1', {}, 'Lesson unavailable'), h('p', { class: 'problem', role: 'alert' }, message), h('p', {}, h('a', { href: '/' }, 'Back to the lessons')));
    return;
  }
  document.title = `${lesson.title} · kubedojo`;

  const progressSlot = h('div', { class: 'lesson-progress', 'data-testid': 'lesson-progress' });
  const complete = h('button', { type: 'button', class: 'button', 'data-testid': 'mark-complete' }, 'Mark lesson complete');
  const showProgress = (progress: LessonProgressView) => {
    progressSlot.replaceChildren(progressBadge(progress));
    complete.hidden = progress.status === 'completed';
  };
  showProgress(lesson.progress);

  let sandbox: SandboxView | undefined;
  const lab = lesson.hasLab ? labPanel(lesson.slug) : undefined;
  const body = h('div', { class: 'lesson-body' });
  body.innerHTML = lesson.html; // rendered on the server from markdown with raw HTML disabled
  const article = h(
    'article',
    { class: 'lesson', 'aria-labelledby': 'lesson-title' },
    header(lesson, progressSlot),
    lesson.hasLab
      ? sandboxPanel(lesson.slug, (current, why) => {
          sandbox = current;
          lab?.setSandbox(current?.namespace, why);
        })
      : null,
    lab?.root,
    body,
    h('footer', { class: 'lesson-footer' }, complete, h('a', { href: '/' }, 'All lessons')),
  );
  article.querySelector('h1')?.setAttribute('id', 'lesson-title');
  main.replaceChildren(h('div', { class: 'lesson-layout' }, toc(lesson), article));

  const needSandbox = () => {
    const start = document.querySelector<HTMLElement>('[data-testid="start-sandbox"]');
    start?.scrollIntoView({ behavior: 'smooth', block: 'center' });
    start?.focus();
  };
  enhanceCodeBlocks(
    body,
    lesson.codeBlocks,
    lesson.hasLab
      ? {
          sandbox: () => sandbox,
          run: (text) => (sandbox ? openTerminal(sandbox.namespace).run(text) : Promise.resolve('Start your sandbox first.')),
          needSandbox,
        }
      : undefined,
  );
  setupQuiz(body, lesson.slug, lesson.answers, showProgress);
  complete.addEventListener('click', () => {
    putJson<LessonProgressView>(`/api/lessons/${encodeURIComponent(lesson.slug)}/progress`, { status: 'completed' }).then(showProgress, () => undefined);
  });
  // Opening a lesson is not progress: it is "in progress" once the learner answers, starts the lab or checks.
  if (url.hash) document.getElementById(decodeURIComponent(url.hash.slice(1)))?.scrollIntoView();
  else window.scrollTo(0, 0);
  await drawDiagrams(body);
  redrawOnThemeChange(body);
}
