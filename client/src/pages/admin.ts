import type { AccountListResponse, LearnerView } from '../../../server/protocol.ts';
import { ApiError, getJson, postJson } from '../api.ts';
import { h } from '../dom.ts';
import { field, showError } from '../forms.ts';

/** The admin's page: accounts (instructors are made here), and the platform's capacity. */
export async function showAdmin(main: HTMLElement, extra: (main: HTMLElement) => Promise<HTMLElement | null> = () => Promise.resolve(null)): Promise<void> {
  document.title = 'Admin · kubedojo';
  let accounts: AccountListResponse;
  try {
    accounts = await getJson<AccountListResponse>('/api/admin/accounts');
  } catch (error) {
    main.replaceChildren(h('h1', {}, 'Admin'), h('p', { class: 'problem', role: 'alert' }, error instanceof ApiError && error.status === 401 ? 'Sign in as an admin first.' : error instanceof ApiError && error.status === 403 ? 'This page is for admins.' : 'Could not load the accounts.'));
    return;
  }
  const status = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite', 'data-testid': 'form-status' });
  const username = field('Username', 'username', { required: '', autocomplete: 'off', 'data-testid': 'acc-username' });
  const password = field('Initial password (at least 10 characters)', 'password', { type: 'password', required: '', autocomplete: 'new-password', 'data-testid': 'acc-password' });
  const displayName = field('Display name', 'displayName', { 'data-testid': 'acc-name' });
  const role = h('select', { id: 'f-role', 'data-testid': 'acc-role' }, ...['instructor', 'learner', 'admin'].map((r) => h('option', { value: r }, r)));
  const submit = h('button', { type: 'submit', class: 'button primary', 'data-testid': 'acc-create' }, 'Create account');
  const list = h('ul', { class: 'plain-list', 'data-testid': 'accounts' });
  const renderList = (items: AccountListResponse['accounts']) => {
    list.replaceChildren(...items.map((a) => h('li', {}, h('strong', {}, a.username ?? ''), ` · ${a.displayName ?? ''} · `, h('span', { class: 'badge info' }, a.role))));
  };
  renderList(accounts.accounts);
  const form = h('form', { class: 'card form', novalidate: '' }, h('h2', {}, 'New account'), username.wrap, password.wrap, displayName.wrap, h('div', { class: 'field' }, h('label', { for: 'f-role' }, 'Role'), role), submit, status);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit.disabled = true;
    postJson<LearnerView>('/api/admin/accounts', { username: username.input.value, password: password.input.value, role: role.value, ...(displayName.input.value ? { displayName: displayName.input.value } : {}) }).then(
      async (made) => {
        submit.disabled = false;
        status.textContent = `Created ${made.role} ${made.username ?? ''}.`;
        status.className = 'muted';
        username.input.value = '';
        password.input.value = '';
        renderList((await getJson<AccountListResponse>('/api/admin/accounts')).accounts);
      },
      (error: unknown) => {
        submit.disabled = false;
        showError(error, status, { username, password, displayName });
      },
    );
  });
  const capacity = await extra(main);
  main.replaceChildren(h('h1', {}, 'Admin'), ...(capacity ? [capacity] : []), h('section', { class: 'card' }, h('h2', {}, 'Accounts'), list), form);
}
