import type { DeepLinkChoiceResponse, DeepLinkItemView, DeepLinkOptionsResponse } from '../../../server/protocol.ts';
import { getJson, postJson } from '../api.ts';
import { h } from '../dom.ts';

function itemId(item: DeepLinkItemView): string {
  return item.exercise ? `${item.lesson}-${item.exercise}` : item.lesson;
}

/**
 * Deep linking, inside the LMS: the instructor picks whole lessons or single exercises; kubedojo
 * signs the choice and this page posts it to the LMS (the form field `JWT`, as Deep Linking 2.0
 * says), which makes a link and a gradebook column for each.
 */
export async function showDeepLink(main: HTMLElement, id: string): Promise<void> {
  document.title = 'Add kubedojo content · kubedojo';
  let options: DeepLinkOptionsResponse;
  try {
    options = await getJson<DeepLinkOptionsResponse>(`/api/lti/deep-links/${encodeURIComponent(id)}`);
  } catch (error) {
    main.replaceChildren(h('h1', {}, 'Add kubedojo content'), h('p', { class: 'problem', role: 'alert' }, error instanceof Error ? error.message : String(error)));
    return;
  }
  const type = options.acceptMultiple ? 'checkbox' : 'radio';
  const boxes = new Map<HTMLInputElement, DeepLinkItemView>();
  const lessons = [...new Set(options.items.map((i) => i.lesson))];
  const groups = lessons.map((slug) => {
    const items = options.items.filter((i) => i.lesson === slug);
    const rows = items.map((item) => {
      const box = h('input', { type, name: 'item', id: `dl-${itemId(item)}`, 'data-testid': `dl-item-${itemId(item)}` });
      boxes.set(box, item);
      const label = item.exercise ? `Exercise: ${item.title}` : `The whole lesson (its exercises and quiz)`;
      return h('li', {}, h('label', { class: 'check-label', for: `dl-${itemId(item)}` }, box, ` ${label} `, h('span', { class: 'muted' }, `· ${item.scoreMaximum} points`)));
    });
    return h('fieldset', { class: 'card' }, h('legend', {}, items[0]?.lessonTitle ?? slug), h('ul', { class: 'plain-list' }, ...rows));
  });
  const status = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite', 'data-testid': 'dl-status' });
  const submit = h('button', { type: 'submit', class: 'button primary', 'data-testid': 'dl-submit' }, 'Add to the course');
  const form = h('form', { class: 'form' }, ...groups, submit, status);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const chosen = [...boxes].filter(([box]) => box.checked).map(([, item]) => ({ lesson: item.lesson, exercise: item.exercise }));
    if (chosen.length === 0) {
      status.textContent = 'Pick a lesson or an exercise first.';
      return;
    }
    submit.disabled = true;
    status.textContent = 'Sending your choice to the LMS…';
    postJson<DeepLinkChoiceResponse>(`/api/lti/deep-links/${encodeURIComponent(id)}`, { items: chosen }).then(
      ({ returnUrl, jwt }) => {
        const post = h('form', { method: 'post', action: returnUrl }, h('input', { type: 'hidden', name: 'JWT', value: jwt }));
        document.body.append(post);
        post.submit();
      },
      (error: unknown) => {
        submit.disabled = false;
        status.textContent = error instanceof Error ? error.message : String(error);
        status.className = 'problem';
      },
    );
  });
  main.replaceChildren(h('h1', {}, 'Add kubedojo content'), h('p', {}, `Pick what to place in your course at ${options.platform}. Each item gets a gradebook column: one point per check, and per quiz question for a whole lesson.`), form);
}
