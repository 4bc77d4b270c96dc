import type { LessonLevel, LessonProgressView } from '../../server/protocol.ts';
import { h } from './dom.ts';

export function levelLabel(level: LessonLevel): string {
  return { beginner: 'Beginner', intermediate: 'Intermediate', advanced: 'Advanced' }[level];
}

export function progressBadge(progress: LessonProgressView): HTMLElement {
  const quiz = progress.quizTotal > 0 ? ` · quiz ${progress.quizCorrect}/${progress.quizTotal}` : '';
  if (progress.status === 'completed') return h('span', { class: 'badge ok', 'data-testid': 'progress' }, `Completed${quiz}`);
  if (progress.status === 'started') return h('span', { class: 'badge info', 'data-testid': 'progress' }, `In progress${quiz}`);
  return h('span', { class: 'badge muted-badge', 'data-testid': 'progress' }, 'Not started');
}
