/**
 * The resource types kubectl names in lessons, and what a learner may do with each in their
 * sandbox: `write` (and read) in their namespace, `read` only, or nothing. This mirrors
 * sandboxes/policies/learner-roles.yaml (a unit test compares the two), so the runnable-block
 * judge can tell an author that `kubectl get namespaces` would be refused without running it.
 */

export type Access = 'write' | 'read' | 'none';

export interface KubeType {
  kind: string;
  /** The resource as RBAC names it, with its API group ('' for the core group). */
  group: string;
  resource: string;
  namespaced: boolean;
  access: Access;
  /** Other names kubectl accepts: singular, short names. */
  aliases: string[];
}

const T = (kind: string, group: string, resource: string, namespaced: boolean, access: Access, aliases: string[] = []): KubeType => ({ kind, group, resource, namespaced, access, aliases });

export const KUBE_TYPES: readonly KubeType[] = [
  T('Pod', '', 'pods', true, 'write', ['pod', 'po']),
  T('Service', '', 'services', true, 'write', ['service', 'svc']),
  T('Endpoints', '', 'endpoints', true, 'write', ['ep']),
  T('ConfigMap', '', 'configmaps', true, 'write', ['configmap', 'cm']),
  T('Secret', '', 'secrets', true, 'write', ['secret']),
  T('PersistentVolumeClaim', '', 'persistentvolumeclaims', true, 'write', ['persistentvolumeclaim', 'pvc']),
  T('ServiceAccount', '', 'serviceaccounts', true, 'write', ['serviceaccount', 'sa']),
  T('ReplicationController', '', 'replicationcontrollers', true, 'write', ['replicationcontroller', 'rc']),
  T('Event', '', 'events', true, 'read', ['event', 'ev']),
  T('ResourceQuota', '', 'resourcequotas', true, 'read', ['resourcequota', 'quota']),
  T('LimitRange', '', 'limitranges', true, 'read', ['limitrange', 'limits']),
  T('Deployment', 'apps', 'deployments', true, 'write', ['deployment', 'deploy']),
  T('ReplicaSet', 'apps', 'replicasets', true, 'write', ['replicaset', 'rs']),
  T('StatefulSet', 'apps', 'statefulsets', true, 'write', ['statefulset', 'sts']),
  T('DaemonSet', 'apps', 'daemonsets', true, 'write', ['daemonset', 'ds']),
  T('ControllerRevision', 'apps', 'controllerrevisions', true, 'write', ['controllerrevision']),
  T('Job', 'batch', 'jobs', true, 'write', ['job']),
  T('CronJob', 'batch', 'cronjobs', true, 'write', ['cronjob', 'cj']),
  T('HorizontalPodAutoscaler', 'autoscaling', 'horizontalpodautoscalers', true, 'write', ['horizontalpodautoscaler', 'hpa']),
  T('PodDisruptionBudget', 'policy', 'poddisruptionbudgets', true, 'write', ['poddisruptionbudget', 'pdb']),
  T('NetworkPolicy', 'networking.k8s.io', 'networkpolicies', true, 'write', ['networkpolicy', 'netpol']),
  T('Ingress', 'networking.k8s.io', 'ingresses', true, 'write', ['ingress', 'ing']),
  T('EndpointSlice', 'discovery.k8s.io', 'endpointslices', true, 'read', ['endpointslice']),
  T('Lease', 'coordination.k8s.io', 'leases', true, 'write', ['lease']),
  T('Role', 'rbac.authorization.k8s.io', 'roles', true, 'write', ['role']),
  T('RoleBinding', 'rbac.authorization.k8s.io', 'rolebindings', true, 'write', ['rolebinding']),
  T('Node', '', 'nodes', false, 'read', ['node', 'no']),
  T('StorageClass', 'storage.k8s.io', 'storageclasses', false, 'read', ['storageclass', 'sc']),
  T('CSIDriver', 'storage.k8s.io', 'csidrivers', false, 'read', ['csidriver']),
  T('IngressClass', 'networking.k8s.io', 'ingressclasses', false, 'read', ['ingressclass']),
  T('RuntimeClass', 'node.k8s.io', 'runtimeclasses', false, 'read', ['runtimeclass']),
  // Writable, but only in the learner's own group and with their own prefix (the admission policies).
  T('CustomResourceDefinition', 'apiextensions.k8s.io', 'customresourcedefinitions', false, 'write', ['customresourcedefinition', 'crd', 'crds']),
  T('PriorityClass', 'scheduling.k8s.io', 'priorityclasses', false, 'write', ['priorityclass', 'pc']),
  T('Namespace', '', 'namespaces', false, 'none', ['namespace', 'ns']),
  T('PersistentVolume', '', 'persistentvolumes', false, 'none', ['persistentvolume', 'pv']),
  T('ClusterRole', 'rbac.authorization.k8s.io', 'clusterroles', false, 'none', ['clusterrole']),
  T('ClusterRoleBinding', 'rbac.authorization.k8s.io', 'clusterrolebindings', false, 'none', ['clusterrolebinding']),
  T('ValidatingAdmissionPolicy', 'admissionregistration.k8s.io', 'validatingadmissionpolicies', false, 'none', ['validatingadmissionpolicy']),
  T('ValidatingWebhookConfiguration', 'admissionregistration.k8s.io', 'validatingwebhookconfigurations', false, 'none', ['validatingwebhookconfiguration']),
  T('MutatingWebhookConfiguration', 'admissionregistration.k8s.io', 'mutatingwebhookconfigurations', false, 'none', ['mutatingwebhookconfiguration']),
  T('APIService', 'apiregistration.k8s.io', 'apiservices', false, 'none', ['apiservice']),
];

const byName = new Map<string, KubeType>();
for (const type of KUBE_TYPES) {
  for (const name of [type.resource, type.kind.toLowerCase(), ...type.aliases]) {
    byName.set(name, type);
    if (type.group) byName.set(`${name}.${type.group}`, type);
  }
}

/** The type kubectl means by `name` (`pods`, `po`, `deploy`, `deployments.apps`), if built in. */
export function builtinType(name: string): KubeType | undefined {
  return byName.get(name.toLowerCase());
}

/** The built-in type of a manifest's kind (and apiVersion's group). */
export function typeOfKind(apiVersion: string, kind: string): KubeType | undefined {
  const group = apiVersion.includes('/') ? (apiVersion.split('/')[0] ?? '') : '';
  return KUBE_TYPES.find((t) => t.kind === kind && (t.group === group || (group === '' && t.group === '')));
}
