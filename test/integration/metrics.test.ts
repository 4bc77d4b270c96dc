import { AppsV1Api, AutoscalingV2Api, Metrics, type KubeConfig, type KubernetesObject, type V1Deployment } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ClusterStatus } from '../../server/cluster/local.ts';
import { RawClient } from '../../server/cluster/raw.ts';
import { clearSimulatedUsage, listSimulatedUsage, setSimulatedUsage } from '../../server/cluster/usage.ts';
import type { SandboxAccess, SandboxService } from '../../server/sandboxes/service.ts';
import { runCli } from '../helpers/cli.ts';
import { adminKubeConfig, eventually, podsOf, withNamespace } from '../helpers/cluster.ts';
import { kubeConfigFrom, sandboxService } from '../helpers/sandboxes.ts';

/**
 * The metrics pipeline of the embedded cluster, end to end: kwok reports each node's and pod's
 * usage as a kubelet would, metrics-server serves metrics.k8s.io, and the real
 * HorizontalPodAutoscaler controller acts on simulated load set through server/cluster/usage.ts.
 */

let kc: KubeConfig;
let metrics: Metrics;

beforeAll(() => {
  kc = adminKubeConfig(inject('kubeconfig'));
  metrics = new Metrics(kc);
});

/** CPU quantity ("12345n", "5m", "1") in millicores. */
function millicores(quantity: string): number {
  const match = /^(\d+(?:\.\d+)?)(n|u|m)?$/.exec(quantity);
  if (!match) throw new Error(`unexpected CPU quantity ${quantity}`);
  const value = Number(match[1]);
  const unit = match[2];
  return unit === 'n' ? value / 1e6 : unit === 'u' ? value / 1e3 : unit === 'm' ? value : value * 1000;
}

/** Memory quantity ("4Mi", "4194304", "4096Ki") in MiB. */
function mebibytes(quantity: string): number {
  const match = /^(\d+)(Ki|Mi|Gi)?$/.exec(quantity);
  if (!match) throw new Error(`unexpected memory quantity ${quantity}`);
  const value = Number(match[1]);
  return match[2] === 'Ki' ? value / 1024 : match[2] === 'Mi' ? value : match[2] === 'Gi' ? value * 1024 : value / 1024 / 1024;
}

/** `kubectl top pod` for one namespace: pod name → { cpu millicores, memory MiB }. */
async function topPods(namespace: string): Promise<Map<string, { cpu: number; memory: number }>> {
  const list = await metrics.getPodMetrics(namespace);
  return new Map(
    list.items.map((p) => [
      p.metadata.name,
      {
        cpu: p.containers.reduce((sum, c) => sum + millicores(c.usage.cpu), 0),
        memory: p.containers.reduce((sum, c) => sum + mebibytes(c.usage.memory), 0),
      },
    ]),
  );
}

function web(replicas: number): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', labels: { app: 'web' } },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web', tier: 'frontend' } },
        spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu: '50m', memory: '32Mi' } } }] },
      },
    },
  };
}

