import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { firstError } from '../cluster/api.ts';
import { applyObjects, rawClient, readManifests } from '../cluster/apply.ts';
import { sandboxesDir } from '../cluster/paths.ts';
import { Unavailable } from '../errors.ts';

/** The learner roles and admission policies (the Helm chart carries copies of these files). */
export const POLICY_FILES = ['learner-roles.yaml', 'learner-fences.yaml', 'sandbox-walls.yaml'] as const;
const files = POLICY_FILES.map((f) => path.join(sandboxesDir, 'policies', f));

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

const plural: Record<string, string> = {
  ClusterRole: 'rbac.authorization.k8s.io/v1/clusterroles',
  ValidatingAdmissionPolicy: 'admissionregistration.k8s.io/v1/validatingadmissionpolicies',
  ValidatingAdmissionPolicyBinding: 'admissionregistration.k8s.io/v1/validatingadmissionpolicybindings',
};

/**
 * For a platform that may not write admission policies (the Helm chart's ClusterRole): every
 * learner role, policy and binding must be there, and the fences' parameters must be this
 * server's settings. Reads only; says what is missing or different.
 */
export async function verifyClusterPolicies(kc: KubeConfig, fences: FenceSettings = DEFAULT_FENCES): Promise<void> {
  const raw = rawClient(kc);
  const wanted = (await Promise.all(files.map((f) => readManifests(f)))).flat();
  const problems: string[] = [];
  const failures: string[] = [];
  const look = async <T>(what: string, url: string): Promise<T | undefined> => {
    const found = await raw.get<T>(url);
    if (found.ok) return found.value;
    if (found.error.kind === 'not-found') problems.push(`${what}: missing`);
    else failures.push(`${what}: ${found.error.message}`);
    return undefined;
  };
  // One at a time: a dozen small reads, and no burst on a starting cluster.
  for (const o of wanted) await look(`${o.kind ?? ''} ${o.metadata?.name ?? ''}`, `/apis/${plural[o.kind ?? ''] ?? ''}/${encodeURIComponent(o.metadata?.name ?? '')}`);
  const where = `ConfigMap ${FENCES_CONFIGMAP.namespace}/${FENCES_CONFIGMAP.name}`;
  const cm = await look<{ data?: Record<string, string> }>(where, `/api/v1/namespaces/${FENCES_CONFIGMAP.namespace}/configmaps/${FENCES_CONFIGMAP.name}`);
  const want = (fencesConfigMap(fences) as { data: Record<string, string> }).data;
  if (cm) for (const [key, value] of Object.entries(want)) if (cm.data?.[key] !== value) problems.push(`${where} has ${key}=${cm.data?.[key] ?? '(none)'}, this server ${value}`);
  if (failures.length > 0) throw new Unavailable(`could not verify the sandbox policies: ${failures.join('; ')}`);
  if (problems.length > 0) {
    throw new Unavailable(`the sandbox policies are not installed as this server expects (--cluster-policies verify): ${problems.join('; ')}. Install them with the Helm chart (policies.install=true, the same sandboxes.* values), or let the platform install them (--cluster-policies install)`);
  }
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
