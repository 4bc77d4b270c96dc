import {
  AdmissionregistrationV1Api,
  ApiException,
  AppsV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1Node,
} from '@kubernetes/client-node';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { deployment, pod } from '../factories/workloads.ts';
import { adminKubeConfig, eventually, podsOf, uniqueName, withNamespace } from '../helpers/cluster.ts';

/**
 * Proves the embedded cluster is a real Kubernetes control plane: the controllers, the
 * scheduler, admission and garbage collection all act, with only the nodes simulated.
 */

let kc: KubeConfig;
let core: CoreV1Api;
let appsApi: AppsV1Api;
let nodes: V1Node[];

beforeAll(async () => {
  kc = adminKubeConfig(inject('kubeconfig'));
  core = kc.makeApiClient(CoreV1Api);
  appsApi = kc.makeApiClient(AppsV1Api);
  nodes = (await core.listNode()).items;
});

const nodeNames = (predicate: (n: V1Node) => boolean) => new Set(nodes.filter(predicate).map((n) => n.metadata?.name ?? ''));

async function boundNode(namespace: string, name: string): Promise<string> {
  return eventually(async () => {
    const p = await core.readNamespacedPod({ name, namespace });
    return p.spec?.nodeName ?? undefined;
  }, `pod ${name} to be bound`);
}

describe('the node pool', () => {
  it('has at least 6 Ready nodes over 3 zones, 2 GPU nodes and a tainted dedicated node', () => {
    const ready = nodes.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    expect(ready.length).toBeGreaterThanOrEqual(6);
    expect(new Set(nodes.map((n) => n.metadata?.labels?.['topology.kubernetes.io/zone'])).size).toBeGreaterThanOrEqual(3);
    expect(nodes.filter((n) => n.metadata?.labels?.accelerator).length).toBeGreaterThanOrEqual(2);
    expect(nodes.filter((n) => n.spec?.taints?.some((t) => t.effect === 'NoSchedule')).length).toBeGreaterThanOrEqual(1);
    for (const n of nodes) expect(n.metadata?.labels?.['kubernetes.io/hostname']).toBe(n.metadata?.name);
    for (const n of nodes) expect(Number.parseInt(n.status?.allocatable?.pods ?? '0', 10)).toBeGreaterThan(0);
  });
});

describe('controllers and the scheduler', () => {
  it('turns a Deployment into a ReplicaSet and Running pods with IPs', async () => {
    await withNamespace(kc, 'deploy', async (namespace) => {
      await appsApi.createNamespacedDeployment({ namespace, body: deployment('web', 3) });
      const rs = await eventually(async () => {
        const list = await appsApi.listNamespacedReplicaSet({ namespace, labelSelector: 'app=web' });
        return list.items.length === 1 ? list.items[0] : undefined;
      }, 'a ReplicaSet');
      expect(rs.metadata?.ownerReferences?.[0]?.kind).toBe('Deployment');
      const running = await eventually(async () => {
        const pods = await podsOf(kc, namespace, 'app=web');
        const ok = pods.filter((p) => p.status?.phase === 'Running' && p.status.podIP && p.spec?.nodeName);
        return ok.length === 3 ? ok : undefined;
      }, '3 Running pods');
      for (const p of running) expect(p.status?.podIP).toMatch(/^10\.244\./);
      const dep = await eventually(async () => {
        const d = await appsApi.readNamespacedDeployment({ name: 'web', namespace });
        return d.status?.availableReplicas === 3 ? d : undefined;
      }, 'the Deployment to be available');
      expect(dep.status?.readyReplicas).toBe(3);
    });
  });

  it('binds a pod with required node affinity on `accelerator` only to a GPU node', async () => {
    const gpuNodes = nodeNames((n) => n.metadata?.labels?.accelerator !== undefined);
    await withNamespace(kc, 'affinity', async (namespace) => {
      const names = ['gpu-1', 'gpu-2', 'gpu-3', 'gpu-4'];
      await Promise.all(
        names.map((name) =>
          core.createNamespacedPod({
            namespace,
            body: pod(name, {
              affinity: {
                nodeAffinity: {
                  requiredDuringSchedulingIgnoredDuringExecution: {
                    nodeSelectorTerms: [{ matchExpressions: [{ key: 'accelerator', operator: 'Exists' }] }],
                  },
                },
              },
            }),
          }),
        ),
      );
      for (const name of names) expect(gpuNodes).toContain(await boundNode(namespace, name));
    });
  });

  it('never binds a pod without a toleration to the tainted node, and binds one with it', async () => {
    const tainted = nodeNames((n) => n.spec?.taints?.some((t) => t.effect === 'NoSchedule') ?? false);
    const [dedicated] = [...tainted];
    expect(dedicated).toBeDefined();
    await withNamespace(kc, 'taints', async (namespace) => {
      // Pinned to the tainted node's label without a toleration: must stay Pending, unschedulable.
      await core.createNamespacedPod({ namespace, body: pod('no-toleration', { nodeSelector: { dedicated: 'batch' } }) });
      // Ordinary pods, as learners write them: all land on untainted nodes.
      await appsApi.createNamespacedDeployment({ namespace, body: deployment('plain', 12) });
      const plain = await eventually(async () => {
        const pods = await podsOf(kc, namespace, 'app=plain');
        return pods.length === 12 && pods.every((p) => p.spec?.nodeName) ? pods : undefined;
      }, '12 plain pods to be bound');
      for (const p of plain) expect(tainted).not.toContain(p.spec?.nodeName);

      const reason = await eventually(async () => {
        const p = await core.readNamespacedPod({ name: 'no-toleration', namespace });
        const condition = p.status?.conditions?.find((c) => c.type === 'PodScheduled');
        return condition?.status === 'False' ? condition : undefined;
      }, 'the scheduler to report the pod unschedulable');
      expect(reason.reason).toBe('Unschedulable');
      expect(reason.message).toMatch(/untolerated taint/);
      expect((await core.readNamespacedPod({ name: 'no-toleration', namespace })).spec?.nodeName).toBeUndefined();

      await core.createNamespacedPod({
        namespace,
        body: pod('with-toleration', {
          nodeSelector: { dedicated: 'batch' },
          tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'batch', effect: 'NoSchedule' }],
        }),
      });
      expect(await boundNode(namespace, 'with-toleration')).toBe(dedicated);
    });
  });
});

