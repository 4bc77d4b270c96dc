import { describe, expect, it } from 'vitest';
import { KeyedLock } from '../../server/sandboxes/keyed-lock.ts';

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('KeyedLock', () => {
  it('runs tasks of one key one at a time, in order, and tasks of other keys alongside', async () => {
    const lock = new KeyedLock();
    const events: string[] = [];
    const task = (name: string) => async () => {
      events.push(`${name} start`);
      await tick();
      events.push(`${name} end`);
      return name;
    };
    const results = await Promise.all([lock.run('a', task('a1')), lock.run('a', task('a2')), lock.run('b', task('b1'))]);
    expect(results).toEqual(['a1', 'a2', 'b1']);
    expect(events.indexOf('a1 end')).toBeLessThan(events.indexOf('a2 start'));
    expect(events.indexOf('b1 start')).toBeLessThan(events.indexOf('a1 end'));
  });

  it('passes a failure to its caller only, releases the key, and forgets keys nobody uses', async () => {
    const lock = new KeyedLock();
    const failing = lock.run('a', () => Promise.reject(new Error('boom')));
    const next = lock.run('a', () => Promise.resolve('after'));
    expect(lock.size).toBe(1);
    await expect(failing).rejects.toThrow('boom');
    await expect(next).resolves.toBe('after');
    expect(lock.size).toBe(0);
  });
});