async function runningPods(namespace: string, count: number): Promise<string[]> {
  return eventually(
    async () => {
      const pods = (await podsOf(kc, namespace, 'app=web')).filter((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp);
      return pods.length === count ? pods.map((p) => p.metadata?.name ?? '') : undefined;
    },
    `${count} Running pods`,
    30_000,
  );
}

describe('metrics-server in the embedded cluster', () => {
  it('is a component that `cluster status` shows running', async () => {
    const result = await runCli(['cluster', 'status', '--json', '--data-dir', inject('clusterDataDir')]);
    const status = JSON.parse(result.stdout) as ClusterStatus;
    const entry = status.components.find((c) => c.id === 'metrics-server');
    expect(entry?.state).toBe('running');
    expect(entry?.pid).toBeGreaterThan(0);
    expect(entry?.port).toBeGreaterThan(0);
    expect(result.code).toBe(0);
  });

  it('serves node metrics for every node, from kwok, like `kubectl top node`', async () => {
    const nodes = await eventually(
      async () => {
        const list = await metrics.getNodeMetrics();
        return list.items.length >= 7 ? list.items : undefined;
      },
      'metrics for every node',
      60_000,
      500,
    );
    for (const node of nodes) {
      // A node's own processes (kwok's Metric adds 100m and 512Mi) plus its pods'.
      expect(millicores(node.usage.cpu), node.metadata.name).toBeGreaterThanOrEqual(90);
      expect(mebibytes(node.usage.memory), node.metadata.name).toBeGreaterThanOrEqual(512);
    }
    expect(nodes.map((n) => n.metadata.name)).toEqual(expect.arrayContaining(['worker-a1', 'worker-b1', 'gpu-c1', 'batch-c1']));
  });
});

describe('simulated load and the real HorizontalPodAutoscaler', () => {
  it('keeps an idle HPA where it is, scales up on simulated CPU load, and back to idle usage when cleared', { timeout: 300_000 }, async () => {
    await withNamespace(kc, 'hpa', async (namespace) => {
      const appsApi = kc.makeApiClient(AppsV1Api);
      const autoscaling = kc.makeApiClient(AutoscalingV2Api);
      await appsApi.createNamespacedDeployment({ namespace, body: web(3) });
      const first = await runningPods(namespace, 3);

      // Idle pods report the default usage (1m CPU, 4Mi per container), like `kubectl top pod`.
      const idle = await eventually(
        async () => {
          const top = await topPods(namespace);
          return first.every((name) => top.has(name)) ? top : undefined;
        },
        'metrics for the 3 idle pods',
        90_000,
        500,
      );
      for (const name of first) {
        expect(idle.get(name)?.cpu).toBeLessThan(10);
        expect(idle.get(name)?.memory).toBe(4);
      }

      await autoscaling.createNamespacedHorizontalPodAutoscaler({
        namespace,
        body: {
          apiVersion: 'autoscaling/v2',
          kind: 'HorizontalPodAutoscaler',
          metadata: { name: 'web' },
          spec: {
            scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
            minReplicas: 2,
            maxReplicas: 10,
            metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } } }],
            behavior: { scaleUp: { policies: [{ type: 'Percent', value: 100, periodSeconds: 30 }] } },
          },
        },
      });
      // The controller reads the metrics (so it is really looking) and leaves 3 replicas alone.
      const seen = await eventually(
        async () => {
          const hpa = await autoscaling.readNamespacedHorizontalPodAutoscaler({ name: 'web', namespace });
          const utilization = hpa.status?.currentMetrics?.[0]?.resource?.current.averageUtilization;
          return utilization !== undefined ? { utilization, desired: hpa.status?.desiredReplicas } : undefined;
        },
        'the HPA to read CPU utilization',
        60_000,
        250,
      );
      expect(seen.utilization).toBeLessThan(60);
      const idleUntil = Date.now() + 12_000; // a few of the controller's 5 s syncs
      while (Date.now() < idleUntil) {
        const replicas = (await appsApi.readNamespacedDeployment({ name: 'web', namespace })).spec?.replicas;
        expect(replicas).toBe(3);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }

      // Load: 900m on a 50m request is 1800% of what the pods asked for.
      const selector = (await appsApi.readNamespacedDeployment({ name: 'web', namespace })).spec?.selector ?? {};
      const set = await setSimulatedUsage(kc, { namespace, selector, cpu: '900m', memory: '64Mi' });
      expect(set.ok, set.ok ? '' : set.error.message).toBe(true);
      const loadedAt = Date.now();
      const scaled = await eventually(
        async () => {
          const replicas = (await appsApi.readNamespacedDeployment({ name: 'web', namespace })).spec?.replicas ?? 0;
          return replicas >= 4 ? replicas : undefined;
        },
        'the HPA to scale the Deployment to at least 4 replicas',
        120_000,
        250,
      );
      const seconds = (Date.now() - loadedAt) / 1000;
      console.info(`metrics: the HPA scaled web from 3 to ${scaled} replicas ${seconds.toFixed(1)} s after the simulated load was set`);
      expect(seconds).toBeLessThan(120);

      // Pods made by the scale-up match the same selector, so they carry the load as well.
      const fresh = await eventually(
        async () => {
          const top = await topPods(namespace);
          const newcomer = [...top.entries()].find(([name]) => !first.includes(name));
          return newcomer;
        },
        'metrics for a pod created by the scale-up',
        90_000,
        500,
      );
      expect(fresh[1].cpu).toBeGreaterThan(800);
      expect(fresh[1].memory).toBe(64);
      const listed = await listSimulatedUsage(kc);
      expect(listed.ok && listed.value.filter((r) => r.namespace === namespace)).toEqual([
        expect.objectContaining({ namespace, selector: { matchLabels: { app: 'web' } }, cpu: '900m', memory: '64Mi' }),
      ]);

      const cleared = await clearSimulatedUsage(kc, { namespace, selector });
      expect(cleared).toEqual({ ok: true, value: { removed: 1 } });
      await eventually(
        async () => {
          const top = await topPods(namespace);
          return top.size > 0 && [...top.values()].every((p) => p.cpu < 10 && p.memory === 4) ? top : undefined;
        },
        'every pod back to idle usage',
        60_000,
        500,
      );
      const after = await listSimulatedUsage(kc);
      expect(after.ok && after.value.filter((r) => r.namespace === namespace)).toEqual([]);
    });
  });

  it('sets load on pods by name, and clears a whole namespace at once', { timeout: 120_000 }, async () => {
    await withNamespace(kc, 'byname', async (namespace) => {
      await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({ namespace, body: web(2) });
      const [loaded = '', other = ''] = await runningPods(namespace, 2);
      const set = await setSimulatedUsage(kc, { namespace, podNames: [loaded], cpu: '250m' });
      expect(set.ok).toBe(true);
      const top = await eventually(
        async () => {
          const t = await topPods(namespace);
          return (t.get(loaded)?.cpu ?? 0) > 200 && t.has(other) ? t : undefined;
        },
        `the load on ${loaded}`,
        90_000,
        500,
      );
      expect(top.get(other)?.cpu).toBeLessThan(10);
      // Memory was not given: the pod keeps the default.
      expect(top.get(loaded)?.memory).toBe(4);
      expect(await clearSimulatedUsage(kc, { namespace })).toEqual({ ok: true, value: { removed: 1 } });
      expect(await clearSimulatedUsage(kc, { namespace })).toEqual({ ok: true, value: { removed: 0 } });
    });
  });

  it('keeps every rule when many callers set usage at once (writes are conditional and retried)', async () => {
    const namespaces = Array.from({ length: 8 }, (_, i) => `concurrent-usage-${i}`);
    const results = await Promise.all(namespaces.map((namespace) => setSimulatedUsage(kc, { namespace, selector: { matchLabels: { app: 'web' } }, cpu: '100m', ttlSeconds: 60 })));
    expect(results.every((r) => r.ok)).toBe(true);
    const listed = await listSimulatedUsage(kc);
    expect(listed.ok && listed.value.map((r) => r.namespace)).toEqual(expect.arrayContaining(namespaces));
    const cleared = await Promise.all(namespaces.map((namespace) => clearSimulatedUsage(kc, { namespace })));
    expect(cleared).toEqual(namespaces.map(() => ({ ok: true, value: { removed: 1 } })));
  });

  it('rejects a malformed request as invalid, naming the field, without touching the cluster', async () => {
    const bad = await setSimulatedUsage(kc, { namespace: 'Not_A_Namespace', selector: { matchLabels: { app: 'web' } }, cpu: 'lots' });
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.error.kind).toBe('invalid');
      expect(bad.error.message).toContain('namespace');
      expect(bad.error.message).toContain('cpu');
    }
  });
});