describe('admission and quota', () => {
  it('computes ResourceQuota status and rejects a pod over it with the API message', async () => {
    await withNamespace(kc, 'quota', async (namespace) => {
      await core.createNamespacedResourceQuota({
        namespace,
        body: { metadata: { name: 'small' }, spec: { hard: { pods: '2', 'requests.cpu': '1', 'requests.memory': '1Gi' } } },
      });
      await eventually(async () => {
        const q = await core.readNamespacedResourceQuota({ name: 'small', namespace });
        return q.status?.hard?.pods === '2' ? q : undefined;
      }, 'the quota controller to fill in status.hard');
      await core.createNamespacedPod({ namespace, body: pod('one') });
      const used = await eventually(async () => {
        const q = await core.readNamespacedResourceQuota({ name: 'small', namespace });
        return q.status?.used?.pods === '1' ? q : undefined;
      }, 'status.used to count the pod');
      expect(used.status?.used?.['requests.cpu']).toBe('100m');

      const big = pod('too-big');
      const container = big.spec?.containers[0];
      if (container) container.resources = { requests: { cpu: '2', memory: '64Mi' }, limits: { cpu: '2', memory: '64Mi' } };
      const error = await core.createNamespacedPod({ namespace, body: big }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ApiException);
      expect((error as ApiException<string>).code).toBe(403);
      expect((error as ApiException<string>).body).toMatch(/exceeded quota: small, requested: requests.cpu=2/);
    });
  });

  it('enforces a ValidatingAdmissionPolicy on requests it matches', async () => {
    const admission = kc.makeApiClient(AdmissionregistrationV1Api);
    const name = uniqueName('no-latest');
    await admission.createValidatingAdmissionPolicy({
      body: {
        metadata: { name },
        spec: {
          failurePolicy: 'Fail',
          matchConstraints: { resourceRules: [{ apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['deployments'] }] },
          validations: [
            {
              expression: "object.spec.template.spec.containers.all(c, !c.image.endsWith(':latest'))",
              message: 'images must be pinned, not :latest',
            },
          ],
        },
      },
    });
    await withNamespace(kc, 'vap', async (namespace) => {
      await admission.createValidatingAdmissionPolicyBinding({
        body: {
          metadata: { name },
          spec: {
            policyName: name,
            validationActions: ['Deny'],
            matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } } },
          },
        },
      });
      try {
        const latest = deployment('latest', 1);
        const container = latest.spec?.template.spec?.containers[0];
        if (container) container.image = 'nginx:latest';
        // The policy takes effect once the apiserver's policy informer has seen it.
        const denied = await eventually(async () => {
          const error = await appsApi.createNamespacedDeployment({ namespace, body: latest, dryRun: 'All' }).then(
            () => undefined,
            (e: unknown) => e,
          );
          return error instanceof ApiException ? error : undefined;
        }, 'the policy to deny a :latest image');
        expect(denied.code).toBe(422);
        expect(String(denied.body)).toContain('images must be pinned, not :latest');
        // A request it does not match is admitted.
        await appsApi.createNamespacedDeployment({ namespace, body: deployment('pinned', 1) });
      } finally {
        await admission.deleteValidatingAdmissionPolicyBinding({ name });
        await admission.deleteValidatingAdmissionPolicy({ name });
      }
    });
  });
});

describe('garbage collection', () => {
  it('deletes dependents when their owner is deleted', async () => {
    await withNamespace(kc, 'gc', async (namespace) => {
      const owner = await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'owner' }, data: { a: '1' } } });
      const ownerReferences = [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true }];
      for (const name of ['child-1', 'child-2']) await core.createNamespacedConfigMap({ namespace, body: { metadata: { name, ownerReferences }, data: {} } });
      await appsApi.createNamespacedDeployment({ namespace, body: deployment('collected', 2) });
      await eventually(async () => ((await podsOf(kc, namespace, 'app=collected')).length === 2 ? true : undefined), 'the deployment pods');

      await core.deleteNamespacedConfigMap({ name: 'owner', namespace });
      await appsApi.deleteNamespacedDeployment({ name: 'collected', namespace, propagationPolicy: 'Background' });
      await eventually(async () => {
        const left = (await core.listNamespacedConfigMap({ namespace })).items.filter((c) => c.metadata?.name?.startsWith('child-'));
        return left.length === 0 ? true : undefined;
      }, 'the dependent ConfigMaps to be collected');
      await eventually(async () => {
        const rs = await appsApi.listNamespacedReplicaSet({ namespace, labelSelector: 'app=collected' });
        const pods = await podsOf(kc, namespace, 'app=collected');
        return rs.items.length === 0 && pods.length === 0 ? true : undefined;
      }, 'the ReplicaSet and its pods to be collected');
    });
  });
});
