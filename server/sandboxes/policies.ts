import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { firstError } from '../cluster/api.ts';
import { applyObjects, rawClient, readManifests } from '../cluster/apply.ts';
import { sandboxesDir } from '../cluster/paths.ts';
import { Unavailable } from '../errors.ts';

const files = ['learner-roles.yaml', 'learner-fences.yaml'].map((f) => path.join(sandboxesDir, 'policies', f));

/**
 * Requests only a learner would make, sent as a learner (impersonated, with system:masters so
 * RBAC lets them through to admission): each must be refused by its policy. The API server
 * loads new policies asynchronously, so until these are refused the fences are not up yet.
 */
const probeUser = { user: 'system:serviceaccount:kd-policy-probe:kubedojo-learner', groups: ['system:masters', 'system:authenticated'] };
const probes: { object: KubernetesObject; refusedBy: string }[] = [
  {
    refusedBy: 'kubedojo-learner-crds',
    object: {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'probes.example.com' },
      spec: { group: 'example.com', scope: 'Namespaced', names: { kind: 'Probe', plural: 'probes' }, versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } }] },
    } as KubernetesObject,
  },
  { refusedBy: 'kubedojo-learner-priorityclasses', object: { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'probe' }, value: 1 } as KubernetesObject },
  {
    refusedBy: 'kubedojo-learner-managed-objects',
    object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kubedojo-probe', namespace: 'default', labels: { 'kubedojo.dev/managed-by': 'kubedojo' } } },
  },
];

/** Installs (or updates) the learner roles and admission policies, and waits until they bite. */
export async function ensureClusterPolicies(kc: KubeConfig, timeoutMs = 30_000): Promise<void> {
  const objects = (await Promise.all(files.map((f) => readManifests(f)))).flat();
  const failed = firstError(await applyObjects(kc, objects));
  if (failed) throw new Unavailable(`could not install the sandbox policies: ${failed.message}`);
  const raw = rawClient(kc);
  const deadline = Date.now() + timeoutMs;
  let waiting = probes;
  while (waiting.length > 0) {
    const results = await Promise.all(waiting.map((p) => raw.create(p.object, { dryRun: true, impersonate: probeUser })));
    waiting = waiting.filter((p, i) => {
      const result = results[i];
      return !(result && !result.ok && result.error.message.includes(`ValidatingAdmissionPolicy '${p.refusedBy}'`));
    });
    if (waiting.length === 0) return;
    if (Date.now() > deadline) throw new Unavailable(`the sandbox admission policies are installed but not in force after ${timeoutMs / 1000}s: ${waiting.map((p) => p.refusedBy).join(', ')}`);
    await sleep(100);
  }
}