describe('learners and the simulation', () => {
  let service: SandboxService;
  let access: SandboxAccess;

  beforeAll(async () => {
    service = await sandboxService(inject('kubeconfig'));
    access = await service.create({ learnerId: 'metrics-learner', lesson: 'advanced-kubernetes-patterns' });
  });

  afterAll(async () => {
    await service.delete(access.sandbox.namespace, { wait: false });
    service.stop();
  });

  it('may read metrics in their sandbox but has no rights on kwok.x-k8s.io', async () => {
    const learner = new RawClient(kubeConfigFrom(access.kubeconfig));
    const namespace = access.sandbox.namespace;
    const podMetrics = await learner.request('GET', `/apis/metrics.k8s.io/v1beta1/namespaces/${namespace}/pods`);
    expect(podMetrics.ok, podMetrics.ok ? '' : podMetrics.error.message).toBe(true);
    const usage: KubernetesObject = {
      apiVersion: 'kwok.x-k8s.io/v1alpha1',
      kind: 'ClusterResourceUsage',
      metadata: { name: 'learner-load' },
    };
    const list = await learner.request('GET', '/apis/kwok.x-k8s.io/v1alpha1/clusterresourceusages');
    expect(list.ok).toBe(false);
    if (!list.ok) expect(list.error.kind).toBe('forbidden');
    for (const attempt of [
      learner.request('POST', '/apis/kwok.x-k8s.io/v1alpha1/clusterresourceusages', { ...usage, spec: { usages: [{ usage: { cpu: { value: '4' } } }] } }),
      learner.request('PATCH', '/apis/kwok.x-k8s.io/v1alpha1/clusterresourceusages/kubedojo-simulated-usage', { spec: {} }, 'application/merge-patch+json'),
      learner.request('DELETE', '/apis/kwok.x-k8s.io/v1alpha1/clusterresourceusages/kubedojo-simulated-usage'),
    ]) {
      const result = await attempt;
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error.kind).toBe('forbidden');
    }
    // Nor through the platform's simulation API with their own credentials.
    const viaModule = await setSimulatedUsage(kubeConfigFrom(access.kubeconfig), { namespace, selector: {}, cpu: '4' });
    expect(viaModule.ok).toBe(false);
    if (!viaModule.ok) expect(viaModule.error.kind).toBe('forbidden');
  });
});
