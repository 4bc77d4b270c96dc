import { describe, expect, it } from 'vitest';
import { ComponentGraph } from '../../server/cluster/component-graph.ts';
import { NODE_DOWN_GRAPH, NODE_UP_GRAPH } from '../../server/cluster/node/start-plan.ts';
import { CLUSTER_GRAPH } from '../../server/cluster/start-plan.ts';

/** A run that finishes when the test says, recording when each component began and ended. */
function recorder<Id extends string>() {
  const events: string[] = [];
  const pending = new Map<Id, { resolve: () => void; reject: (e: Error) => void }>();
  const run = (id: Id) =>
    new Promise<void>((resolve, reject) => {
      events.push(`+${id}`);
      pending.set(id, {
        resolve: () => {
          events.push(`-${id}`);
          resolve();
        },
        reject,
      });
    });
  const settle = async () => {
    for (let i = 0; i < 5; i += 1) await Promise.resolve();
  };
  /** Finishes a component that has begun; fails the test if it has not. */
  const finish = async (id: Id, error?: Error) => {
    await settle();
    const p = pending.get(id);
    if (!p) throw new Error(`${id} has not begun (events: ${events.join(' ')})`);
    pending.delete(id);
    if (error) p.reject(error);
    else p.resolve();
    await settle();
  };
  return { events, run, finish, begun: () => [...pending.keys()].sort() };
}

type Id = 'a' | 'b' | 'c' | 'd';

describe('ComponentGraph', () => {
  const graph = new ComponentGraph<Id>({ a: [], b: ['a'], c: ['a'], d: ['b', 'c'] });

  it('groups components into waves that need only earlier waves', () => {
    expect(graph.levels()).toEqual([['a'], ['b', 'c'], ['d']]);
  });

  it('refuses a need that is not a component, and a cycle', () => {
    expect(() => new ComponentGraph({ a: ['x' as 'a'] })).toThrow('a needs x, which is not a component');
    expect(() => new ComponentGraph<Id>({ a: ['c'], b: ['a'], c: ['b'], d: [] })).toThrow('the start graph has a cycle among a, b, c');
  });

  it('starts each component once all it needs have started, side by side where they can', async () => {
    const r = recorder<Id>();
    const started = graph.start(r.run);
    await r.finish('a');
    expect(r.begun()).toEqual(['b', 'c']);
    await r.finish('b');
    // d needs c too.
    expect(r.begun()).toEqual(['c']);
    await r.finish('c');
    await r.finish('d');
    await started;
    expect(r.events).toEqual(['+a', '-a', '+b', '+c', '-b', '-c', '+d', '-d']);
  });

  it('stops in reverse: a component once everything that needs it has stopped', async () => {
    const r = recorder<Id>();
    const stopped = graph.stop(r.run);
    expect(r.begun()).toEqual(['d']);
    await r.finish('d');
    expect(r.begun()).toEqual(['b', 'c']);
    await r.finish('c');
    expect(r.begun()).toEqual(['b']);
    await r.finish('b');
    await r.finish('a');
    await stopped;
    expect(r.events.at(-1)).toBe('-a');
  });

  it('after a failure starts nothing more, waits for what runs, then throws the first error', async () => {
    const r = recorder<Id>();
    let settled = false;
    const started = graph.start(r.run).finally(() => {
      settled = true;
    });
    const outcome = started.catch((e: unknown) => e);
    await r.finish('a');
    await r.finish('b', new Error('b broke'));
    expect(settled).toBe(false);
    await r.finish('c', new Error('c broke too'));
    expect(await outcome).toEqual(new Error('b broke'));
    expect(r.events).not.toContain('+d');
  });

  it('treats a run that throws at once like one that rejects', async () => {
    const one = new ComponentGraph<'a' | 'b'>({ a: [], b: ['a'] });
    await expect(
      one.start((id) => {
        if (id === 'a') throw new Error('no a');
        return Promise.resolve();
      }),
    ).rejects.toThrow('no a');
  });
});

describe("the embedded cluster's start graph", () => {
  it('starts etcd, then the API server, then the rest as early as their needs allow, the real node last', () => {
    expect(CLUSTER_GRAPH.levels()).toEqual([
      ['etcd'],
      ['kube-apiserver'],
      ['kube-controller-manager', 'kube-scheduler', 'bootstrap'],
      ['kwok', 'metrics-server'],
      ['node-pool', 'metrics-api'],
      ['real-node'],
    ]);
  });

  it('stops the real node first and etcd last', async () => {
    const order: string[] = [];
    await CLUSTER_GRAPH.stop((id) => {
      order.push(id);
      return Promise.resolve();
    });
    expect(order[0]).toBe('real-node');
    expect(order.at(-1)).toBe('etcd');
    expect(order.indexOf('kube-apiserver')).toBeGreaterThan(Math.max(order.indexOf('kwok'), order.indexOf('kube-controller-manager'), order.indexOf('metrics-server')));
  });
});

describe("the real node's graphs", () => {
  const order = async <Id extends string>(graph: ComponentGraph<Id>): Promise<Id[]> => {
    const seen: Id[] = [];
    await graph.start((id) => {
      seen.push(id);
      return Promise.resolve();
    });
    return seen;
  };

  it('fences the network before the kubelet runs a Pod, and waits for Ready only after the kubelet', async () => {
    const up = await order(NODE_UP_GRAPH);
    expect(up.indexOf('kube-network-policies')).toBeLessThan(up.indexOf('kubelet'));
    expect(up.indexOf('images')).toBeGreaterThan(up.indexOf('containerd'));
    expect(up.indexOf('images')).toBeLessThan(up.indexOf('kubelet'));
    for (const after of ['kube-proxy', 'coredns', 'ready'] as const) expect(up.indexOf(after)).toBeGreaterThan(up.indexOf('kubelet'));
    expect(NODE_UP_GRAPH.levels()[0]).toEqual(['api-bridge', 'containerd', 'node-objects']);
  });

  it('removes the Pods after the kubelet stops and before containerd does, the network last', async () => {
    const down = await order(NODE_DOWN_GRAPH);
    expect(down[0]).toBe('kubelet');
    expect(down.indexOf('pods')).toBeLessThan(down.indexOf('containerd'));
    expect(down.indexOf('shims')).toBeGreaterThan(down.indexOf('containerd'));
    expect(down.at(-1)).toBe('network');
  });
});
