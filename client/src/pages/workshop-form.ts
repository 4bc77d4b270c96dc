import type { LessonSummary, WorkshopView } from '../../../server/protocol.ts';
import { SANDBOX_SIZES } from '../../../server/vocabulary.ts';
import { postJson } from '../api.ts';
import { h } from '../dom.ts';
import { field, showError } from '../forms.ts';

function toLocalInput(date: Date): string {
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

/**
 * The lessons of a new workshop, in the order the room will take them: tick the ones to teach,
 * move them up or down (buttons named after their lesson, so a screen reader says which).
 */
function lessonPicker(lessons: readonly LessonSummary[]): { root: HTMLElement; chosen(): string[]; error: HTMLElement; first: HTMLInputElement | undefined } {
  const list = h('ol', { class: 'lesson-order', 'data-testid': 'ws-lessons' });
  const announce = h('p', { class: 'visually-hidden', 'aria-live': 'polite' });
  const error = h('p', { class: 'field-error', id: 'f-lessons-error' });
  const boxes: HTMLInputElement[] = [];
  const move = (item: HTMLElement, by: -1 | 1, title: string, button: HTMLButtonElement) => {
    const sibling = by < 0 ? item.previousElementSibling : item.nextElementSibling;
    if (!sibling) return;
    if (by < 0) sibling.before(item);
    else sibling.after(item);
    button.focus();
    announce.textContent = `${title} is now lesson ${[...list.children].indexOf(item) + 1} of ${list.children.length}.`;
  };
  for (const lesson of lessons) {
    const box = h('input', { type: 'checkbox', value: lesson.slug, id: `l-${lesson.slug}`, 'data-testid': `ws-lesson-${lesson.slug}`, 'aria-describedby': error.id });
    boxes.push(box);
    const up = h('button', { type: 'button', class: 'icon-button order', 'aria-label': `Move ${lesson.title} up`, 'data-testid': `ws-up-${lesson.slug}` }, '↑');
    const down = h('button', { type: 'button', class: 'icon-button order', 'aria-label': `Move ${lesson.title} down`, 'data-testid': `ws-down-${lesson.slug}` }, '↓');
    const item = h('li', { 'data-slug': lesson.slug }, h('label', { class: 'check-label', for: box.id }, box, ` ${lesson.title}`), h('span', { class: 'order-buttons' }, up, down));
    up.addEventListener('click', () => {
      move(item, -1, lesson.title, up);
    });
    down.addEventListener('click', () => {
      move(item, 1, lesson.title, down);
    });
    list.append(item);
  }
  const root = h('fieldset', { class: 'field' }, h('legend', {}, 'Lessons, in the order the room takes them'), list, announce, error);
  return {
    root,
    error,
    first: boxes[0],
    chosen: () => [...list.querySelectorAll<HTMLInputElement>('input[type=checkbox]:checked')].map((b) => b.value),
  };
}

/** The form that creates a workshop; `created` gets the new workshop. */
export function workshopForm(lessons: readonly LessonSummary[], created: (workshop: WorkshopView) => void): HTMLElement {
  const status = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite', 'data-testid': 'form-status' });
  const title = field('Title', 'title', { required: '', maxlength: '120', 'data-testid': 'ws-title' });
  const seats = field('Seats', 'seats', { type: 'number', min: '1', max: '1000', value: '20', required: '', 'data-testid': 'ws-seats' });
  const now = new Date();
  const startsAt = field('Starts', 'startsAt', { type: 'datetime-local', value: toLocalInput(now), required: '', 'data-testid': 'ws-starts' });
  const endsAt = field('Ends', 'endsAt', { type: 'datetime-local', value: toLocalInput(new Date(now.getTime() + 2 * 3_600_000)), required: '', 'data-testid': 'ws-ends' });
  const size = h('select', { id: 'f-size', name: 'sandboxSize', 'data-testid': 'ws-size' }, h('option', { value: '' }, 'as each lab asks'), ...SANDBOX_SIZES.map((s) => h('option', { value: s }, s)));
  const picker = lessonPicker(lessons);
  const submit = h('button', { type: 'submit', class: 'button primary', 'data-testid': 'ws-create' }, 'Create the workshop');
  const form = h(
    'form',
    { class: 'card form', novalidate: '', 'aria-labelledby': 'new-workshop' },
    h('h2', { id: 'new-workshop' }, 'New workshop'),
    title.wrap,
    picker.root,
    h('div', { class: 'row', 'data-testid': 'ws-when' }, seats.wrap, startsAt.wrap, endsAt.wrap, h('div', { class: 'field' }, h('label', { for: 'f-size' }, 'Sandbox size'), size)),
    submit,
    status,
  );
  const when = (input: HTMLInputElement) => {
    const date = new Date(input.value);
    return Number.isNaN(date.getTime()) ? input.value : date.toISOString();
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit.disabled = true;
    const body = {
      title: title.input.value,
      lessons: picker.chosen(),
      seats: Number(seats.input.value),
      startsAt: when(startsAt.input),
      endsAt: when(endsAt.input),
      ...(size.value ? { sandboxSize: size.value } : {}),
    };
    postJson<WorkshopView>('/api/workshops', body).then(created, (error: unknown) => {
      submit.disabled = false;
      showError(error, status, { title, seats, startsAt, endsAt, lessons: { error: picker.error, ...(picker.first ? { input: picker.first } : {}) } });
    });
  });
  return form;
}
