import type { CheckRunListResponse, ParticipantWorkshopView, ProgressResponse, SandboxListResponse, SandboxView } from '../../../server/protocol.ts';
import { ApiError, getJson, postJson } from '../api.ts';
import { h } from '../dom.ts';
import { levelLabel, progressBadge } from '../format.ts';
import { onWorkshopEnded, session } from '../session.ts';

function minutesLeft(expiresAt: string): string {
  const minutes = Math.round((Date.parse(expiresAt) - Date.now()) / 60_000);
  if (minutes <= 0) return 'expired';
  return minutes >= 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min left` : `${minutes} min left`;
}

function sandboxCard(sandbox: SandboxView, reload: () => void): HTMLElement {
  const status = h('span', { class: 'muted', role: 'status' });
  const extend = h('button', { type: 'button', class: 'button', 'data-testid': 'me-extend' }, 'Add 30 minutes');
  const reset = h('button', { type: 'button', class: 'button', 'data-testid': 'me-reset' }, 'Reset');
  const base = `/api/sandboxes/${encodeURIComponent(sandbox.namespace)}`;
  extend.addEventListener('click', () => {
    status.textContent = 'Extending…';
    postJson(`${base}/extend`, { minutes: 30 }).then(reload, (e: unknown) => (status.textContent = e instanceof Error ? e.message : String(e)));
  });
  reset.addEventListener('click', () => {
    if (!confirm('Reset this sandbox? Everything in it is deleted and the lab starts over.')) return;
    status.textContent = 'Resetting…';
    postJson(`${base}/reset`, {}).then(reload, (e: unknown) => (status.textContent = e instanceof Error ? e.message : String(e)));
  });
  return h(
    'li',
    { class: 'sandbox-row', 'data-testid': 'me-sandbox' },
    h('a', { href: `/lessons/${sandbox.lesson}` }, sandbox.lesson),
    h('code', {}, sandbox.namespace),
    h('span', { 'data-testid': 'me-time-left' }, minutesLeft(sandbox.expiresAt)),
    extend,
    reset,
    status,
  );
}

/**
 * The self-paced learner's home: their lessons with progress and where to resume, their
 * sandboxes with the time left (extend, reset), and their check history.
 */
export async function showMe(main: HTMLElement): Promise<void> {
  document.title = 'My learning · kubedojo';
  main.replaceChildren(h('h1', {}, 'My learning'), h('p', { class: 'muted' }, 'Loading…'));
  const load = async () => {
    const [me, progress, sandboxes] = await Promise.all([session(true), getJson<ProgressResponse>('/api/progress'), getJson<SandboxListResponse>('/api/sandboxes')]);
    const started = progress.lessons.filter((l) => l.progress.status !== 'not-started');
    const history = await Promise.all(started.map(async (l) => ({ lesson: l, runs: (await getJson<CheckRunListResponse>(`/api/lessons/${l.slug}/checks`)).runs })));
    const resume = [...started].filter((l) => l.progress.status === 'started').sort((a, b) => (b.progress.updatedAt ?? '').localeCompare(a.progress.updatedAt ?? ''))[0];
    const parts: (HTMLElement | null)[] = [
      h('h1', {}, me.learner?.displayName ? `${me.learner.displayName}’s learning` : 'My learning'),
      me.learner?.kind === 'guest' || !me.learner ? h('p', { class: 'muted' }, 'You are learning as a guest on this browser. ', h('a', { href: '/login?next=/me' }, 'Create an account'), ' to keep your progress anywhere.') : null,
      resume
        ? h(
            'section',
            { class: 'card resume', 'data-testid': 'resume' },
            h('h2', {}, 'Pick up where you left off'),
            h('p', {}, h('a', { class: 'button primary', href: `/lessons/${resume.slug}${resume.progress.lastSection ? `#${resume.progress.lastSection}` : ''}` }, `Resume ${resume.title}`)),
          )
        : null,
      h(
        'section',
        { class: 'card' },
        h('h2', {}, 'Lessons'),
        started.length === 0
          ? h('p', { class: 'muted' }, 'Nothing started yet. ', h('a', { href: '/' }, 'Browse the lessons'), '.')
          : h('ul', { class: 'plain-list' }, ...started.map((l) => h('li', { 'data-testid': 'me-lesson' }, h('a', { href: `/lessons/${l.slug}` }, l.title), ` · ${levelLabel(l.level)} `, progressBadge(l.progress)))),
      ),
      h(
        'section',
        { class: 'card' },
        h('h2', {}, 'Sandboxes'),
        sandboxes.sandboxes.length === 0 ? h('p', { class: 'muted' }, 'No sandbox running. A lesson with a lab starts one.') : h('ul', { class: 'plain-list' }, ...sandboxes.sandboxes.map((s) => sandboxCard(s, () => void load()))),
      ),
      h(
        'section',
        { class: 'card' },
        h('h2', {}, 'Checks'),
        history.every((x) => x.runs.length === 0)
          ? h('p', { class: 'muted' }, 'No checks yet.')
          : h(
              'ul',
              { class: 'plain-list', 'data-testid': 'me-checks' },
              ...history.flatMap((x) =>
                x.runs.slice(0, 10).map((r) =>
                  h('li', {}, h('span', { class: `badge ${r.status === 'passed' ? 'ok' : r.status === 'running' ? 'info' : 'bad'}` }, r.status), ` ${x.lesson.title}${r.exercise ? ` · ${r.exercise}` : ' · whole lab'} · ${new Date(r.startedAt).toLocaleString()}`),
                ),
              ),
            ),
      ),
    ];
    main.replaceChildren(...parts.filter((p): p is HTMLElement => p !== null));
  };
  await load().catch((error: unknown) => {
    main.lastElementChild?.replaceWith(h('p', { class: 'problem', role: 'alert' }, `Could not load your progress: ${error instanceof Error ? error.message : String(error)}`));
  });
}

/** A participant's workshop: its lessons and what the instructor said. */
export async function showMyWorkshop(main: HTMLElement): Promise<void> {
  document.title = 'My workshop · kubedojo';
  let workshop: ParticipantWorkshopView;
  try {
    workshop = await getJson<ParticipantWorkshopView>('/api/workshop');
  } catch (error) {
    main.replaceChildren(h('h1', {}, 'No workshop'), h('p', {}, error instanceof ApiError && error.status === 404 ? 'You have not joined a workshop. ' : 'Could not load your workshop. ', h('a', { href: '/join' }, 'Join one with its code'), '.'));
    return;
  }
  const progress = await getJson<ProgressResponse>('/api/progress').catch(() => ({ lessons: [] }));
  document.title = `${workshop.title} · kubedojo`;
  const ended = 'This workshop has ended. Thank you for taking part! The lessons stay open to read.';
  const state = h('p', { class: 'muted', 'data-testid': 'workshop-state' }, workshop.state === 'ended' ? ended : `Until ${new Date(workshop.endsAt).toLocaleTimeString()}`);
  onWorkshopEnded(state, () => {
    state.textContent = ended;
  });
  main.replaceChildren(
    h('h1', { 'data-testid': 'workshop-title' }, workshop.title),
    state,
    h(
      'section',
      { class: 'card' },
      h('h2', {}, 'Lessons'),
      h(
        'ol',
        { class: 'plain-list' },
        ...workshop.lessons.map((l) => {
          const p = progress.lessons.find((x) => x.slug === l.slug)?.progress;
          return h('li', { 'data-testid': 'workshop-lesson' }, h('a', { href: `/lessons/${l.slug}` }, l.title), ' ', p ? progressBadge(p) : null);
        }),
      ),
    ),
    workshop.messages.length > 0
      ? h('section', { class: 'card' }, h('h2', {}, 'From your instructor'), h('ul', { class: 'plain-list' }, ...workshop.messages.map((m) => h('li', {}, `${new Date(m.sentAt).toLocaleTimeString()} · ${m.text}`))))
      : '',
  );
}
