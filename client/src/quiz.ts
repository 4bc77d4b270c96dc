import type { LessonProgressView, QuestionState, QuizAnswerResponse } from '../../server/protocol.ts';
import { postJson } from './api.ts';
import { h } from './dom.ts';

/**
 * Turns the server-rendered quiz (radio fieldsets, no answers) into a widget: choose, check,
 * see right or wrong; the explanation arrives from the server only once the answer is right.
 */
export function setupQuiz(root: HTMLElement, slug: string, answers: Record<string, QuestionState>, onProgress: (p: LessonProgressView) => void): void {
  for (const fieldset of root.querySelectorAll<HTMLFieldSetElement>('fieldset.quiz-question')) {
    const id = fieldset.dataset.question ?? '';
    const shownAt = performance.now();
    const result = h('div', { class: 'quiz-result', role: 'status', 'aria-live': 'polite', 'data-testid': `result-${id}` });
    // Named after its question: a page holds a dozen of these buttons.
    const question = fieldset.querySelector('legend')?.textContent.trim() || `question ${id}`;
    const button = h('button', { type: 'button', class: 'button primary quiz-check', 'data-testid': `check-${id}`, 'aria-label': `Check answer to ${question}` }, 'Check answer');
    fieldset.append(h('div', { class: 'quiz-actions' }, button), result);

    const show = (state: QuestionState) => {
      fieldset.classList.toggle('is-correct', state.correct);
      fieldset.classList.toggle('is-wrong', !state.correct);
      if (state.correct) {
        const explanation = h('div', { class: 'quiz-explanation', 'data-testid': `explanation-${id}` });
        explanation.innerHTML = state.explanationHtml ?? '';
        result.replaceChildren(h('p', { class: 'verdict ok' }, `Correct — ${state.answer ?? ''}.`), explanation);
        for (const input of fieldset.querySelectorAll('input')) input.disabled = true;
        const chosen = fieldset.querySelector<HTMLInputElement>(`input[value="${state.answer ?? ''}"]`);
        if (chosen) chosen.checked = true;
        button.remove();
      } else {
        result.replaceChildren(h('p', { class: 'verdict bad' }, `Not quite: ${state.lastChoice} is not the answer. Try another option.`));
      }
    };

    const previous = answers[id];
    if (previous) show(previous);

    button.addEventListener('click', () => {
      const chosen = fieldset.querySelector<HTMLInputElement>('input[type=radio]:checked');
      if (!chosen) {
        result.replaceChildren(h('p', { class: 'verdict' }, 'Choose an option first.'));
        fieldset.querySelector<HTMLInputElement>('input[type=radio]')?.focus();
        return;
      }
      button.disabled = true;
      postJson<QuizAnswerResponse>(`/api/lessons/${encodeURIComponent(slug)}/quiz/${id}/answer`, { choice: chosen.value, timeMs: Math.round(performance.now() - shownAt) }).then(
        (response) => {
          show(response.state);
          onProgress(response.progress);
        },
        (error: unknown) => {
          result.replaceChildren(h('p', { class: 'verdict bad' }, `Could not check the answer: ${error instanceof Error ? error.message : String(error)}`));
        },
      ).finally(() => {
        button.disabled = false;
      });
    });
  }
}
