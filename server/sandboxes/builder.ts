import { ApiextensionsV1Api, RbacAuthorizationV1Api, SchedulingV1Api, type KubeConfig, type V1Namespace } from '@kubernetes/client-node';
import { call, firstError } from '../cluster/api.ts';
import { applyObjects, rawClient } from '../cluster/apply.ts';
import { whoAmI, type Subject } from '../cluster/identity.ts';
import { Conflict, Unavailable } from '../errors.ts';
import { fillPlaceholdersDeep } from '../lessons/placeholders.ts';
import type { Logger } from '../logger.ts';
import { requestToken, type Credentials } from './credentials.ts';
import { ANNOTATION, LABEL, sandboxOf } from './labels.ts';
import { groupOf, priorityClassPrefixOf } from './names.ts';
import { DEFAULT_FENCES, ensureClusterPolicies, verifyClusterPolicies } from './policies.ts';
import type { SandboxStore } from './store.ts';
import { loadTemplates, renderSandbox } from './template.ts';
import type { BuildSpec, LabSetup, Sandbox, SandboxSettings } from './types.ts';

/**
 * Makes and unmakes sandboxes: every object of a new one (quota, limits, RBAC, isolation), a
 * lab's setup objects, and on delete the namespace with the learner's cluster-scoped objects
 * (ClusterRoleBinding, CRDs, PriorityClasses) that no namespace takes with it.
 */
export class SandboxBuilder {
  private readonly store: SandboxStore;
  private readonly credentials: Credentials;
  private readonly settings: SandboxSettings;
  private readonly log: Logger;
  private policiesInstalled = false;
  /** The platform's own identity, bound in each sandbox to the learner's custom-resources Role. */
  private platform: Subject | undefined;

  constructor(deps: { store: SandboxStore; credentials: Credentials; settings: SandboxSettings; logger: Logger }) {
    this.store = deps.store;
    this.credentials = deps.credentials;
    this.settings = deps.settings;
    this.log = deps.logger;
  }

  /** The cluster-wide admission policies every sandbox relies on; installed once per process. */
  async ensurePolicies(kc: KubeConfig): Promise<void> {
    if (this.policiesInstalled) return;
    const fences = { learnerPriorityMax: this.settings.learnerPriorityMax ?? DEFAULT_FENCES.learnerPriorityMax, sandboxDomain: this.settings.domain ?? DEFAULT_FENCES.sandboxDomain };
    await (this.settings.policies === 'verify' ? verifyClusterPolicies(kc, fences) : ensureClusterPolicies(kc, fences));
    const me = await whoAmI(kc);
    if (!me.ok) this.log.warn({ error: me.error.message }, "could not tell the platform's own identity (SelfSubjectReview): checks on learners' custom resources need cluster-wide rights");
    this.platform = me.ok ? me.value.subject : undefined;
    this.policiesInstalled = true;
  }

