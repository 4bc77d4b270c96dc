import type { JoinResponse } from '../../../server/protocol.ts';
import { postJson } from '../api.ts';
import { h } from '../dom.ts';
import { field, showError } from '../forms.ts';
import { resetLive } from '../session.ts';

/** Join a workshop with its code and a display name: no account needed. */
export function showJoin(main: HTMLElement, code: string, go: (path: string) => void, onSession: () => void): void {
  document.title = 'Join a workshop · kubedojo';
  const status = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite', 'data-testid': 'form-status' });
  const codeField = field('Workshop code', 'code', { autocomplete: 'off', autocapitalize: 'characters', placeholder: 'K7M2-QX9P', required: '', 'data-testid': 'join-code' });
  const name = field('Your name, as the instructor will see it', 'displayName', { autocomplete: 'name', required: '', maxlength: '60', 'data-testid': 'join-name' });
  codeField.input.value = code;
  const submit = h('button', { type: 'submit', class: 'button primary', 'data-testid': 'join-submit' }, 'Join');
  const form = h('form', { class: 'card form', novalidate: '' }, codeField.wrap, name.wrap, submit, status);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit.disabled = true;
    status.textContent = 'Joining and getting your sandbox ready…';
    status.className = 'muted';
    postJson<JoinResponse>('/api/join', { code: codeField.input.value, displayName: name.input.value }).then(
      () => {
        resetLive();
        onSession();
        go('/workshop');
      },
      (error: unknown) => {
        submit.disabled = false;
        showError(error, status, { code: codeField, displayName: name });
      },
    );
  });
  main.replaceChildren(h('div', { class: 'narrow' }, h('h1', {}, 'Join a workshop'), h('p', { class: 'muted' }, 'Your instructor has the code. Your sandbox is ready the moment you join.'), form));
  (code ? name.input : codeField.input).focus();
}
