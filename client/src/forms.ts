import { ApiError } from './api.ts';
import { h } from './dom.ts';

/** A labelled input whose error shows under it (the API names the field in `issues`). */
export function field(label: string, name: string, attrs: Record<string, string> = {}): { wrap: HTMLElement; input: HTMLInputElement; error: HTMLElement } {
  const id = `f-${name}`;
  const input = h('input', { id, name, 'aria-describedby': `${id}-error`, ...attrs });
  const error = h('p', { class: 'field-error', id: `${id}-error` });
  return { wrap: h('div', { class: 'field' }, h('label', { for: id }, label), input, error), input, error };
}

/** "body.startsAt" → "startsAt", "body.lessons.0" → "lessons": the field a person filled in. */
export function fieldOf(path: string): string {
  return path.replace(/^(?:body|query|params)\.?/, '').split('.')[0] ?? '';
}

/** "startsAt" → "starts at": a field's name in words, for messages without a field to sit under. */
function words(name: string): string {
  return name.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
}

function sentence(text: string): string {
  const trimmed = text.trim();
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/**
 * Any error as one plain sentence: the API's issues with their fields in words ("password must
 * be at least 10 characters"), never a raw path such as `body.password`.
 */
export function plainError(error: unknown): string {
  if (error instanceof ApiError) {
    const issues = error.body?.error.issues ?? [];
    if (issues.length > 0) return issues.map((i) => sentence(`${words(fieldOf(i.field)) || 'the request'} ${i.message}`)).join(' ');
    return sentence(error.message.replace(/\b(?:body|query|params)\.([\w.]+)/g, (_m, f: string) => words(f.split('.')[0] ?? f)));
  }
  return sentence(error instanceof Error ? error.message : String(error));
}

/**
 * Shows an API error once: each issue under its own field (the field marked invalid, the first
 * one focused), and in the form's status line only what has no field to sit under.
 */
export function showError(error: unknown, status: HTMLElement, fields: Record<string, { error: HTMLElement; input?: HTMLInputElement | HTMLElement }>): void {
  for (const f of Object.values(fields)) {
    f.error.textContent = '';
    f.input?.removeAttribute('aria-invalid');
  }
  const leftover: string[] = [];
  let first: HTMLElement | undefined;
  const issues = error instanceof ApiError ? (error.body?.error.issues ?? []) : [];
  for (const issue of issues) {
    const name = fieldOf(issue.field);
    const target = fields[name];
    if (!target) {
      leftover.push(sentence(`${words(name) || 'the request'} ${issue.message}`));
      continue;
    }
    target.error.textContent = sentence(issue.message);
    target.input?.setAttribute('aria-invalid', 'true');
    first ??= target.input;
  }
  const marked = issues.length - leftover.length;
  if (issues.length === 0) status.textContent = plainError(error);
  else status.textContent = [marked > 0 ? (marked === 1 ? 'Please correct the field marked below.' : `Please correct the ${marked} fields marked below.`) : '', ...leftover].filter(Boolean).join(' ');
  status.className = 'problem';
  status.setAttribute('role', 'alert');
  first?.focus();
}
