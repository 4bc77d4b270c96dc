import { AppsV1Api, CoreV1Api, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { call, type ApiResult } from '../../server/cluster/api.ts';
import { RawClient } from '../../server/cluster/raw.ts';
import { silentLogger } from '../../server/logger.ts';
import { DEFAULT_OBJECT_LIMITS, ObjectLimitWebhook } from '../../server/sandboxes/object-limits.ts';
import { DEFAULT_FENCES } from '../../server/sandboxes/policies.ts';
import type { SandboxAccess, SandboxService } from '../../server/sandboxes/service.ts';
import { adminKubeConfig, eventually } from '../helpers/cluster.ts';
import { kubeConfigFrom, sandboxService, withToken } from '../helpers/sandboxes.ts';

/**
 * A hostile learner, with nothing but their sandbox's own kubeconfig, against the real cluster
 * (issue 11): every attempt must be refused with a message that says why, and what a lesson asks
 * of them (their CRD, a PriorityClass in range, a ClusterIP Service, an Ingress on their own
 * host) must still work.
 */

let sandboxes: SandboxService;
let alice: SandboxAccess;
let bob: SandboxAccess;
let aliceKc: KubeConfig;
let raw: RawClient;
let ns: string;
let limits: { close(): Promise<void> };

function refused(result: ApiResult<unknown>, ...saying: (string | RegExp)[]): string {
  expect(result.ok, 'the attack should have been refused').toBe(false);
  if (result.ok) return '';
  for (const text of saying) expect(result.error.message).toMatch(text);
  return result.error.message;
}

function accepted(result: ApiResult<unknown>): void {
  expect(result.ok ? 'accepted' : result.error.message).toBe('accepted');
}

const crd = (group: string, plural = 'widgets', extra: Record<string, unknown> = {}): KubernetesObject =>
  ({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { kind: plural.charAt(0).toUpperCase() + plural.slice(1, -1), plural },
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
      ...extra,
    },
  }) as KubernetesObject;

const priorityClass = (name: string, value: number): KubernetesObject => ({ apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name }, value }) as KubernetesObject;

const service = (name: string, spec: Record<string, unknown>): KubernetesObject =>
  ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { selector: { app: name }, ports: [{ port: 80 }], ...spec } }) as KubernetesObject;

const ingress = (name: string, spec: Record<string, unknown>): KubernetesObject => ({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name, namespace: ns }, spec }) as KubernetesObject;

const backend = { service: { name: 'web', port: { number: 80 } } };
const rule = (host?: string) => ({ ...(host ? { host } : {}), http: { paths: [{ path: '/', pathType: 'Prefix', backend }] } });

beforeAll(async () => {
  const kubeconfig = inject('kubeconfig');
  sandboxes = await sandboxService(kubeconfig);
  [alice, bob] = await Promise.all([sandboxes.create({ learnerId: 'mallory', lesson: 'kubernetes-fundamentals' }), sandboxes.create({ learnerId: 'bob', lesson: 'kubernetes-fundamentals' })]);
  aliceKc = kubeConfigFrom(alice.kubeconfig);
  raw = new RawClient(aliceKc);
  ns = alice.sandbox.namespace;
  limits = await new ObjectLimitWebhook({ kubeConfig: adminKubeConfig(kubeconfig), limits: DEFAULT_OBJECT_LIMITS, logger: silentLogger() }).start();
});

afterAll(async () => {
  await limits.close();
  for (const access of [alice, bob]) await sandboxes.delete(access.sandbox.namespace).catch(() => undefined);
});

