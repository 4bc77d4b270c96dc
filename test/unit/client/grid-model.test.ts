import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { actionsKey, ago, cellOf, compareRows, endedMessage, headKey, joinedText, reorder } from '../../../client/src/grid-model.ts';
import type { GridRow } from '../../../server/protocol.ts';

function row(name: string, extra: Partial<GridRow> = {}): GridRow {
  return { learnerId: `id-${name}`, displayName: name, lastActivity: null, sandboxes: [], quiz: [], cells: [], stuck: null, terminalOpen: false, ...extra };
}

/** Applies reorder's moves to `current` as the grid does to its rows (insertBefore). */
function apply(current: readonly string[], moves: readonly [string, string | null][]): string[] {
  const list = [...current];
  for (const [key, before] of moves) {
    const from = list.indexOf(key);
    if (from >= 0) list.splice(from, 1);
    list.splice(before === null ? list.length : list.indexOf(before), 0, key);
  }
  return list;
}

describe('the live grid model', () => {
  it('puts who looks stuck first, then orders by name', () => {
    const rows = [row('Cy'), row('Ana'), row('Ben', { stuck: 'no check for 20 min' })];
    expect(rows.sort(compareRows).map((r) => r.displayName)).toEqual(['Ben', 'Ana', 'Cy']);
  });

  it('says how long ago in a few words', () => {
    const now = Date.parse('2025-01-01T12:00:00Z');
    expect(ago(null, now)).toBe('never');
    expect(ago('2025-01-01T11:59:50Z', now)).toBe('just now');
    expect(ago('2025-01-01T11:55:00Z', now)).toBe('5 min ago');
    expect(ago('2025-01-01T10:00:00Z', now)).toBe('2 h ago');
  });

  it('counts the room and its end in plain words', () => {
    expect(joinedText(2, 3)).toBe('2 of 3 joined');
    expect(joinedText(4, 0)).toBe('4 in the course');
    expect(endedMessage(0)).toBe('Ended. There were no participant sandboxes to remove.');
    expect(endedMessage(1)).toBe('Ended. 1 sandbox is being removed.');
    expect(endedMessage(3)).toBe('Ended. 3 sandboxes are being removed.');
  });

  it('gives a column with no result yet a not-started cell', () => {
    const r = row('Ana', { cells: [{ lesson: 'l', exercise: 'a', status: 'passed', attempts: 1, lastCheckedAt: null }] });
    expect(cellOf(r, { lesson: 'l', exercise: 'a', title: 'A' }).status).toBe('passed');
    expect(cellOf(r, { lesson: 'l', exercise: 'b', title: 'B' })).toMatchObject({ status: 'not-started', attempts: 0 });
  });

  it('redraws a row head or its buttons only when what they show changes', () => {
    const a = row('Ana', { sandboxes: [{ namespace: 'kd-a', lesson: 'l', expiresAt: '' }] });
    expect(headKey({ ...a, quiz: [{ lesson: 'l', correct: 1, total: 2 }] })).toBe(headKey(a));
    expect(headKey({ ...a, stuck: 'idle' })).not.toBe(headKey(a));
    expect(actionsKey({ ...a, lastActivity: 'now' }, false)).toBe(actionsKey(a, false));
    expect(actionsKey(a, true)).not.toBe(actionsKey(a, false));
  });

  it('reorders rows with the fewest moves: nothing when in order, one move for one row', () => {
    expect(reorder(['a', 'b', 'c'], ['a', 'b', 'c'])).toEqual([]);
    expect(reorder(['a', 'b', 'c'], ['b', 'c', 'a'])).toEqual([['a', null]]);
    expect(reorder(['a', 'b', 'c'], ['c', 'a', 'b'])).toEqual([['c', 'a']]);
    expect(reorder(['a', 'b'], ['a', 'x', 'b'])).toEqual([['x', 'b']]);
  });

  it('reorder always ends in the wanted order (any permutation, rows added)', () => {
    const cases = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 3 }), { maxLength: 12 }).chain((keys) => fc.tuple(fc.shuffledSubarray(keys, { minLength: keys.length, maxLength: keys.length }), fc.subarray(keys)));
    fc.assert(
      fc.property(cases, ([wanted, shown]) => {
        // `shown`: the rows on the page (in some order); `wanted` also has the rows that just joined.
        const current = [...shown].reverse();
        expect(apply(current, reorder(current, wanted))).toEqual(wanted);
      }),
    );
  });
});
