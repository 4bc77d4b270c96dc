import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { formatDuration, streamProgress } from '../../server/progress.ts';

describe('progress', () => {
  it('formats durations for people', () => {
    expect(formatDuration(250)).toBe('250ms');
    expect(formatDuration(12_340)).toBe('12.3s');
    expect(formatDuration(312_000)).toBe('5m12s');
  });

  it('prints a start line, throttled updates and an end line when not interactive (CI)', () => {
    const stream = new PassThrough();
    let out = '';
    stream.on('data', (d: Buffer) => (out += d.toString()));
    const task = streamProgress(stream, false, 0).begin('building kubernetes');
    task.update('10/100 packages');
    task.done('4 binaries');
    const lines = out.trim().split('\n');
    expect(lines[0]).toBe('… building kubernetes');
    expect(lines[1]).toMatch(/^ {2}building kubernetes: 10\/100 packages {2}\d/);
    expect(lines[2]).toMatch(/^✔ building kubernetes {2}4 binaries {2}\(\d+ms\)$/);
  });
});
