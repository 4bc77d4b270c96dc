import type { GridCell, GridResponse, GridRow } from '../../server/protocol.ts';

/** The live grid's pure parts: what each cell says, the order of rows, and what changed. */

export type GridColumn = GridResponse['columns'][number];

export const CELL: Readonly<Record<GridCell['status'], { mark: string; label: string }>> = {
  passed: { mark: '✔', label: 'passed' },
  failed: { mark: '✘', label: 'failed' },
  error: { mark: '⚠', label: 'could not check' },
  running: { mark: '…', label: 'checking' },
  'not-started': { mark: '·', label: 'not checked yet' },
};

/** How long ago, in a few words ("just now", "5 min ago", "2 h ago", "never"). */
export function ago(iso: string | null, now: number = Date.now()): string {
  if (!iso) return 'never';
  const minutes = Math.round((now - Date.parse(iso)) / 60_000);
  return minutes < 1 ? 'just now' : minutes < 60 ? `${minutes} min ago` : `${Math.round(minutes / 60)} h ago`;
}

/** What the room says once it has ended: how many participant sandboxes are going. */
export function endedMessage(sandboxes: number): string {
  if (sandboxes === 0) return 'Ended. There were no participant sandboxes to remove.';
  return `Ended. ${sandboxes === 1 ? '1 sandbox is' : `${sandboxes} sandboxes are`} being removed.`;
}

/** The room's head count; an LMS course's room has no seats: its members come from the course. */
export function joinedText(participants: number, seats: number): string {
  return seats > 0 ? `${participants} of ${seats} joined` : `${participants} in the course`;
}

/** Who looks stuck first, then by name. */
export function compareRows(a: GridRow, b: GridRow): number {
  return Number(!!b.stuck) - Number(!!a.stuck) || a.displayName.localeCompare(b.displayName);
}

/** A row's cell for a column (not started when the row has none yet). */
export function cellOf(row: GridRow, column: GridColumn): GridCell {
  return row.cells.find((c) => c.lesson === column.lesson && c.exercise === column.exercise) ?? { lesson: column.lesson, exercise: column.exercise, status: 'not-started', attempts: 0, lastCheckedAt: null };
}

export function cellTitle(cell: GridCell): string {
  return `${cell.exercise}: ${CELL[cell.status].label}${cell.attempts ? ` after ${cell.attempts} check(s)` : ''}`;
}

export function quizText(row: GridRow): string {
  return row.quiz.map((q) => `${q.correct}/${q.total}`).join(' · ');
}

/** What the row's heading cell shows; it is redrawn only when this changes. */
export function headKey(row: GridRow): string {
  return JSON.stringify([row.displayName, row.stuck, row.terminalOpen]);
}

/** What the row's actions depend on; its buttons are rebuilt only when this changes. */
export function actionsKey(row: GridRow, ended: boolean): string {
  return ended ? 'ended' : (row.sandboxes[0]?.namespace ?? '');
}

/**
 * The moves that put `current` (keys in the order they stand) into `wanted`'s order: each is
 * [key, the key it goes before (null: at the end)]. Keys already in order stay where they are;
 * keys only in `wanted` are inserted.
 */
export function reorder(current: readonly string[], wanted: readonly string[]): [string, string | null][] {
  const moves: [string, string | null][] = [];
  const standing = current.filter((k) => wanted.includes(k));
  // The longest run of rows already in order stays put; only the others move.
  const position = new Map(wanted.map((k, i) => [k, i]));
  const stay = new Set(longestIncreasing(standing.map((k) => position.get(k) ?? 0)).map((i) => standing[i]));
  for (let i = wanted.length - 1; i >= 0; i--) {
    const key = wanted[i];
    if (key === undefined || stay.has(key)) continue;
    moves.push([key, wanted[i + 1] ?? null]);
  }
  return moves;
}

/** Indices of a longest strictly increasing subsequence of `values`. */
function longestIncreasing(values: readonly number[]): number[] {
  const tails: number[] = [];
  const previous: number[] = new Array<number>(values.length).fill(-1);
  values.forEach((value, i) => {
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((values[tails[mid] ?? 0] ?? 0) < value) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) previous[i] = tails[lo - 1] ?? -1;
    tails[lo] = i;
  });
  const result: number[] = [];
  for (let i = tails.at(-1) ?? -1; i >= 0; i = previous[i] ?? -1) result.unshift(i);
  return result;
}
