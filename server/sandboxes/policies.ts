import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { firstError } from '../cluster/api.ts';
import { applyObjects, rawClient, readManifests } from '../cluster/apply.ts';
import { sandboxesDir } from '../cluster/paths.ts';
import { Unavailable } from '../errors.ts';

const files = ['learner-roles.yaml', 'learner-fences.yaml', 'sandbox-walls.yaml'].map((f) => path.join(sandboxesDir, 'policies', f));

/** The settings the admission policies read (their parameters, one ConfigMap). */
export interface FenceSettings {
  /** The highest PriorityClass value a learner may use; the platform's own classes sit above it. */
  learnerPriorityMax: number;
  /** Ingress hosts of a sandbox must be `<namespace>.<sandboxDomain>` or names under it. */
  sandboxDomain: string;
}

export const DEFAULT_FENCES: FenceSettings = { learnerPriorityMax: 1_000_000, sandboxDomain: 'sandboxes.localhost' };

export const FENCES_CONFIGMAP = { name: 'kubedojo-fences', namespace: 'kube-system' } as const;

function fencesConfigMap(fences: FenceSettings): KubernetesObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { ...FENCES_CONFIGMAP, labels: { 'kubedojo.dev/managed-by': 'kubedojo' } },
    data: { learnerPriorityMax: String(fences.learnerPriorityMax), sandboxDomain: fences.sandboxDomain },
  } as KubernetesObject;
}

/**
 * Requests only a learner would make, sent as a learner (impersonated, with system:masters so
 * RBAC lets them through to admission): each must be refused by its policy. The API server
 * loads new policies and their parameters asynchronously, so until these are refused the fences
 * are not up yet.
 */
const probeNamespace = 'kd-policy-probe';
const probeUser = {
  user: `system:serviceaccount:${probeNamespace}:kubedojo-learner`,
  groups: ['system:masters', 'system:authenticated', 'system:serviceaccounts', `system:serviceaccounts:${probeNamespace}`],
};

function probes(fences: FenceSettings): { object: KubernetesObject; refusedBy: string; saying: string }[] {
  return [
    {
      refusedBy: 'kubedojo-learner-crds',
      saying: 'own API group',
      object: {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'probes.example.com' },
        spec: { group: 'example.com', scope: 'Namespaced', names: { kind: 'Probe', plural: 'probes' }, versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } }] },
      } as KubernetesObject,
    },
    // Above the range: refused only once the parameters are loaded too.
    {
      refusedBy: 'kubedojo-learner-priorityclasses',
      saying: `up to ${fences.learnerPriorityMax}`,
      object: { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: `${probeNamespace}-probe` }, value: fences.learnerPriorityMax + 1 } as KubernetesObject,
    },
    {
      refusedBy: 'kubedojo-learner-managed-objects',
      saying: 'reserved for the platform',
      object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kubedojo-probe', namespace: 'default', labels: { 'kubedojo.dev/managed-by': 'kubedojo' } } },
    },
  ];
}

/** Installs (or updates) the learner roles, admission policies and their parameters, and waits until they bite. */
export async function ensureClusterPolicies(kc: KubeConfig, fences: FenceSettings = DEFAULT_FENCES, timeoutMs = 30_000): Promise<void> {
  const objects = [fencesConfigMap(fences), ...(await Promise.all(files.map((f) => readManifests(f)))).flat()];
  const failed = firstError(await applyObjects(kc, objects));
  if (failed) throw new Unavailable(`could not install the sandbox policies: ${failed.message}`);
  const raw = rawClient(kc);
  const deadline = Date.now() + timeoutMs;
  let waiting = probes(fences);
  while (waiting.length > 0) {
    const results = await Promise.all(waiting.map((p) => raw.create(p.object, { dryRun: true, impersonate: probeUser })));
    waiting = waiting.filter((p, i) => {
      const result = results[i];
      return !(result && !result.ok && result.error.message.includes(`ValidatingAdmissionPolicy '${p.refusedBy}'`) && result.error.message.includes(p.saying));
    });
    if (waiting.length === 0) return;
    if (Date.now() > deadline) throw new Unavailable(`the sandbox admission policies are installed but not in force after ${timeoutMs / 1000}s: ${waiting.map((p) => p.refusedBy).join(', ')}`);
    await sleep(100);
  }
}
