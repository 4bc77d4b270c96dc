import type { RosterResponse } from '../../server/protocol.ts';
import { ApiError, getJson } from './api.ts';
import { h } from './dom.ts';

/**
 * For the room of an LMS course: the course's members as the LMS lists them (NRPS), and who has
 * not opened kubedojo yet. Rooms of code-joined workshops have no roster (the card stays empty).
 */
export function ltiRoster(workshopId: string): HTMLElement {
  const card = h('section', { class: 'card', 'data-testid': 'lti-roster', hidden: '' });
  getJson<RosterResponse>(`/api/lti/workshops/${encodeURIComponent(workshopId)}/roster`).then(
    (roster) => {
      const learners = roster.members.filter((m) => !m.instructor);
      const waiting = learners.filter((m) => m.status === 'not-started');
      card.replaceChildren(
        h('h2', {}, `Course members · ${roster.course}`),
        h('p', { class: 'muted' }, `From ${roster.platform}: ${learners.length} learners, ${learners.length - waiting.length} opened kubedojo. They join this room by opening a kubedojo activity in the course, not with the code.`),
        waiting.length === 0 ? h('p', { 'data-testid': 'roster-all-started' }, 'Everyone has started.') : h('div', {}, h('p', {}, 'Not started yet:'), h('ul', { class: 'plain-list', 'data-testid': 'roster-not-started' }, ...waiting.map((m) => h('li', {}, m.name)))),
        ...(roster.problem ? [h('p', { class: 'problem', role: 'alert' }, roster.problem)] : []),
      );
      card.hidden = false;
    },
    (error: unknown) => {
      // 404: not an LMS course's room.
      if (!(error instanceof ApiError && error.status === 404)) {
        card.replaceChildren(h('p', { class: 'problem' }, `Could not read the course's members: ${error instanceof Error ? error.message : String(error)}`));
        card.hidden = false;
      }
    },
  );
  return card;
}