  /** Creates every object of a sandbox; on any failure removes what it made and says why. */
  async build(kc: KubeConfig, spec: BuildSpec): Promise<Sandbox> {
    const createdAt = new Date().toISOString();
    const [namespaceObject, ...rest] = renderSandbox({
      namespace: spec.namespace,
      sandboxId: spec.namespace,
      learnerKey: spec.learnerKey,
      learnerName: spec.learnerName,
      lesson: spec.lesson,
      lessonKey: spec.lessonKey,
      workshop: spec.workshop,
      size: spec.size,
      nodes: spec.nodes,
      createdAt,
      expiresAt: spec.expiresAt,
    }, loadTemplates(), { 'services.loadbalancers': String(this.settings.loadBalancers ?? 0) }, this.platform);
    if (!namespaceObject) throw new Error('the sandbox template has no namespace');
    if (spec.pool) (namespaceObject.metadata as { labels: Record<string, string> }).labels[LABEL.pool] = 'available';
    const objects = rawClient(kc);
    const made = await objects.create(namespaceObject);
    if (!made.ok) {
      if (made.error.kind === 'conflict') throw new Conflict(`sandbox ${spec.namespace} is being created by another request; try again`);
      throw new Unavailable(`could not create sandbox ${spec.namespace}: ${made.error.message}`);
    }
    try {
      const failed = firstError(await applyObjects(kc, rest));
      if (failed) throw new Unavailable(`could not create sandbox ${spec.namespace}: ${failed.message}`);
      // Marking it ready and issuing the learner's token are independent: one round trip.
      const [ready, token] = await Promise.all([
        objects.mergePatch({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: spec.namespace, annotations: { [ANNOTATION.ready]: 'true' } } }),
        spec.pool ? Promise.resolve(undefined) : requestToken(kc, spec.namespace, new Date(spec.expiresAt)),
      ]);
      if (!ready.ok) throw new Unavailable(`could not create sandbox ${spec.namespace}: ${ready.error.message}`);
      if (token && !token.ok) throw new Unavailable(`could not issue the learner's credentials for ${spec.namespace}: ${token.error.message}`);
      this.store.remember(ready.value, spec.namespace);
      const sandbox = sandboxOf(ready.value);
      if (token?.ok) this.credentials.keep(spec.namespace, token.value);
      return sandbox;
    } catch (error) {
      // Leave nothing half-made behind: the namespace takes its contents with it.
      await this.removeClusterObjects(kc, spec.namespace).catch(() => undefined);
      await call(() => this.store.core().deleteNamespace({ name: spec.namespace }));
      this.log.warn({ namespace: spec.namespace, err: error }, 'sandbox creation failed; removed what was made');
      throw error;
    }
  }

  /** Applies a lab's setup objects into a new or reset sandbox, its values filled in. */
  async applySetup(kc: KubeConfig, sandbox: Sandbox, lab: LabSetup | undefined): Promise<void> {
    if (!lab || lab.setup.length === 0) return;
    const values = { namespace: sandbox.namespace, group: sandbox.group, priorityClassPrefix: sandbox.priorityClassPrefix };
    const objects = lab.setup.map((o) => {
      // Plain JSON (lab files are parsed YAML): no class instances to lose.
      const filled = fillPlaceholdersDeep(o, values) as Record<string, unknown> & { metadata?: Record<string, unknown> };
      return { ...filled, metadata: { ...(filled.metadata ?? {}), namespace: sandbox.namespace } };
    });
    const failed = firstError(await applyObjects(kc, objects));
    if (failed) throw new Unavailable(`sandbox ${sandbox.namespace} was made, but the lab's setup objects could not be applied: ${failed.message}`);
  }

  /** Deletes a sandbox's namespace (in the background), its cluster-scoped objects and its kubeconfig. */
  async remove(kc: KubeConfig, namespace: string): Promise<void> {
    const deleted = await call(() => this.store.core().deleteNamespace({ name: namespace, propagationPolicy: 'Background' }));
    if (!deleted.ok && deleted.error.kind !== 'not-found') throw new Unavailable(`could not delete sandbox ${namespace}: ${deleted.error.message}`);
    if (deleted.ok) this.store.remember(deleted.value as unknown as V1Namespace, namespace);
    await this.removeClusterObjects(kc, namespace);
    await this.credentials.forget(namespace);
  }

  /** The ClusterRoleBinding, CRDs and PriorityClasses that belong to a sandbox namespace. */
  async removeClusterObjects(kc: KubeConfig, namespace: string): Promise<void> {
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    const crds = kc.makeApiClient(ApiextensionsV1Api);
    const scheduling = kc.makeApiClient(SchedulingV1Api);
    const group = groupOf(namespace);
    const prefix = priorityClassPrefixOf(namespace);
    const [crdList, pcList] = await Promise.all([call(() => crds.listCustomResourceDefinition()), call(() => scheduling.listPriorityClass())]);
    const jobs: Promise<unknown>[] = [call(() => rbac.deleteClusterRoleBinding({ name: `kubedojo:sandbox:${namespace}` }))];
    if (crdList.ok) for (const crd of crdList.value.items) if (crd.spec.group === group) jobs.push(call(() => crds.deleteCustomResourceDefinition({ name: crd.metadata?.name ?? '' })));
    if (pcList.ok) for (const pc of pcList.value.items) if (pc.metadata?.name?.startsWith(prefix)) jobs.push(call(() => scheduling.deletePriorityClass({ name: pc.metadata?.name ?? '' })));
    await Promise.all(jobs);
  }
}
