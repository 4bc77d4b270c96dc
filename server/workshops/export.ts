import type { GridResponse } from './views.ts';

/**
 * A cell a spreadsheet would run as a formula (=, +, -, @, tab) gets a leading quote; one with a
 * comma, quote or line break is quoted, as RFC 4180 says.
 */
function quote(value: string): string {
  return /[",\n\r]/.test(value) || /^[=+\-@\t]/.test(value) ? `"${value.replace(/^([=+\-@\t])/, "'$1").replace(/"/g, '""')}"` : value;
}

/** The grid as CSV: one row per participant with every quiz score, exercise status and the attempts. */
export function gridCsv(grid: GridResponse): string {
  const header = ['participant', 'last activity', ...grid.workshop.lessons.map((l) => `quiz ${l.slug}`), ...grid.columns.map((c) => `${c.lesson}/${c.exercise}`), 'attempts'];
  const lines = [header.map(quote).join(',')];
  for (const row of grid.rows) {
    lines.push(
      [
        row.displayName,
        row.lastActivity ?? '',
        ...row.quiz.map((q) => `${q.correct}/${q.total}`),
        ...grid.columns.map((c) => row.cells.find((cell) => cell.lesson === c.lesson && cell.exercise === c.exercise)?.status ?? 'not-started'),
        String(row.cells.reduce((n, c) => n + c.attempts, 0)),
      ]
        .map(quote)
        .join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}
