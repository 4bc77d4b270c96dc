import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { ApiError, ApiResult } from '../cluster/api.ts';
import { rawClient } from '../cluster/apply.ts';
import type { RawClient } from '../cluster/raw.ts';

/**
 * The grader's view of the cluster: the platform's credentials (never the learner's token, so a
 * learner cannot hide from a check by breaking their own RBAC), fenced to what the learner owns.
 * Namespaced objects are read and written only in the sandbox's namespace; cluster-scoped ones
 * only where they are the learner's (CRDs of their group, PriorityClasses with their prefix,
 * their namespace) or are what every learner may read anyway (nodes, storage classes).
 */

export interface SandboxIdentity {
  namespace: string;
  group: string;
  priorityClassPrefix: string;
}

export interface TypeRef {
  apiVersion: string;
  kind: string;
}

/** More objects than this in one list is not a lab; the check says so instead of grinding. */
export const MAX_LIST = 500;

const READABLE_CLUSTER_KINDS = new Set(['Node', 'StorageClass', 'IngressClass', 'RuntimeClass', 'CSIDriver']);

/** A label selector as the API writes it (zod-checked lab selectors and objects' own alike). */
export interface AnySelector {
  matchLabels?: Record<string, string> | undefined;
  matchExpressions?: { key: string; operator: string; values?: string[] | undefined }[] | undefined;
}

