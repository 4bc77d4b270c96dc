import type { CatalogResponse, LessonSummary } from '../../../server/protocol.ts';
import { getJson } from '../api.ts';
import { h } from '../dom.ts';
import { levelLabel, progressBadge } from '../format.ts';
import { clusterCard } from './cluster.ts';

function lessonCard(lesson: LessonSummary): HTMLElement {
  const after = lesson.prerequisites.filter((p) => p.slug && p.title);
  return h(
    'li',
    { class: 'lesson-card', 'data-testid': 'lesson-card', 'data-slug': lesson.slug },
    h('div', { class: 'lesson-card-top' }, h('span', { class: 'lesson-number' }, String(lesson.number).padStart(2, '0')), progressBadge(lesson.progress)),
    h('h3', {}, h('a', { href: `/lessons/${lesson.slug}` }, lesson.title)),
    h(
      'p',
      { class: 'lesson-meta' },
      `${lesson.estimatedMinutes} min`,
      lesson.quizQuestions > 0 ? ` · ${lesson.quizQuestions} quiz questions` : '',
      lesson.diagrams > 0 ? ` · ${lesson.diagrams} diagrams` : '',
      lesson.hasLab ? ' · hands-on lab' : '',
    ),
    after.length > 0
      ? h('p', { class: 'lesson-after' }, 'After ', ...after.flatMap((p, i) => [i > 0 ? ', ' : '', h('a', { href: `/lessons/${p.slug ?? ''}` }, p.title ?? '')]))
      : null,
    h('ul', { class: 'tags', 'aria-label': 'Topics' }, ...lesson.tags.map((t) => h('li', {}, h('a', { href: `/?tag=${encodeURIComponent(t)}`, 'aria-label': `Lessons about ${t}` }, t)))),
  );
}

function render(main: HTMLElement, catalog: CatalogResponse, tag: string | undefined): void {
  const filters = h(
    'div',
    { class: 'tag-filter', role: 'group', 'aria-label': 'Filter by topic' },
    h('button', { type: 'button', 'aria-pressed': String(tag === undefined), 'data-tag': '' }, 'All topics'),
    // Every topic a lesson carries: a filter that leaves some out cannot find those lessons.
    ...catalog.tags.map((t) => h('button', { type: 'button', 'aria-pressed': String(tag === t.tag), 'data-tag': t.tag }, `${t.tag} (${t.count})`)),
  );
  filters.addEventListener('click', (event) => {
    const button = (event.target as Element).closest('button');
    if (!button) return;
    const next = button.dataset.tag || undefined;
    const url = next ? `/?tag=${encodeURIComponent(next)}` : '/';
    history.replaceState(null, '', url);
    void showCatalog(main, next);
  });
  const levels = catalog.levels.map((group) =>
    h(
      'section',
      { class: 'level', 'aria-labelledby': `level-${group.level}` },
      h('h2', { id: `level-${group.level}` }, levelLabel(group.level)),
      h('ul', { class: 'lesson-grid' }, ...group.lessons.map(lessonCard)),
    ),
  );
  main.replaceChildren(
    h(
      'section',
      { class: 'hero' },
      h('h1', {}, 'Learn Kubernetes on a real cluster'),
      h('p', { class: 'lede' }, 'Read a lesson, answer its quiz, get your own sandbox namespace, type kubectl in the browser and press Check.'),
    ),
    filters,
    ...(levels.length > 0 ? levels : [h('p', { class: 'muted' }, 'No lessons match this topic.')]),
    clusterCard(),
  );
}

export async function showCatalog(main: HTMLElement, tagOverride?: string): Promise<void> {
  document.title = 'Lessons · kubedojo';
  const tag = tagOverride ?? (new URL(location.href).searchParams.get('tag') || undefined);
  try {
    const catalog = await getJson<CatalogResponse>(tag ? `/api/lessons?tag=${encodeURIComponent(tag)}` : '/api/lessons');
    render(main, catalog, tag);
  } catch (error) {
    main.replaceChildren(h('h1', {}, 'Lessons'), h('p', { class: 'problem', role: 'alert' }, `Could not load the lessons: ${error instanceof Error ? error.message : String(error)}`));
  }
}