describe('every identity of a sandbox is fenced, not only kubedojo-learner', () => {
  it('a second service account bound to kubedojo:learner cannot delete the isolation NetworkPolicy', async () => {
    accepted(await raw.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'helper', namespace: ns } }));
    accepted(
      await raw.create({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'helper', namespace: ns },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'kubedojo:learner' },
        subjects: [{ kind: 'ServiceAccount', name: 'helper', namespace: ns }],
      } as KubernetesObject),
    );
    const token = await call(() => aliceKc.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({ name: 'helper', namespace: ns, body: { spec: { audiences: [], expirationSeconds: 600 } } }));
    if (!token.ok) throw new Error(token.error.message);
    const helper = new RawClient(withToken(aliceKc, token.value.status?.token ?? ''));
    const path = `/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies/kubedojo-isolation`;
    // RBAC lets the helper through (it holds kubedojo:learner here); the fence stops it.
    refused(await helper.delete(path), 'NetworkPolicy kubedojo-isolation is managed by kubedojo');
    refused(await helper.delete(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings/kubedojo-learner`), 'RoleBinding kubedojo-learner is managed by kubedojo');
    // The helper can still do a learner's ordinary work.
    accepted(await helper.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'made-by-helper', namespace: ns } }));
    expect((await call(() => aliceKc.makeApiClient(CoreV1Api).readNamespacedConfigMap({ name: 'made-by-helper', namespace: ns }))).ok).toBe(true);
  });
});

describe('CustomResourceDefinitions', () => {
  it('refuses a conversion webhook (the API server would call etcd for the learner) and accepts their own CRD', async () => {
    const webhook = { conversion: { strategy: 'Webhook', webhook: { conversionReviewVersions: ['v1'], clientConfig: { url: 'https://127.0.0.1:2379/v3/kv/range' } } } };
    refused(await raw.create(crd(alice.sandbox.group, 'gadgets', webhook)), 'may not use a conversion webhook', 'strategy must be None');
    accepted(await raw.create(crd(alice.sandbox.group, 'widgets', { conversion: { strategy: 'None' } })));
    await eventually(async () => ((await raw.create({ apiVersion: `${alice.sandbox.group}/v1`, kind: 'Widget', metadata: { name: 'w1', namespace: ns } })).ok ? true : undefined), 'a Widget in the learner group');
  });

  it(`bounds how many one sandbox may own (${DEFAULT_OBJECT_LIMITS.crds})`, async () => {
    const results: ApiResult<unknown>[] = [];
    for (let i = 0; i < DEFAULT_OBJECT_LIMITS.crds + 2; i += 1) results.push(await raw.create(crd(alice.sandbox.group, `things${i}s`)));
    // One CRD (widgets) exists from the test above.
    expect(results.filter((r) => r.ok)).toHaveLength(DEFAULT_OBJECT_LIMITS.crds - 1);
    refused(results.at(-1) ?? { ok: true, value: null }, `already owns ${DEFAULT_OBJECT_LIMITS.crds} CustomResourceDefinitions`, 'delete one first');
  });
});

describe('PriorityClasses', () => {
  it('refuses a value above the learner range (1,000,000,000 preempts everyone) and accepts one in range', async () => {
    refused(await raw.create(priorityClass(`${ns}-top`, 1_000_000_000)), `up to ${DEFAULT_FENCES.learnerPriorityMax}`, 'belong to the platform');
    accepted(await raw.create(priorityClass(`${ns}-batch-low`, 1000)));
  });

  it(`refuses the ${DEFAULT_OBJECT_LIMITS.priorityClasses + 1}th of 30 in a row`, async () => {
    const results: ApiResult<unknown>[] = [];
    for (let i = 0; i < 30; i += 1) results.push(await raw.create(priorityClass(`${ns}-p${i}`, i)));
    // batch-low exists already.
    expect(results.filter((r) => r.ok)).toHaveLength(DEFAULT_OBJECT_LIMITS.priorityClasses - 1);
    for (const result of results.slice(DEFAULT_OBJECT_LIMITS.priorityClasses)) refused(result, `already owns ${DEFAULT_OBJECT_LIMITS.priorityClasses} PriorityClasses`);
  });

  it('refuses a Pod with system-node-critical, also when a Deployment asks for it, and runs one with their own class', async () => {
    const pod = (name: string, priorityClassName: string): KubernetesObject =>
      ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns }, spec: { priorityClassName, containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }] } }) as KubernetesObject;
    refused(await raw.create(pod('critical', 'system-node-critical')), `may only use its own PriorityClasses`, 'not system-node-critical');
    // Another learner's class, in range and existing, is theirs alone.
    accepted(await new RawClient(kubeConfigFrom(bob.kubeconfig)).create(priorityClass(`${bob.sandbox.namespace}-shared`, 10)));
    refused(await raw.create(pod('borrowed', `${bob.sandbox.namespace}-shared`)), 'may only use its own PriorityClasses');
    accepted(await raw.create(pod('polite', `${ns}-batch-low`)));
    // Through a controller: the ReplicaSet controller creates the Pods, and they are refused too.
    accepted(
      await raw.create({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'sneaky', namespace: ns },
        spec: { replicas: 1, selector: { matchLabels: { app: 'sneaky' } }, template: { metadata: { labels: { app: 'sneaky' } }, spec: { priorityClassName: 'system-cluster-critical', containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }] } } },
      } as KubernetesObject),
    );
    const failure = await eventually(async () => {
      const sets = await aliceKc.makeApiClient(AppsV1Api).listNamespacedReplicaSet({ namespace: ns, labelSelector: 'app=sneaky' });
      return sets.items[0]?.status?.conditions?.find((c) => c.type === 'ReplicaFailure')?.message;
    }, "the ReplicaSet's refusal");
    expect(failure).toContain('may only use its own PriorityClasses');
    const pods = await aliceKc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: ns, labelSelector: 'app=sneaky' });
    expect(pods.items).toHaveLength(0);
  });
});

describe('Services', () => {
  it('refuses externalIPs (CVE-2020-8554)', async () => {
    // The embedded API server's DenyServiceExternalIPs plugin answers first; on another cluster
    // the kubedojo-sandbox-services policy says "may not set spec.externalIPs".
    refused(await raw.create(service('intercept', { externalIPs: ['8.8.8.8'] })), /external IPs is denied|may not set spec\.externalIPs/);
    accepted(await raw.create(service('plain', {})));
    refused(await raw.mergePatch({ ...service('plain', { externalIPs: ['10.0.0.1'] }) }), /external IPs is denied|may not set spec\.externalIPs/);
  });

  it('bounds NodePorts by the size, refuses LoadBalancers by default, and accepts a ClusterIP Service', async () => {
    accepted(await raw.create(service('web', { type: 'ClusterIP' })));
    refused(await raw.create(service('lb', { type: 'LoadBalancer' })), 'exceeded quota: kubedojo-quota', 'services.loadbalancers=0');
    accepted(await raw.create(service('np1', { type: 'NodePort' })));
    accepted(await raw.create(service('np2', { type: 'NodePort' })));
    refused(await raw.create(service('np3', { type: 'NodePort' })), 'exceeded quota: kubedojo-quota', 'services.nodeports=2');
  });
});

describe('Ingresses', () => {
  const own = () => `${ns}.${DEFAULT_FENCES.sandboxDomain}`;

  it("refuses any host outside the sandbox's own domain, catch-alls included", async () => {
    refused(await raw.create(ingress('takeover', { rules: [rule('kubedojo.example.com')] })), `must be ${own()}`, 'not kubedojo.example.com');
    refused(await raw.create(ingress('neighbour', { rules: [rule(`${bob.sandbox.namespace}.${DEFAULT_FENCES.sandboxDomain}`)] })), `must be ${own()}`);
    refused(await raw.create(ingress('suffix-trick', { rules: [rule(`x${own()}`)] })), `must be ${own()}`);
    refused(await raw.create(ingress('catch-all', { rules: [rule()] })), 'no host: every host');
    refused(await raw.create(ingress('default', { defaultBackend: backend })), 'may not have a defaultBackend');
    refused(await raw.create(ingress('tls', { rules: [rule(own())], tls: [{ hosts: ['kubedojo.example.com'], secretName: 'x' }] })), 'TLS hosts');
  });

  it('accepts an Ingress on their own host and names under it', async () => {
    accepted(await raw.create(ingress('mine', { rules: [rule(own()), rule(`api.${own()}`), rule(`*.apps.${own()}`)], tls: [{ hosts: [own()], secretName: 'web-tls' }] })));
  });
});