export function selectorString(selector: AnySelector | undefined): string {
  if (!selector) return '';
  const parts: string[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) parts.push(`${key}=${value}`);
  for (const e of selector.matchExpressions ?? []) {
    const values = (e.values ?? []).join(',');
    if (e.operator === 'In') parts.push(`${e.key} in (${values})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${values})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
    // An unknown operator selects nothing, as the API server would refuse it.
    else return 'kubedojo.dev/no-such-label=impossible';
  }
  return parts.join(',');
}

function forbidden(message: string): { ok: false; error: ApiError } {
  return { ok: false, error: { kind: 'forbidden', message } };
}

export class SandboxScope {
  readonly identity: SandboxIdentity;
  private readonly raw: RawClient;

  constructor(kc: KubeConfig, identity: SandboxIdentity) {
    this.identity = identity;
    this.raw = rawClient(kc);
  }

  get namespace(): string {
    return this.identity.namespace;
  }

  /** Whether a cluster-scoped object is one the grader may look at for this learner. */
  ownsClusterObject(kind: string, name: string): boolean {
    if (READABLE_CLUSTER_KINDS.has(kind)) return true;
    if (kind === 'CustomResourceDefinition') return name.endsWith(`.${this.identity.group}`);
    if (kind === 'PriorityClass') return name.startsWith(this.identity.priorityClassPrefix);
    if (kind === 'Namespace') return name === this.identity.namespace;
    return false;
  }

  private async collectionPath(ref: TypeRef): Promise<ApiResult<{ path: string; namespaced: boolean }>> {
    const resource = await this.raw.resource(ref.apiVersion, ref.kind);
    if (!resource.ok) return resource;
    const base = ref.apiVersion.includes('/') ? `/apis/${ref.apiVersion}` : `/api/${ref.apiVersion}`;
    const ns = resource.value.namespaced ? `/namespaces/${encodeURIComponent(this.identity.namespace)}` : '';
    return { ok: true, value: { path: `${base}${ns}/${resource.value.plural}`, namespaced: resource.value.namespaced } };
  }

  private async objectPath(ref: TypeRef, name: string): Promise<ApiResult<string>> {
    const collection = await this.collectionPath(ref);
    if (!collection.ok) return collection;
    if (!collection.value.namespaced && !this.ownsClusterObject(ref.kind, name)) {
      return forbidden(`a check may not read the cluster-scoped ${ref.kind} "${name}": it does not belong to sandbox ${this.identity.namespace}`);
    }
    return { ok: true, value: `${collection.value.path}/${encodeURIComponent(name)}` };
  }

  /** One object; `null` when it does not exist. */
  async get<T extends KubernetesObject = KubernetesObject>(ref: TypeRef, name: string): Promise<ApiResult<T | null>> {
    const path = await this.objectPath(ref, name);
    if (!path.ok) return path;
    const result = await this.raw.get<T>(path.value);
    if (!result.ok && result.error.kind === 'not-found') return { ok: true, value: null };
    return result;
  }

  /** Objects of a kind (in the namespace, or the learner's own cluster-scoped ones), by selector. */
  async list<T extends KubernetesObject = KubernetesObject>(ref: TypeRef, selector?: AnySelector | string, fieldSelector?: string): Promise<ApiResult<T[]>> {
    const collection = await this.collectionPath(ref);
    if (!collection.ok) return collection;
    const query = new URLSearchParams({ limit: String(MAX_LIST) });
    const labels = typeof selector === 'string' ? selector : selectorString(selector);
    if (labels) query.set('labelSelector', labels);
    if (fieldSelector) query.set('fieldSelector', fieldSelector);
    const result = await this.raw.get<{ items?: T[]; metadata?: { continue?: string } }>(`${collection.value.path}?${query.toString()}`);
    if (!result.ok) return result;
    if (result.value.metadata?.continue) {
      return { ok: false, error: { kind: 'invalid', message: `more than ${MAX_LIST} ${ref.kind} objects match; a check examines at most ${MAX_LIST}` } };
    }
    // Items of a list carry no apiVersion and kind; CEL rules and messages want them.
    const items = (result.value.items ?? []).map((item): T => ({ ...item, apiVersion: ref.apiVersion, kind: ref.kind }));
    return { ok: true, value: collection.value.namespaced ? items : items.filter((item) => this.ownsClusterObject(ref.kind, item.metadata?.name ?? '')) };
  }

  /** Pods of the namespace matching a selector, without those being deleted. */
  async pods<T extends KubernetesObject = KubernetesObject>(selector: AnySelector | string): Promise<ApiResult<T[]>> {
    const result = await this.list<T>({ apiVersion: 'v1', kind: 'Pod' }, selector);
    if (!result.ok) return result;
    return { ok: true, value: result.value.filter((p) => !p.metadata?.deletionTimestamp) };
  }

  private inNamespace(object: KubernetesObject): KubernetesObject {
    const metadata = (object.metadata ?? {}) as Record<string, unknown>;
    return { ...object, metadata: { ...metadata, namespace: this.identity.namespace } };
  }

  /** Server-side dry run of a create: what admission and validation say, with nothing stored. */
  async dryRunCreate<T extends KubernetesObject = KubernetesObject>(object: KubernetesObject, collectionPath?: string): Promise<ApiResult<T>> {
    if (collectionPath !== undefined) {
      const result = await this.raw.request<T>('POST', `${collectionPath}?dryRun=All&fieldManager=kubedojo-grader`, this.inNamespace(object));
      return result.ok ? { ok: true, value: result.value.body } : result;
    }
    return this.raw.create<T>(this.inNamespace(object), { dryRun: true, namespace: this.identity.namespace });
  }

  /** Creates a namespaced object in the sandbox (probes of operator checks). */
  async create<T extends KubernetesObject = KubernetesObject>(object: KubernetesObject): Promise<ApiResult<T>> {
    return this.raw.create<T>(this.inNamespace(object), { namespace: this.identity.namespace });
  }

  async mergePatch<T extends KubernetesObject = KubernetesObject>(ref: TypeRef, name: string, patch: Record<string, unknown>): Promise<ApiResult<T>> {
    const path = await this.objectPath(ref, name);
    if (!path.ok) return path;
    const result = await this.raw.request<T>('PATCH', `${path.value}?fieldManager=kubedojo-grader`, patch, 'application/merge-patch+json');
    return result.ok ? { ok: true, value: result.value.body } : result;
  }

  /** Deletes a namespaced object of the sandbox; a missing one is fine. */
  async delete(ref: TypeRef, name: string): Promise<ApiResult<void>> {
    const path = await this.objectPath(ref, name);
    if (!path.ok) return path;
    const collection = await this.collectionPath(ref);
    if (collection.ok && !collection.value.namespaced) return forbidden(`a check deletes only objects in the sandbox's namespace, not the ${ref.kind} "${name}"`);
    const result = await this.raw.delete(path.value);
    if (!result.ok && result.error.kind !== 'not-found') return result;
    return { ok: true, value: undefined };
  }

  /** The collection path of a resource, for dry runs against a learner's freshly made CRD. */
  resourcePath(group: string, version: string, plural: string, namespaced: boolean): string {
    const base = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
    return `${base}${namespaced ? `/namespaces/${encodeURIComponent(this.identity.namespace)}` : ''}/${plural}`;
  }

  /** The metrics API (metrics.k8s.io) answers: needed by the autoscaler's load test. */
  async metricsAvailable(): Promise<boolean> {
    const result = await this.raw.get<unknown>(`/apis/metrics.k8s.io/v1beta1/namespaces/${encodeURIComponent(this.identity.namespace)}/pods?limit=1`);
    return result.ok;
  }
}
