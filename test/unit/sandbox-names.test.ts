import { describe, expect, it } from 'vitest';
import { groupOf, isDnsLabel, learnerKey, lessonKey, priorityClassPrefixOf, sandboxNamespace, slugify } from '../../server/sandboxes/names.ts';
import { renderSandbox } from '../../server/sandboxes/template.ts';

const awkward = [
  'Alice',
  'ALICE',
  'alice',
  'Zoë O’Brien',
  'Zoe O Brien',
  '李雷',
  '韩梅梅',
  '🙂🙃',
  '   spaces   everywhere   ',
  '--dashes--',
  'x'.repeat(200),
  `${'y'.repeat(199)}z`,
  'a.b@example.com',
  'Robert"); DROP TABLE learners;--',
];

describe('learner and lesson names', () => {
  it('become valid DNS-1123 labels, namespaces and label values for any input', () => {
    for (const name of awkward) {
      const key = learnerKey(name);
      const namespace = sandboxNamespace(name, 'advanced-kubernetes-patterns');
      expect(isDnsLabel(key), key).toBe(true);
      expect(isDnsLabel(namespace), namespace).toBe(true);
      expect(namespace.length).toBeLessThanOrEqual(63);
      expect(key.length).toBeLessThanOrEqual(63);
      expect(groupOf(namespace).length).toBeLessThanOrEqual(253);
      expect(priorityClassPrefixOf(namespace)).toBe(`${namespace}-`);
    }
  });

  it('never collide, even when they look alike after folding', () => {
    const keys = new Set(awkward.map(learnerKey));
    const namespaces = new Set(awkward.map((n) => sandboxNamespace(n, 'lesson')));
    expect(keys.size).toBe(awkward.length);
    expect(namespaces.size).toBe(awkward.length);
    // Same learner, different lessons; and stable across calls.
    expect(sandboxNamespace('Alice', 'a')).not.toBe(sandboxNamespace('Alice', 'b'));
    expect(sandboxNamespace('Zoë O’Brien', 'lesson')).toBe(sandboxNamespace('Zoë O’Brien', 'lesson'));
  });

  it('stay readable where they can', () => {
    expect(slugify('Zoë O’Brien', 40)).toBe('zoe-o-brien');
    expect(sandboxNamespace('Zoë O’Brien', 'advanced-kubernetes-patterns')).toMatch(/^kd-zoe-o-brien-advanced-kuberne-[0-9a-f]{10}$/);
    expect(sandboxNamespace('李雷', 'x')).toMatch(/^kd-learner-x-[0-9a-f]{10}$/);
    expect(lessonKey('kubernetes-fundamentals')).toBe('kubernetes-fundamentals');
    expect(isDnsLabel(lessonKey('A Lesson With Capitals'))).toBe(true);
  });
});

describe('the sandbox template', () => {
  const values = {
    namespace: 'kd-alice-x-0123456789',
    sandboxId: 'kd-alice-x-0123456789',
    learnerKey: learnerKey('Alice'),
    learnerName: 'Alice: {evil: yaml}\n---\nkind: ClusterRoleBinding',
    lesson: 'x',
    lessonKey: 'x',
    workshop: 'none',
    size: 'medium' as const,
    nodes: 'simulated' as const,
    createdAt: '2026-01-01T00:00:00.000Z',
    expiresAt: '2026-01-01T02:00:00.000Z',
  };

  it('renders the namespace first, then its quota, limits, RBAC and isolation policy', () => {
    const objects = renderSandbox(values);
    expect(objects[0]?.kind).toBe('Namespace');
    expect(objects.map((o) => o.kind).sort()).toEqual(
      ['ClusterRoleBinding', 'LimitRange', 'Namespace', 'NetworkPolicy', 'ResourceQuota', 'Role', 'RoleBinding', 'RoleBinding', 'ServiceAccount'].sort(),
    );
    for (const o of objects.slice(1)) if (o.kind !== 'ClusterRoleBinding') expect(o.metadata?.namespace).toBe(values.namespace);
    const quota = objects.find((o) => o.kind === 'ResourceQuota') as unknown as { spec: { hard: Record<string, string> } };
    expect(quota.spec.hard.pods).toBe('60');
  });

  it('keeps a hostile learner name as data, never as YAML', () => {
    const [namespace, ...rest] = renderSandbox(values);
    expect(namespace?.metadata?.annotations?.['kubedojo.dev/learner-name']).toBe(values.learnerName);
    // The scheduler's real-node plugin reads where the lab wants its Pods.
    expect(namespace?.metadata?.annotations?.['kubedojo.dev/nodes']).toBe('simulated');
    expect(rest.filter((o) => o.kind === 'ClusterRoleBinding')).toHaveLength(1);
  });
});
