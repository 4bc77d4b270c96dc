import { describe, expect, it } from 'vitest';
import type { GridResponse, GridRow } from '../../server/protocol.ts';
import { gridCsv } from '../../server/workshops/export.ts';
import { newJoinCode, normalizeCode } from '../../server/workshops/codes.ts';

function row(displayName: string, cells: GridRow['cells']): GridRow {
  return { learnerId: displayName, displayName, lastActivity: '2030-01-01T10:00:00.000Z', sandboxes: [], quiz: [{ lesson: 'pods', correct: 2, total: 3 }], cells, stuck: null, terminalOpen: false };
}

describe('the results export', () => {
  it('has a column per quiz and exercise, counts attempts, and ends lines with CRLF', () => {
    const grid = {
      workshop: { lessons: [{ slug: 'pods', title: 'Pods' }] },
      columns: [
        { lesson: 'pods', exercise: 'run', title: 'Run' },
        { lesson: 'pods', exercise: 'scale', title: 'Scale' },
      ],
      rows: [row('Ana', [{ lesson: 'pods', exercise: 'run', status: 'passed', attempts: 2, lastCheckedAt: null }])],
    } as unknown as GridResponse;
    expect(gridCsv(grid)).toBe('participant,last activity,quiz pods,pods/run,pods/scale,attempts\r\nAna,2030-01-01T10:00:00.000Z,2/3,passed,not-started,2\r\n');
  });

  it('quotes commas and quotes, and defuses cells a spreadsheet would run as formulas', () => {
    const grid = { workshop: { lessons: [] }, columns: [], rows: [row('=HYPERLINK("x")', []), row('Lee, "Bo"', []), row('-1', [])] } as unknown as GridResponse;
    const lines = gridCsv(grid).split('\r\n');
    expect(lines[1]).toBe(`"'=HYPERLINK(""x"")",2030-01-01T10:00:00.000Z,2/3,0`);
    expect(lines[2]).toBe('"Lee, ""Bo""",2030-01-01T10:00:00.000Z,2/3,0');
    expect(lines[3]).toBe(`"'-1",2030-01-01T10:00:00.000Z,2/3,0`);
  });
});

describe('join codes', () => {
  it('are two groups of four unambiguous characters, however they are typed back', () => {
    const code = newJoinCode();
    expect(code).toMatch(/^[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}$/);
    expect(normalizeCode(code.toLowerCase().replace('-', ' '))).toBe(code);
    expect(normalizeCode('k7m2qx9p')).toBe('K7M2-QX9P');
  });
});
