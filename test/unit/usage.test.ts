import path from 'node:path';
import { KubeConfig, type V1ClusterRole } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { readManifests } from '../../server/cluster/apply.ts';
import { sandboxesDir } from '../../server/cluster/paths.ts';
import { clearSimulatedUsage, renderUsageObject, ruleCondition, setSimulatedUsage, type UsageRule } from '../../server/cluster/usage.ts';

/** A KubeConfig for a server that is never contacted: validation fails before any request. */
function unusedKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

const expiresAt = '2030-01-01T00:00:00.000Z';

describe('the simulated usage object', () => {
  it('is, with no rules, exactly sandboxes/kwok/usage.yaml (what `cluster up` creates)', async () => {
    const [fromFile] = await readManifests(path.join(sandboxesDir, 'kwok', 'usage.yaml'));
    expect(renderUsageObject([])).toEqual(fromFile);
  });

  it('writes one CEL branch per rule, newest first, each per pod and shared by its containers', () => {
    const rules: UsageRule[] = [
      { namespace: 'shop', selector: { matchLabels: { app: 'web' } }, cpu: '900m', memory: '64Mi', expiresAt },
      { namespace: 'shop', podNames: ['db-0'], cpu: '250m', expiresAt },
    ];
    const object = renderUsageObject(rules) as unknown as { metadata: { annotations: Record<string, string> }; spec: { usages: { usage: Record<string, { expression: string }> }[] } };
    const { cpu, memory } = object.spec.usages[0]?.usage ?? {};
    expect(cpu?.expression).toBe(
      'pod.metadata.namespace == "shop" && ("app" in pod.metadata.labels && pod.metadata.labels["app"] == "web") && Now() < timestamp("2030-01-01T00:00:00.000Z")\n' +
        '  ? Quantity("900m") / pod.spec.containers.size()\n' +
        '  : pod.metadata.namespace == "shop" && pod.metadata.name in ["db-0"] && Now() < timestamp("2030-01-01T00:00:00.000Z")\n' +
        '  ? Quantity("250m") / pod.spec.containers.size()\n' +
        '  : Quantity("1m")',
    );
    // The second rule sets no memory: its pods keep the default.
    expect(memory?.expression).not.toContain('db-0');
    expect(memory?.expression).toContain('Quantity("64Mi")');
    expect(memory?.expression.endsWith('Quantity("4Mi")')).toBe(true);
    expect(JSON.parse(object.metadata.annotations['kubedojo.dev/simulated-usage'] ?? '')).toEqual(rules);
  });

  it('translates every selector operator as Kubernetes defines it', () => {
    const condition = ruleCondition({
      namespace: 'ns',
      selector: {
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['a', 'b'] },
          { key: 'track', operator: 'NotIn', values: ['canary'] },
          { key: 'example.com/owner', operator: 'Exists' },
          { key: 'legacy', operator: 'DoesNotExist' },
        ],
      },
      cpu: '1',
      expiresAt,
    });
    expect(condition).toContain('("tier" in pod.metadata.labels && pod.metadata.labels["tier"] in ["a", "b"])');
    // NotIn also matches pods without the label.
    expect(condition).toContain('(!("track" in pod.metadata.labels) || !(pod.metadata.labels["track"] in ["canary"]))');
    expect(condition).toContain('("example.com/owner" in pod.metadata.labels)');
    expect(condition).toContain('!("legacy" in pod.metadata.labels)');
  });
});

describe('setSimulatedUsage and clearSimulatedUsage input', () => {
  const kc = unusedKubeConfig();

  it('refuses what is not a namespace, a quantity or a label, naming each field', async () => {
    const result = await setSimulatedUsage(kc, { namespace: 'Shop!', selector: { matchLabels: { 'app"': 'x' } }, cpu: '1 core', memory: '-5Mi' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.kind).toBe('invalid');
    for (const field of ['namespace', 'cpu', 'memory', 'selector.matchLabels']) expect(result.error.message).toContain(field);
  });

  it('wants either pod names or a selector, and sensible selector requirements', async () => {
    const both = await setSimulatedUsage(kc, { namespace: 'ns', podNames: ['a'], selector: {}, cpu: '1' } as never);
    expect(both.ok ? '' : both.error.message).toContain('exactly one of podNames and selector');
    const neither = await setSimulatedUsage(kc, { namespace: 'ns', cpu: '1' } as never);
    expect(neither.ok ? '' : neither.error.message).toContain('exactly one of podNames and selector');
    const noValues = await setSimulatedUsage(kc, { namespace: 'ns', selector: { matchExpressions: [{ key: 'a', operator: 'In' }] }, cpu: '1' });
    expect(noValues.ok ? '' : noValues.error.message).toContain('In and NotIn need values');
    const badOperator = await setSimulatedUsage(kc, { namespace: 'ns', selector: { matchExpressions: [{ key: 'a', operator: 'Like', values: ['x'] }] }, cpu: '1' });
    expect(badOperator.ok ? '' : badOperator.error.kind).toBe('invalid');
    const longTtl = await setSimulatedUsage(kc, { namespace: 'ns', podNames: ['a'], cpu: '1', ttlSeconds: 7 * 24 * 3600 });
    expect(longTtl.ok ? '' : longTtl.error.message).toContain('ttlSeconds');
    const clear = await clearSimulatedUsage(kc, { namespace: 'ns', podNames: [] as string[] });
    expect(clear.ok ? '' : clear.error.kind).toBe('invalid');
  });
});

describe('who may change the simulation', () => {
  it('is not a learner: their roles grant nothing on kwok.x-k8s.io, and no wildcard group', async () => {
    const roles = (await readManifests(path.join(sandboxesDir, 'policies', 'learner-roles.yaml'))) as V1ClusterRole[];
    expect(roles.map((r) => r.metadata?.name)).toEqual(['kubedojo:learner', 'kubedojo:learner-cluster']);
    for (const rule of roles.flatMap((r) => r.rules ?? [])) {
      expect(rule.apiGroups).not.toContain('kwok.x-k8s.io');
      expect(rule.apiGroups).not.toContain('*');
    }
  });
});
