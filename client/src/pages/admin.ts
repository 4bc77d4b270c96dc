import type { AccountListResponse, AdminSandboxListResponse, CapacityResponse, LearnerView, ReapResponse } from '../../../server/protocol.ts';
import { ApiError, deleteJson, getJson, postJson } from '../api.ts';
import { h } from '../dom.ts';
import { field, plainError, showError } from '../forms.ts';
import { ltiCard } from './admin-lti.ts';

/** Sandboxes in use against the capacity, the warm pool, terminals and workshops; reap on demand. */
async function capacityCard(): Promise<HTMLElement> {
  const card = h('section', { class: 'card', 'aria-labelledby': 'capacity-heading', 'data-testid': 'capacity' });
  const status = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite' });
  const reap = h('button', { type: 'button', class: 'button', 'data-testid': 'reap' }, 'Reap expired and idle sandboxes now');
  const render = (c: CapacityResponse) => {
    const used = c.sandboxes.inUse;
    const states = c.sandboxes.byState ? Object.entries(c.sandboxes.byState).map(([k, v]) => `${v} ${k}`).join(', ') : '';
    card.replaceChildren(
      h('h2', { id: 'capacity-heading' }, 'Capacity'),
      h(
        'dl',
        { class: 'kvs' },
        h('div', { class: 'kv' }, h('dt', {}, 'Sandboxes'), h('dd', { 'data-testid': 'capacity-sandboxes' }, used === null ? `unknown: ${c.problem ?? ''}` : `${used} of ${c.sandboxes.capacity}${states ? ` (${states})` : ''}`)),
        h('div', { class: 'kv' }, h('dt', {}, 'Warm pool'), h('dd', {}, `${c.warmPool.total} ready (${Object.entries(c.warmPool.bySize).map(([k, v]) => `${v} ${k}`).join(', ')})`)),
        h('div', { class: 'kv' }, h('dt', {}, 'Terminals open'), h('dd', {}, String(c.terminals.open))),
        h('div', { class: 'kv' }, h('dt', {}, 'Workshops running'), h('dd', {}, String(c.workshops.running))),
      ),
      h('p', {}, reap),
      status,
    );
  };
  reap.addEventListener('click', () => {
    reap.disabled = true;
    status.textContent = 'Reaping…';
    postJson<ReapResponse>('/api/admin/reap', {}).then(
      async (r) => {
        reap.disabled = false;
        render(await getJson<CapacityResponse>('/api/admin/capacity'));
        status.textContent = r.reaped.length === 0 ? 'Nothing to reap.' : `Removed ${r.reaped.map((x) => `${x.namespace} (${x.reason})`).join(', ')}.`;
      },
      (error: unknown) => {
        reap.disabled = false;
        status.textContent = error instanceof Error ? error.message : String(error);
      },
    );
  });
  render(await getJson<CapacityResponse>('/api/admin/capacity'));
  return card;
}

function minutesLeft(expiresAt: string): string {
  const minutes = Math.round((Date.parse(expiresAt) - Date.now()) / 60_000);
  return minutes <= 0 ? 'expired' : minutes >= 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${minutes} min`;
}

/** Every learner's sandbox: whose, for which lesson or workshop, how long it has left; delete one. */
async function sandboxesCard(): Promise<HTMLElement> {
  const card = h('section', { class: 'card', 'aria-labelledby': 'sandboxes-heading', 'data-testid': 'admin-sandboxes' });
  const status = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite' });
  const render = (list: AdminSandboxListResponse) => {
    const rows = list.sandboxes.map((s) => {
      const who = !s.learnerName || s.learnerName === 'guest' ? 'a guest' : s.learnerName;
      const remove = h('button', { type: 'button', class: 'link-button', 'aria-label': `Delete the sandbox ${s.namespace} of ${who}` }, 'Delete');
      remove.addEventListener('click', () => {
        if (!confirm(`Delete ${s.namespace} and everything in it?`)) return;
        remove.disabled = true;
        deleteJson(`/api/admin/sandboxes/${encodeURIComponent(s.namespace)}`).then(
          async () => {
            status.textContent = `Deleting ${s.namespace}.`;
            render(await getJson<AdminSandboxListResponse>('/api/admin/sandboxes'));
          },
          (error: unknown) => {
            remove.disabled = false;
            status.textContent = plainError(error);
          },
        );
      });
      return h(
        'tr',
        { 'data-namespace': s.namespace },
        h('td', {}, h('code', {}, s.namespace)),
        h('td', {}, who),
        h('td', {}, h('a', { href: `/lessons/${s.lesson}` }, s.lesson), s.workshop ? h('span', { class: 'muted' }, ' · workshop') : null),
        h('td', {}, `${s.state}${s.terminalOpen ? ' · terminal open' : ''}`),
        h('td', {}, minutesLeft(s.expiresAt)),
        h('td', {}, remove),
      );
    });
    card.replaceChildren(
      h('h2', { id: 'sandboxes-heading' }, `Sandboxes (${list.sandboxes.length})`),
      list.sandboxes.length === 0
        ? h('p', { class: 'muted' }, 'No learner has a sandbox right now.')
        : h(
            'div',
            { class: 'table-wrap' },
            h('table', { class: 'plain' }, h('thead', {}, h('tr', {}, ...['Namespace', 'Learner', 'Lesson', 'State', 'Time left'].map((t) => h('th', { scope: 'col' }, t)), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))), h('tbody', {}, ...rows)),
          ),
      status,
    );
  };
  render(await getJson<AdminSandboxListResponse>('/api/admin/sandboxes'));
  return card;
}

/** The admin's page: accounts (instructors are made here), and the platform's capacity. */
export async function showAdmin(main: HTMLElement): Promise<void> {
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
  const list = h('tbody', { 'data-testid': 'accounts' });
  const renderList = (items: AccountListResponse['accounts']) => {
    // The name only when it says more than the username (sign-up copies one into the other).
    list.replaceChildren(
      ...items.map((a) =>
        h(
          'tr',
          { 'data-username': a.username ?? '' },
          h('td', {}, h('strong', {}, a.username ?? '')),
          h('td', {}, a.displayName && a.displayName !== a.username ? a.displayName : h('span', { class: 'muted' }, '—')),
          h('td', {}, h('span', { class: 'badge info' }, a.role)),
          h('td', {}, new Date(a.createdAt).toLocaleDateString()),
        ),
      ),
    );
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
  const capacity = await capacityCard().catch((error: unknown) => h('p', { class: 'problem', role: 'alert' }, `Could not read the capacity: ${error instanceof Error ? error.message : String(error)}`));
  const lti = await ltiCard().catch((error: unknown) => h('p', { class: 'problem', role: 'alert' }, `Could not read the LTI settings: ${error instanceof Error ? error.message : String(error)}`));
  const sandboxes = await sandboxesCard().catch((error: unknown) => h('p', { class: 'problem', role: 'alert' }, `Could not list the sandboxes: ${plainError(error)}`));
  const accountsTable = h('div', { class: 'table-wrap' }, h('table', { class: 'plain' }, h('thead', {}, h('tr', {}, ...['Username', 'Name', 'Role', 'Created'].map((t) => h('th', { scope: 'col' }, t)))), list));
  main.replaceChildren(h('h1', {}, 'Admin'), capacity, sandboxes, h('section', { class: 'card', 'aria-labelledby': 'accounts-heading' }, h('h2', { id: 'accounts-heading' }, 'Accounts'), accountsTable), form, lti);
}
