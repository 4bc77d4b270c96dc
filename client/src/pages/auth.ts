import type { LearnerView, SessionResponse } from '../../../server/protocol.ts';
import { postJson } from '../api.ts';
import { h } from '../dom.ts';
import { field, showError } from '../forms.ts';
import { resetLive, session } from '../session.ts';

type Go = (path: string) => void;

function landing(learner: LearnerView, next: string | null): string {
  if (next?.startsWith('/') && !next.startsWith('//')) return next;
  return learner.role === 'learner' ? '/me' : '/workshops';
}

/** Sign in, or create an account when sign-up is open. */
export async function showLogin(main: HTMLElement, url: URL, go: Go, onSession: () => void): Promise<void> {
  document.title = 'Sign in · kubedojo';
  const state: SessionResponse | undefined = await session(true).catch(() => undefined);
  let mode: 'in' | 'up' = 'in';
  const status = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite', 'data-testid': 'form-status' });
  const username = field('Username', 'username', { autocomplete: 'username', required: '', 'data-testid': 'username' });
  const password = field('Password', 'password', { type: 'password', autocomplete: 'current-password', required: '', 'data-testid': 'password' });
  const displayName = field('Your name (shown to instructors)', 'displayName', { autocomplete: 'name', 'data-testid': 'display-name' });
  const submit = h('button', { type: 'submit', class: 'button primary', 'data-testid': 'submit' }, 'Sign in');
  const heading = h('h1', {}, 'Sign in');
  const toggle = h('button', { type: 'button', class: 'link-button', 'data-testid': 'toggle-mode' }, 'Create an account instead');
  const form = h('form', { class: 'card form', novalidate: '' }, username.wrap, password.wrap, displayName.wrap, submit, status);
  const render = () => {
    heading.textContent = mode === 'in' ? 'Sign in' : 'Create an account';
    submit.textContent = mode === 'in' ? 'Sign in' : 'Create account';
    displayName.wrap.hidden = mode === 'in';
    password.input.autocomplete = mode === 'in' ? 'current-password' : 'new-password';
    toggle.textContent = mode === 'in' ? 'Create an account instead' : 'I have an account';
  };
  toggle.addEventListener('click', () => {
    mode = mode === 'in' ? 'up' : 'in';
    // What was wrong with the other form is no longer true of this one.
    for (const f of [username, password, displayName]) {
      f.error.textContent = '';
      f.input.removeAttribute('aria-invalid');
    }
    status.textContent = '';
    status.className = 'muted';
    render();
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit.disabled = true;
    status.textContent = mode === 'in' ? 'Signing in…' : 'Creating your account…';
    status.className = 'muted';
    const body = mode === 'in' ? { username: username.input.value, password: password.input.value } : { username: username.input.value, password: password.input.value, ...(displayName.input.value ? { displayName: displayName.input.value } : {}) };
    postJson<LearnerView>(mode === 'in' ? '/api/auth/login' : '/api/auth/register', body).then(
      (learner) => {
        resetLive();
        onSession();
        go(landing(learner, url.searchParams.get('next')));
      },
      (error: unknown) => {
        submit.disabled = false;
        showError(error, status, { username, password, displayName });
      },
    );
  });
  render();
  main.replaceChildren(
    h(
      'div',
      { class: 'narrow' },
      heading,
      h('p', { class: 'muted' }, 'Guests can learn without an account; an account keeps your progress on any device. Joining a workshop needs only its code.'),
      form,
      state?.registration ? h('p', {}, toggle) : null,
      h('p', {}, h('a', { href: '/join' }, 'Join a workshop with a code')),
    ),
  );
  username.input.focus();
}

/** The first admin, from the one-time link printed at the server's first start. */
export async function showSetup(main: HTMLElement, url: URL, go: Go, onSession: () => void): Promise<void> {
  document.title = 'Set up kubedojo';
  const state = await session(true).catch(() => undefined);
  if (state && !state.setupNeeded) {
    main.replaceChildren(h('div', { class: 'narrow' }, h('h1', {}, 'Already set up'), h('p', {}, 'This kubedojo has an admin. ', h('a', { href: '/login' }, 'Sign in'), '.')));
    return;
  }
  const token = url.searchParams.get('token') ?? '';
  const status = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite', 'data-testid': 'form-status' });
  const username = field('Admin username', 'username', { autocomplete: 'username', required: '', 'data-testid': 'username' });
  const password = field('Password (at least 10 characters)', 'password', { type: 'password', autocomplete: 'new-password', required: '', 'data-testid': 'password' });
  const submit = h('button', { type: 'submit', class: 'button primary', 'data-testid': 'submit' }, 'Create the admin');
  const form = h('form', { class: 'card form', novalidate: '' }, username.wrap, password.wrap, submit, status);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit.disabled = true;
    postJson<LearnerView>('/api/auth/setup', { token, username: username.input.value, password: password.input.value }).then(
      () => {
        onSession();
        go('/admin');
      },
      (error: unknown) => {
        submit.disabled = false;
        showError(error, status, { username, password });
      },
    );
  });
  main.replaceChildren(h('div', { class: 'narrow' }, h('h1', {}, 'Set up kubedojo'), h('p', { class: 'muted' }, 'Create the first admin. This link works once.'), form));
  username.input.focus();
}
