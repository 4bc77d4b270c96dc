import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  AdmissionregistrationV1Api,
  ApiextensionsV1Api,
  CoreV1Api,
  RbacAuthorizationV1Api,
  SchedulingV1Api,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { call, type ApiResult } from '../../server/cluster/api.ts';
import { RawClient } from '../../server/cluster/raw.ts';
import { Conflict, Unavailable } from '../../server/errors.ts';
import { learnerKey } from '../../server/sandboxes/names.ts';
import type { SandboxAccess, SandboxService } from '../../server/sandboxes/service.ts';
import { adminKubeConfig, eventually } from '../helpers/cluster.ts';
import { kubeConfigFrom, resignToken, sandboxService, tokenOf, withToken } from '../helpers/sandboxes.ts';

/**
 * Sandboxes on the real cluster, exercised as a learner would with the learner's kubeconfig:
 * the walls must hold, and what the platform makes it must also clean up.
 */

let service: SandboxService;
let admin: KubeConfig;
let alice: SandboxAccess;
let bob: SandboxAccess;
let aliceKc: KubeConfig;

const lesson = 'advanced-kubernetes-patterns';

function denied(result: ApiResult<unknown>): string {
  expect(result.ok, 'the request should have been refused').toBe(false);
  if (result.ok) return '';
  expect(['forbidden', 'invalid']).toContain(result.error.kind);
  return result.error.message;
}

