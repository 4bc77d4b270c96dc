import './styles.css';
import { h } from './dom.ts';
import { showCatalog } from './pages/catalog.ts';
import { showLesson } from './pages/lesson.ts';
import { showRecording, showRecordings } from './pages/recordings.ts';
import { Router } from './router.ts';
import { setupTheme } from './theme.ts';

setupTheme(document.querySelector<HTMLButtonElement>('.theme-toggle'));
const main = document.querySelector<HTMLElement>('#main');

if (main) {
  const router = new Router((_params, url) => {
    document.title = 'Not found · kubedojo';
    main.replaceChildren(h('h1', {}, 'Page not found'), h('p', {}, `Nothing lives at ${url.pathname}. `, h('a', { href: '/' }, 'Back to the lessons')));
  });
  router
    .add('/', () => showCatalog(main))
    .add('/lessons/:slug', (params, url) => showLesson(main, params.slug ?? '', url))
    .add('/recordings', () => showRecordings(main))
    .add('/recordings/:id', (params) => showRecording(main, params.id ?? ''));
  void router.dispatch(new URL(location.href));
}
