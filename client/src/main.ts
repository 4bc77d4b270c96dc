import './styles.css';
import { h } from './dom.ts';
import { showCatalog } from './pages/catalog.ts';
import { showLesson } from './pages/lesson.ts';
import { showRecording, showRecordings } from './pages/recordings.ts';
import { showAdmin } from './pages/admin.ts';
import { adoptLaunch } from './lti.ts';
import { showDeepLink } from './pages/lti-deep-link.ts';
import { showLogin, showSetup } from './pages/auth.ts';
import { showJoin } from './pages/join.ts';
import { showMe, showMyWorkshop } from './pages/me.ts';
import { showParticipantRecordings } from './pages/participant-recordings.ts';
import { showWorkshops } from './pages/workshop-list.ts';
import { showWorkshop } from './pages/workshop-room.ts';
import { Router } from './router.ts';
import { renderAccount } from './session.ts';
import { setupTheme } from './theme.ts';

setupTheme(document.querySelector<HTMLButtonElement>('.theme-toggle'));
const main = document.querySelector<HTMLElement>('#main');
const account = document.querySelector<HTMLElement>('#account');

if (main) {
  const router = new Router((_params, url) => {
    document.title = 'Not found · kubedojo';
    main.replaceChildren(h('h1', {}, 'Page not found'), h('p', {}, `Nothing lives at ${url.pathname}. `, h('a', { href: '/' }, 'Back to the lessons')));
  });
  const go = (path: string) => {
    router.go(path);
  };
  const refreshAccount = () => {
    if (account) void renderAccount(account, go);
  };
  router
    .add('/', () => showCatalog(main))
    .add('/lessons/:slug', (params, url) => showLesson(main, params.slug ?? '', url))
    .add('/recordings', () => showRecordings(main))
    .add('/recordings/:id', (params) => showRecording(main, params.id ?? ''))
    .add('/me', () => showMe(main))
    .add('/login', (_params, url) => showLogin(main, url, go, refreshAccount))
    .add('/setup', (_params, url) => showSetup(main, url, go, refreshAccount))
    .add('/join', () => {
      showJoin(main, '', go, refreshAccount);
    })
    .add('/join/:code', (params) => {
      showJoin(main, params.code ?? '', go, refreshAccount);
    })
    .add('/workshop', () => showMyWorkshop(main))
    .add('/workshops', () => showWorkshops(main, go))
    .add('/workshops/:id', (params, _url, leave) => showWorkshop(main, params.id ?? '', leave))
    .add('/workshops/:id/recordings/:learner', (params) => showParticipantRecordings(main, params.id ?? '', params.learner ?? ''))
    .add('/admin', () => showAdmin(main))
    .add('/lti/deep-link/:id', (params) => showDeepLink(main, params.id ?? ''));
  // A page opened by an LMS first turns its launch ticket into a session.
  void adoptLaunch().then((problem) => {
    refreshAccount();
    if (problem) main.replaceChildren(h('h1', {}, 'Launch expired'), h('p', { class: 'problem', role: 'alert' }, problem));
    else void router.dispatch(new URL(location.href));
  });
}