function crd(group: string): KubernetesObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `widgets.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { kind: 'Widget', plural: 'widgets' },
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
    },
  } as KubernetesObject;
}

function priorityClass(name: string, value: number): KubernetesObject {
  return { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name }, value } as KubernetesObject;
}

function pod(name: string, namespace: string, resources?: Record<string, unknown>): KubernetesObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace },
    spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10', ...(resources ? { resources } : {}) }] },
  } as KubernetesObject;
}

beforeAll(async () => {
  admin = adminKubeConfig(inject('kubeconfig'));
  service = await sandboxService(inject('kubeconfig'));
  [alice, bob] = await Promise.all([
    service.create({ learnerId: 'Alice Ångström', lesson }),
    service.create({ learnerId: 'bob@example.com', lesson: 'kubernetes-fundamentals' }),
  ]);
  aliceKc = kubeConfigFrom(alice.kubeconfig);
});

afterAll(async () => {
  for (const access of [alice, bob]) await service.delete(access.sandbox.namespace).catch(() => undefined);
});

describe('creating a sandbox', () => {
  it('gives the learner a namespace, their group and prefix, an expiry and a working kubeconfig of their own', async () => {
    const { sandbox } = alice;
    expect(sandbox.namespace).toMatch(/^kd-alice-angstrom-advanced-kuberne-[0-9a-f]{10}$/);
    expect(sandbox.group).toBe(`${sandbox.namespace}.labs.kubedojo.dev`);
    expect(sandbox.priorityClassPrefix).toBe(`${sandbox.namespace}-`);
    expect(sandbox.size).toBe('medium'); // what the lab asks for
    expect(new Date(sandbox.expiresAt).getTime()).toBeGreaterThan(Date.now());
    expect((await fs.stat(alice.kubeconfig)).mode & 0o777).toBe(0o600);
    const text = await fs.readFile(alice.kubeconfig, 'utf8');
    expect(text).not.toContain('client-certificate-data');
    expect(text).toContain(`namespace: ${sandbox.namespace}`);
    // As the learner: their own pods are visible, including the lab's setup objects.
    const pods = await aliceKc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: sandbox.namespace });
    expect(pods.items.map((p) => p.metadata?.name).sort()).toEqual(['np-api', 'np-frontend', 'np-other']);
  });

  it('is idempotent: the same learner and lesson get the same sandbox', async () => {
    const again = await service.create({ learnerId: 'Alice Ångström', lesson });
    expect(again.sandbox.namespace).toBe(alice.sandbox.namespace);
    expect(again.created).toBe(false);
  });
});

describe('the walls hold', () => {
  it("keeps a learner out of another learner's namespace", async () => {
    const core = aliceKc.makeApiClient(CoreV1Api);
    const other = bob.sandbox.namespace;
    expect(denied(await call(() => core.listNamespacedPod({ namespace: other })))).toContain('cannot list resource "pods"');
    expect(denied(await call(() => core.readNamespacedConfigMap({ name: 'kube-root-ca.crt', namespace: other })))).toContain('forbidden');
    denied(await new RawClient(aliceKc).create(pod('intruder', other)));
    denied(await call(() => core.listNamespace()));
  });

  it('denies changing the quota, limits, role bindings and isolation policy the platform manages', async () => {
    const raw = new RawClient(aliceKc);
    const ns = alice.sandbox.namespace;
    const core = aliceKc.makeApiClient(CoreV1Api);
    denied(await call(() => core.deleteNamespacedResourceQuota({ name: 'kubedojo-quota', namespace: ns })));
    denied(await call(() => core.deleteNamespacedLimitRange({ name: 'kubedojo-limits', namespace: ns })));
    expect(denied(await call(() => aliceKc.makeApiClient(RbacAuthorizationV1Api).deleteNamespacedRoleBinding({ name: 'kubedojo-learner', namespace: ns })))).toContain(
      'managed by kubedojo',
    );
    expect(
      denied(await call(() => aliceKc.makeApiClient(RbacAuthorizationV1Api).deleteNamespacedRoleBinding({ name: 'kubedojo-learner-custom-resources', namespace: ns }))),
    ).toContain('managed by kubedojo');
    expect(
      denied(await raw.mergePatch({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'kubedojo-isolation', namespace: ns }, spec: { ingress: [{}] } } as KubernetesObject)),
    ).toContain('managed by kubedojo');
    denied(await raw.mergePatch({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'kubedojo-quota', namespace: ns }, spec: { hard: { pods: '1000' } } } as KubernetesObject));
    // Nor can they forge a platform object.
    expect(
      denied(await raw.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'fake', namespace: ns, labels: { 'kubedojo.dev/managed-by': 'kubedojo' } } })),
    ).toContain('reserved for the platform');
  });

  it('rejects a pod over the quota with the API message, and gives a pod without requests the defaults', async () => {
    const raw = new RawClient(aliceKc);
    const ns = alice.sandbox.namespace;
    const huge = await raw.create(pod('huge', ns, { requests: { cpu: '2', memory: '1Gi' }, limits: { cpu: '2', memory: '1Gi' } }));
    expect(huge.ok).toBe(true); // within LimitRange max and quota
    const over = await raw.create(pod('over', ns, { requests: { cpu: '2', memory: '4Gi' }, limits: { cpu: '2', memory: '4Gi' } }));
    expect(denied(over)).toMatch(/maximum memory usage per Container is 2Gi|exceeded quota/);
    for (let i = 0; i < 2; i += 1) await raw.create(pod(`big-${i}`, ns, { requests: { cpu: '2', memory: '1Gi' }, limits: { cpu: '2', memory: '1Gi' } }));
    const quota = await raw.create(pod('one-too-many', ns, { requests: { cpu: '2', memory: '1Gi' }, limits: { cpu: '2', memory: '1Gi' } }));
    expect(denied(quota)).toMatch(/exceeded quota: kubedojo-quota, requested: .*requests\.cpu=2/);
    const plain = await raw.create<KubernetesObject & { spec: { containers: { resources: unknown }[] } }>(pod('plain', ns));
    expect(plain.ok).toBe(true);
    if (plain.ok) expect(plain.value.spec.containers[0]?.resources).toEqual({ limits: { cpu: '200m', memory: '256Mi' }, requests: { cpu: '50m', memory: '64Mi' } });
  });

  it('allows CRDs only in their own group, and never deletes another learner\'s', async () => {
    const raw = new RawClient(aliceKc);
    expect(denied(await raw.create(crd('example.com')))).toContain(`only manage CustomResourceDefinitions in their own API group ${alice.sandbox.group}, not example.com`);
    denied(await raw.create(crd(bob.sandbox.group)));
    const mine = await raw.create(crd(alice.sandbox.group));
    expect(mine.ok).toBe(true);
    // Bob's CRD (made by the platform here) cannot be deleted by Alice.
    await new RawClient(admin).create(crd(bob.sandbox.group));
    const extensions = aliceKc.makeApiClient(ApiextensionsV1Api);
    expect(denied(await call(() => extensions.deleteCustomResourceDefinition({ name: `widgets.${bob.sandbox.group}` })))).toContain('own API group');
    // Their own custom resources work in their namespace once the CRD is established.
    await eventually(async () => {
      const made = await raw.create({ apiVersion: `${alice.sandbox.group}/v1`, kind: 'Widget', metadata: { name: 'w1', namespace: alice.sandbox.namespace } });
      return made.ok ? true : undefined;
    }, 'a Widget in the learner group');
  });

  it('allows PriorityClasses only with their prefix and a user-range value', async () => {
    const raw = new RawClient(aliceKc);
    expect(denied(await raw.create(priorityClass('high-priority', 100)))).toContain(`whose names start with ${alice.sandbox.priorityClassPrefix}`);
    expect(denied(await raw.create(priorityClass(`${alice.sandbox.priorityClassPrefix}critical`, 2_000_000_000)))).toMatch(/1000000000/);
    denied(await raw.create({ ...priorityClass(`${alice.sandbox.priorityClassPrefix}default`, 10), globalDefault: true } as KubernetesObject));
    expect((await raw.create(priorityClass(`${alice.sandbox.priorityClassPrefix}batch-low`, 1000))).ok).toBe(true);
  });

  it('denies cluster role bindings, kube-system secrets and granting more than they hold', async () => {
    const raw = new RawClient(aliceKc);
    denied(
      await raw.create({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'alice-is-admin' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ kind: 'ServiceAccount', name: 'kubedojo-learner', namespace: alice.sandbox.namespace }],
      } as KubernetesObject),
    );
    expect(denied(await call(() => aliceKc.makeApiClient(CoreV1Api).listNamespacedSecret({ namespace: 'kube-system' })))).toContain('cannot list resource "secrets"');
    const escalate = await raw.create({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'more', namespace: alice.sandbox.namespace },
      rules: [{ apiGroups: [''], resources: ['resourcequotas'], verbs: ['delete'] }],
    } as KubernetesObject);
    expect(denied(escalate)).toContain('attempting to grant RBAC permissions not currently held');
    const bindAdmin = await raw.create({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'admin-here', namespace: alice.sandbox.namespace },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' },
      subjects: [{ kind: 'ServiceAccount', name: 'kubedojo-learner', namespace: alice.sandbox.namespace }],
    } as KubernetesObject);
    denied(bindAdmin);
  });

  it('refuses an expired token, and accepts the same claims unexpired', async () => {
    const signingKey = path.join(inject('clusterDataDir'), 'cluster', 'pki', 'sa.key');
    const token = tokenOf(aliceKc);
    const now = Math.floor(Date.now() / 1000);
    const fresh = withToken(aliceKc, await resignToken(token, signingKey, now + 600));
    const ns = alice.sandbox.namespace;
    expect((await call(() => fresh.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: ns }))).ok).toBe(true);
    const expired = withToken(aliceKc, await resignToken(token, signingKey, now - 60));
    const result = await call(() => expired.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: ns }));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.kind).toBe('unauthorized');
  });
});

describe('deleting', () => {
  it("removes the namespace, the learner's CRDs and PriorityClasses, and their token stops working", async () => {
    const temp = await service.create({ learnerId: 'Carol', lesson });
    const kc = kubeConfigFrom(temp.kubeconfig);
    const raw = new RawClient(kc);
    expect((await raw.create(crd(temp.sandbox.group))).ok).toBe(true);
    expect((await raw.create(priorityClass(`${temp.sandbox.priorityClassPrefix}low`, 5))).ok).toBe(true);
    await service.delete(temp.sandbox.namespace);
    const core = admin.makeApiClient(CoreV1Api);
    expect((await call(() => core.readNamespace({ name: temp.sandbox.namespace }))).ok).toBe(false);
    expect((await call(() => admin.makeApiClient(ApiextensionsV1Api).readCustomResourceDefinition({ name: `widgets.${temp.sandbox.group}` }))).ok).toBe(false);
    expect((await call(() => admin.makeApiClient(SchedulingV1Api).readPriorityClass({ name: `${temp.sandbox.priorityClassPrefix}low` }))).ok).toBe(false);
    expect((await call(() => admin.makeApiClient(RbacAuthorizationV1Api).readClusterRoleBinding({ name: `kubedojo:sandbox:${temp.sandbox.namespace}` }))).ok).toBe(false);
    const after = await call(() => kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: temp.sandbox.namespace }));
    expect(after.ok ? 'accepted' : after.error.kind).toBe('unauthorized');
    await expect(fs.access(temp.kubeconfig)).rejects.toThrow();
  });
});

describe('lifecycle', () => {
  it('extends a sandbox with a fresh token that lasts as long', async () => {
    const before = new Date(alice.sandbox.expiresAt).getTime();
    const extended = await service.extend(alice.sandbox.namespace, 30);
    expect(new Date(extended.sandbox.expiresAt).getTime()).toBeGreaterThanOrEqual(before + 29 * 60_000);
    expect(Math.abs(new Date(extended.tokenExpiresAt).getTime() - new Date(extended.sandbox.expiresAt).getTime())).toBeLessThan(5_000);
    aliceKc = kubeConfigFrom(extended.kubeconfig);
    expect((await call(() => aliceKc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: alice.sandbox.namespace }))).ok).toBe(true);
  });

  it("resets a sandbox: the learner's work is gone, the lab's setup is back, same name", async () => {
    const raw = new RawClient(aliceKc);
    await raw.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'my-work', namespace: alice.sandbox.namespace }, data: { a: '1' } } as KubernetesObject);
    const reset = await service.reset(alice.sandbox.namespace);
    expect(reset.sandbox.namespace).toBe(alice.sandbox.namespace);
    aliceKc = kubeConfigFrom(reset.kubeconfig);
    const core = aliceKc.makeApiClient(CoreV1Api);
    const configMaps = await core.listNamespacedConfigMap({ namespace: alice.sandbox.namespace });
    expect(configMaps.items.map((c) => c.metadata?.name)).not.toContain('my-work');
    const pods = await core.listNamespacedPod({ namespace: alice.sandbox.namespace });
    expect(pods.items.map((p) => p.metadata?.name).sort()).toEqual(['np-api', 'np-frontend', 'np-other']);
    // Reset also removed the learner's cluster-scoped objects.
    expect((await call(() => admin.makeApiClient(ApiextensionsV1Api).readCustomResourceDefinition({ name: `widgets.${alice.sandbox.group}` }))).ok).toBe(false);
  });

  it('enforces the per-learner cap and the global capacity with clear messages', async () => {
    const capped = await sandboxService(inject('kubeconfig'), { maxPerLearner: 1 });
    const first = await capped.create({ learnerId: 'Dave', lesson: 'kubernetes-fundamentals' });
    const second = await capped.create({ learnerId: 'Dave', lesson }).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(Conflict);
    expect((second as Error).message).toBe('Dave already has 1 sandboxes, the most one learner may hold (1); delete one first');
    const full = await sandboxService(inject('kubeconfig'), { capacity: 1 });
    const refused = await full.create({ learnerId: 'Erin', lesson }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Unavailable);
    expect((refused as Error).message).toMatch(/^the cluster holds \d+ sandboxes, its capacity \(1\)/);
    await capped.delete(first.sandbox.namespace);
  });

  it('claims from the warm pool: a relabelled, ready sandbox with working credentials', async () => {
    const pooled = await sandboxService(inject('kubeconfig'), { warmPool: 2, warmPoolSize: 'small' });
    await pooled.fillPool();
    expect(pooled.poolSize).toBe(2);
    const access = await pooled.create({ learnerId: 'Frank', lesson: 'kubernetes-fundamentals' });
    expect(access.fromPool).toBe(true);
    expect(access.sandbox.namespace).toMatch(/^kd-pool-/);
    expect(access.sandbox.learnerName).toBe('Frank');
    expect(pooled.poolSize).toBe(1);
    expect((await pooled.list({ learnerId: 'Frank' })).map((s) => s.namespace)).toEqual([access.sandbox.namespace]);
    const kc = kubeConfigFrom(access.kubeconfig);
    expect((await call(() => kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: access.sandbox.namespace }))).ok).toBe(true);
    // The pool refills in the background; clean everything up.
    await eventually(() => Promise.resolve(pooled.poolSize === 2 ? true : undefined), 'the pool to refill');
    await pooled.delete(access.sandbox.namespace);
    const core = admin.makeApiClient(CoreV1Api);
    for (const ns of (await core.listNamespace({ labelSelector: 'kubedojo.dev/pool=available' })).items) await core.deleteNamespace({ name: ns.metadata?.name ?? '' });
  });

  it('after a restart lists live sandboxes, reaps expired ones and removes half-made leftovers', async () => {
    const expiring = await service.create({ learnerId: 'Grace', lesson });
    // Expire it behind the service's back, and leave a half-made namespace as a crash would.
    await new RawClient(admin).mergePatch({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: expiring.sandbox.namespace, annotations: { 'kubedojo.dev/expires-at': new Date(Date.now() - 1000).toISOString() } },
    });
    const leftover = `kd-leftover-${Date.now().toString(36)}`;
    await admin.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: leftover, labels: { 'kubedojo.dev/sandbox': 'true', 'kubedojo.dev/learner': 'henry-0123456789' } } } });

    const restarted = await sandboxService(inject('kubeconfig'), { leftoverAfterSeconds: 0 });
    await restarted.start();
    restarted.stop();
    const live = (await restarted.list()).map((s) => s.namespace);
    expect(live).toContain(alice.sandbox.namespace);
    expect(live).toContain(bob.sandbox.namespace);
    const core = admin.makeApiClient(CoreV1Api);
    for (const gone of [expiring.sandbox.namespace, leftover]) {
      await eventually(async () => {
        const ns = await call(() => core.readNamespace({ name: gone }));
        return !ns.ok || ns.value.status?.phase === 'Terminating' ? true : undefined;
      }, `${gone} to be reaped`);
    }
  });
});

describe('faults', () => {
  it('answers an unreachable API server with Unavailable and the reason, and makes nothing', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-dead-'));
    const dead = path.join(dir, 'kubeconfig');
    const text = (await fs.readFile(inject('kubeconfig'), 'utf8')).replace(/server: https:\/\/127\.0\.0\.1:\d+/, 'server: https://127.0.0.1:9');
    await fs.writeFile(dead, text);
    const offline = await sandboxService(dead);
    const error = await offline.create({ learnerId: 'Ivy', lesson }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Unavailable);
    expect((error as Error).message).toMatch(/unreachable|ECONNREFUSED|could not/);
    expect(await service.list({ learnerId: 'Ivy' })).toEqual([]);
  });

  it('removes a half-made sandbox when a step fails midway, and reports the API message', async () => {
    // A policy that refuses the sandbox's LimitRange for one learner: the failure comes after
    // the namespace and half the objects exist.
    const key = learnerKey('Judy');
    const raw = new RawClient(admin);
    const policy = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name: 'test-break-limitrange' },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {
          resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['limitranges'] }],
          namespaceSelector: { matchLabels: { 'kubedojo.dev/learner': key } },
        },
        validations: [{ expression: 'false', message: 'injected fault: limit ranges are refused here' }],
      },
    } as KubernetesObject;
    const binding = { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding', metadata: { name: 'test-break-limitrange' }, spec: { policyName: 'test-break-limitrange', validationActions: ['Deny'] } } as KubernetesObject;
    await raw.apply(policy);
    await raw.apply(binding);
    try {
      const error = await eventually(async () => {
        const attempt: unknown = await service.create({ learnerId: 'Judy', lesson: 'kubernetes-fundamentals' }).catch((e: unknown) => e);
        if (attempt instanceof Error) return attempt;
        await service.delete((attempt as SandboxAccess).sandbox.namespace); // the policy was not active yet
        return undefined;
      }, 'the injected fault to take effect');
      expect(error).toBeInstanceOf(Unavailable);
      expect(error.message).toContain('injected fault: limit ranges are refused here');
      const core = admin.makeApiClient(CoreV1Api);
      await eventually(async () => {
        const left = await core.listNamespace({ labelSelector: `kubedojo.dev/learner=${key}` });
        return left.items.every((n) => n.status?.phase === 'Terminating') ? true : undefined;
      }, 'the half-made namespace to be removed');
    } finally {
      await call(() => admin.makeApiClient(AdmissionregistrationV1Api).deleteValidatingAdmissionPolicyBinding({ name: 'test-break-limitrange' }));
      await call(() => admin.makeApiClient(AdmissionregistrationV1Api).deleteValidatingAdmissionPolicy({ name: 'test-break-limitrange' }));
    }
  });
});
