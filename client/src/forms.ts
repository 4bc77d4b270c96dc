import { ApiError } from './api.ts';
import { h } from './dom.ts';

/** A labelled input whose error shows under it (the API names the field in `issues`). */
export function field(label: string, name: string, attrs: Record<string, string> = {}): { wrap: HTMLElement; input: HTMLInputElement; error: HTMLElement } {
  const id = `f-${name}`;
  const input = h('input', { id, name, 'aria-describedby': `${id}-error`, ...attrs });
  const error = h('p', { class: 'field-error', id: `${id}-error`, role: 'alert' });
  return { wrap: h('div', { class: 'field' }, h('label', { for: id }, label), input, error), input, error };
}

/** Shows an API error: each issue under its field, the message in the form's status line. */
export function showError(error: unknown, status: HTMLElement, fields: Record<string, { error: HTMLElement }>): void {
  for (const f of Object.values(fields)) f.error.textContent = '';
  if (error instanceof ApiError) {
    for (const issue of error.body?.error.issues ?? []) {
      const name = issue.field.replace(/^body\./, '');
      const target = fields[name];
      if (target) target.error.textContent = issue.message;
    }
    status.textContent = error.message;
  } else {
    status.textContent = error instanceof Error ? error.message : String(error);
  }
  status.className = 'problem';
}
