import type { V1Namespace } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { sandboxOf } from '../../server/sandboxes/labels.ts';
import { reapReason } from '../../server/sandboxes/reaper.ts';

const NOW = Date.parse('2030-01-01T12:00:00Z');
const settings = { idleMinutes: 30, leftoverAfterSeconds: 120 };

function namespace(annotations: Record<string, string>, extra: { terminating?: boolean; learner?: string } = {}): V1Namespace {
  return {
    metadata: {
      name: 'kd-ana-1234',
      resourceVersion: '7',
      labels: { 'kubedojo.dev/sandbox': 'true', 'kubedojo.dev/learner': extra.learner ?? 'ana-0123456789', 'kubedojo.dev/size': 'medium', 'kubedojo.dev/workshop': 'none' },
      annotations,
    },
    status: { phase: extra.terminating ? 'Terminating' : 'Active' },
  };
}

const at = (minutesAgo: number) => new Date(NOW - minutesAgo * 60_000).toISOString();

describe('the sandbox label codec', () => {
  it('reads a sandbox back from its namespace: state, owner, size, times; "none" is no workshop', () => {
    const sandbox = sandboxOf(namespace({ 'kubedojo.dev/ready': 'true', 'kubedojo.dev/learner-name': 'Ana', 'kubedojo.dev/lesson': 'pods', 'kubedojo.dev/created-at': at(5), 'kubedojo.dev/expires-at': at(-55), 'kubedojo.dev/nodes': 'simulated' }));
    expect(sandbox).toMatchObject({ namespace: 'kd-ana-1234', learnerKey: 'ana-0123456789', learnerName: 'Ana', lesson: 'pods', workshop: null, size: 'medium', nodes: 'simulated', state: 'ready', createdAt: at(5), lastActivity: at(5), resourceVersion: '7' });
    expect(sandboxOf(namespace({})).state).toBe('creating');
    expect(sandboxOf(namespace({ 'kubedojo.dev/ready': 'true' }, { terminating: true })).state).toBe('terminating');
  });
});

describe('what the reaper deletes', () => {
  const ready = (annotations: Record<string, string>) => sandboxOf(namespace({ 'kubedojo.dev/ready': 'true', ...annotations }));

  it('deletes expired and idle sandboxes, and keeps live ones', () => {
    expect(reapReason(ready({ 'kubedojo.dev/expires-at': at(1), 'kubedojo.dev/last-activity': at(1) }), false, NOW, settings, NOW)).toBe('expired');
    expect(reapReason(ready({ 'kubedojo.dev/expires-at': at(-60), 'kubedojo.dev/last-activity': at(31) }), false, NOW, settings, NOW)).toBe('idle');
    expect(reapReason(ready({ 'kubedojo.dev/expires-at': at(-60), 'kubedojo.dev/last-activity': at(29) }), false, NOW, settings, NOW)).toBeUndefined();
  });

  it('leaves pool sandboxes to their week, and half-made ones their grace; never touches a terminating one', () => {
    expect(reapReason(ready({ 'kubedojo.dev/expires-at': at(1), 'kubedojo.dev/last-activity': at(600) }), true, NOW, settings, NOW)).toBeUndefined();
    const halfMade = sandboxOf(namespace({}));
    expect(reapReason(halfMade, false, NOW - 119_000, settings, NOW)).toBeUndefined();
    expect(reapReason(halfMade, false, NOW - 121_000, settings, NOW)).toBe('left over from a failed create');
    expect(reapReason(halfMade, true, NOW - 121_000, settings, NOW)).toBe('left over from a failed create');
    const going = sandboxOf(namespace({ 'kubedojo.dev/expires-at': at(60) }, { terminating: true }));
    expect(reapReason(going, false, NOW - 3_600_000, settings, NOW)).toBeUndefined();
  });
});
