import type { V1Node } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { readManifests } from '../../server/cluster/apply.ts';
import { nodePoolFile } from '../../server/cluster/local.ts';

describe('the node pool definition (sandboxes/cluster/nodepool.yaml)', () => {
  it('serves the scheduling lessons: zones, GPU nodes, a dedicated tainted node, realistic capacity', async () => {
    const nodes = (await readManifests(nodePoolFile)) as V1Node[];
    expect(nodes.length).toBeGreaterThanOrEqual(6);
    const zones = new Set(nodes.map((n) => n.metadata?.labels?.['topology.kubernetes.io/zone']));
    expect(zones.size).toBeGreaterThanOrEqual(3);
    const gpu = nodes.filter((n) => n.metadata?.labels?.accelerator);
    expect(gpu.length).toBeGreaterThanOrEqual(2);
    for (const n of gpu) expect(Number(n.status?.capacity?.['nvidia.com/gpu'])).toBeGreaterThan(0);
    const tainted = nodes.filter((n) => n.spec?.taints?.some((t) => t.effect === 'NoSchedule'));
    expect(tainted.length).toBeGreaterThanOrEqual(1);
    // Ordinary nodes remain for learners' pods that carry no toleration.
    expect(nodes.length - tainted.length).toBeGreaterThanOrEqual(5);
    for (const n of nodes) {
      expect(n.kind).toBe('Node');
      expect(n.metadata?.labels?.['kubernetes.io/hostname']).toBe(n.metadata?.name);
      expect(n.status?.capacity?.cpu).toMatch(/^\d+$/);
      expect(n.status?.capacity?.memory).toMatch(/^\d+Gi$/);
      expect(n.status?.allocatable?.pods).toBe('110');
      // metrics-server scrapes the node where kwok serves its kubelet metrics.
      expect(n.metadata?.annotations?.['metrics.k8s.io/resource-metrics-path']).toBe(`/metrics/nodes/${n.metadata?.name ?? ''}/metrics/resource`);
    }
    expect(new Set(nodes.map((n) => n.metadata?.name)).size).toBe(nodes.length);
  });
});
