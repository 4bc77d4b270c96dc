import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { z } from 'zod';
import type { Logger } from '../logger.ts';
import type { ApiError, ApiResult } from './api.ts';
import { rawClient } from './apply.ts';

/**
 * Simulated CPU and memory usage of pods on the embedded cluster, so that metrics-server, and
 * through it the real HorizontalPodAutoscaler controller, see load where no container runs.
 *
 * kwok (the kubelet of every node) reports the usage of each container from ClusterResourceUsage
 * objects. It takes the first object whose selector matches a pod, in no fixed order, and a
 * selector can only name namespaces and pod names. So the platform keeps one object,
 * `kubedojo-simulated-usage` (sandboxes/kwok/usage.yaml), and writes its CEL expressions from a
 * list of rules kept in its annotation: each rule matches pods by namespace and a label selector
 * (or pod names) and expires on its own. A label rule also covers pods created after it was set,
 * such as those of a scale-up. Every change is a read, then a write conditional on the
 * resourceVersion, retried on conflict, so concurrent callers do not lose each other's rules.
 *
 * Usage is per pod, shared evenly by its containers; pods no rule matches use 1m CPU and 4Mi per
 * container. Only the platform's credentials can write kwok.x-k8s.io objects.
 */

export const USAGE_OBJECT_NAME = 'kubedojo-simulated-usage';
export const USAGE_RULES_ANNOTATION = 'kubedojo.dev/simulated-usage';
/** What each container of a pod without a rule uses: an idle HPA stays where it is. */
export const DEFAULT_CONTAINER_USAGE = { cpu: '1m', memory: '4Mi' } as const;
export const DEFAULT_TTL_SECONDS = 30 * 60;
const MAX_TTL_SECONDS = 24 * 60 * 60;
const OBJECT_PATH = `/apis/kwok.x-k8s.io/v1alpha1/clusterresourceusages/${USAGE_OBJECT_NAME}`;
const COLLECTION_PATH = '/apis/kwok.x-k8s.io/v1alpha1/clusterresourceusages';
const MAX_ATTEMPTS = 10;

// The Kubernetes formats; none of them admits a quote or a backslash, so values are safe
// inside CEL string literals (which are escaped anyway).
const dnsLabel = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS label (lower-case letters, digits and "-")');
const dnsSubdomain = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'must be a DNS subdomain');
const labelKey = z
  .string()
  .max(317)
  .regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, 'must be a label key');
const labelValue = z
  .string()
  .max(63)
  .regex(/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/, 'must be a label value');
const quantity = z
  .string()
  .regex(/^\+?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE]\+?[0-9]+))?$/, 'must be a non-negative Kubernetes quantity such as "900m" or "64Mi"');

const requirementSchema = z
  .object({
    key: labelKey,
    operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
    values: z.array(labelValue).optional(),
  })
  .strict()
  .refine((r) => (r.operator === 'In' || r.operator === 'NotIn' ? (r.values?.length ?? 0) > 0 : (r.values?.length ?? 0) === 0), {
    message: 'In and NotIn need values; Exists and DoesNotExist take none',
  });

const selectorSchema = z
  .object({
    matchLabels: z.record(labelKey, labelValue).optional(),
    matchExpressions: z.array(requirementSchema).optional(),
  })
  .strict();

/** A label selector requirement; the operator is checked at run time (In, NotIn, Exists, DoesNotExist). */
export interface LabelSelectorRequirement {
  key: string;
  operator: string;
  values?: string[] | undefined;
}
/** A Kubernetes label selector: a Deployment's spec.selector can be passed as it is. `{}` matches every pod. */
export interface LabelSelector {
  matchLabels?: Record<string, string> | undefined;
  matchExpressions?: LabelSelectorRequirement[] | undefined;
}
type Selector = z.infer<typeof selectorSchema>;
type Requirement = z.infer<typeof requirementSchema>;

/** Which pods: in one namespace, either by name or by labels (not both). */
export type UsageTarget = { namespace: string; podNames: readonly string[]; selector?: undefined } | { namespace: string; selector: LabelSelector; podNames?: undefined };

export interface UsageAmount {
  /** CPU each matching pod uses, e.g. "900m" (shared by its containers). */
  cpu: string;
  /** Memory each matching pod uses, e.g. "64Mi"; without it the pod keeps the default. */
  memory?: string;
  /** The rule lapses after this long even if nobody clears it (default 1800, at most a day). */
  ttlSeconds?: number;
}

export type SetUsageRequest = UsageTarget & UsageAmount;
/** A target, or just a namespace to clear every rule of it. */
export type ClearUsageRequest = UsageTarget | { namespace: string; podNames?: undefined; selector?: undefined };

export interface UsageOptions {
  logger?: Logger;
  /** For tests. */
  now?: () => Date;
}

const ruleSchema = z.object({
  namespace: dnsLabel,
  podNames: z.array(dnsSubdomain).min(1).optional(),
  selector: selectorSchema.optional(),
  cpu: quantity,
  memory: quantity.optional(),
  expiresAt: z.iso.datetime(),
});
/** One stored rule, as listed by listSimulatedUsage. */
export type UsageRule = z.infer<typeof ruleSchema>;

const targetFields = {
  namespace: dnsLabel,
  podNames: z.array(dnsSubdomain).min(1).max(500).optional(),
  selector: selectorSchema.optional(),
};
const setSchema = z
  .object({ ...targetFields, cpu: quantity, memory: quantity.optional(), ttlSeconds: z.number().int().positive().max(MAX_TTL_SECONDS).optional() })
  .strict()
  .refine((r) => (r.podNames === undefined) !== (r.selector === undefined), { message: 'give exactly one of podNames and selector' });
const clearSchema = z
  .object(targetFields)
  .strict()
  .refine((r) => r.podNames === undefined || r.selector === undefined, { message: 'give podNames or selector, not both (or neither, for the whole namespace)' });

function invalid(error: z.ZodError): ApiError {
  const problems = error.issues.map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message));
  return { kind: 'invalid', message: `simulated usage: ${problems.join('; ')}` };
}

/** The same target written the same way, whatever the order of labels, names and values. */
function canonicalSelector(selector: Selector): Selector {
  const out: Selector = {};
  if (selector.matchLabels && Object.keys(selector.matchLabels).length > 0) {
    out.matchLabels = Object.fromEntries(Object.entries(selector.matchLabels).sort(([a], [b]) => a.localeCompare(b)));
  }
  if (selector.matchExpressions && selector.matchExpressions.length > 0) {
    out.matchExpressions = selector.matchExpressions
      .map((r) => ({ key: r.key, operator: r.operator, ...(r.values && r.values.length > 0 ? { values: [...new Set(r.values)].sort() } : {}) }))
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  }
  return out;
}

function targetKey(rule: { namespace: string; podNames?: readonly string[] | undefined; selector?: Selector | undefined }): string {
  return JSON.stringify([rule.namespace, rule.podNames ? [...rule.podNames].sort() : null, rule.selector ? canonicalSelector(rule.selector) : null]);
}

// ---------------------------------------------------------------------------------------------
// Rendering: rules → CEL expressions (pure, unit-tested)

const str = (value: string): string => JSON.stringify(value);
const LABELS = 'pod.metadata.labels';

function requirementCel(r: Requirement): string {
  const has = `${str(r.key)} in ${LABELS}`;
  const list = `[${(r.values ?? []).map(str).join(', ')}]`;
  switch (r.operator) {
    case 'In':
      return `(${has} && ${LABELS}[${str(r.key)}] in ${list})`;
    case 'NotIn':
      return `(!(${has}) || !(${LABELS}[${str(r.key)}] in ${list}))`;
    case 'Exists':
      return `(${has})`;
    case 'DoesNotExist':
      return `!(${has})`;
  }
}

/** The CEL condition for the pods a rule matches, and only while it has not expired. */
export function ruleCondition(rule: UsageRule): string {
  const parts = [`pod.metadata.namespace == ${str(rule.namespace)}`];
  if (rule.podNames) parts.push(`pod.metadata.name in [${rule.podNames.map(str).join(', ')}]`);
  if (rule.selector) {
    for (const [key, value] of Object.entries(rule.selector.matchLabels ?? {})) parts.push(`(${str(key)} in ${LABELS} && ${LABELS}[${str(key)}] == ${str(value)})`);
    for (const r of rule.selector.matchExpressions ?? []) parts.push(requirementCel(r));
  }
  parts.push(`Now() < timestamp(${str(rule.expiresAt)})`);
  return parts.join(' && ');
}

function chain(rules: readonly UsageRule[], pick: (rule: UsageRule) => string | undefined, fallback: string): string {
  const branches = rules.flatMap((rule) => {
    const amount = pick(rule);
    // A pod's amount is shared by its containers (kwok asks per container).
    return amount === undefined ? [] : [`${ruleCondition(rule)}\n  ? Quantity(${str(amount)}) / pod.spec.containers.size()\n  : `];
  });
  return `${branches.join('')}Quantity(${str(fallback)})`;
}

/** The ClusterResourceUsage object for these rules (the first matching rule wins). */
export function renderUsageObject(rules: readonly UsageRule[]): KubernetesObject & { spec: unknown } {
  return {
    apiVersion: 'kwok.x-k8s.io/v1alpha1',
    kind: 'ClusterResourceUsage',
    metadata: { name: USAGE_OBJECT_NAME, annotations: { [USAGE_RULES_ANNOTATION]: JSON.stringify(rules) } },
    spec: {
      usages: [
        {
          usage: {
            cpu: { expression: chain(rules, (r) => r.cpu, DEFAULT_CONTAINER_USAGE.cpu) },
            memory: { expression: chain(rules, (r) => r.memory, DEFAULT_CONTAINER_USAGE.memory) },
          },
        },
      ],
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Reading and writing the object

interface StoredObject extends KubernetesObject {
  spec?: unknown;
}

function rulesOf(object: StoredObject | undefined, log: Logger | undefined): UsageRule[] {
  const text = object?.metadata?.annotations?.[USAGE_RULES_ANNOTATION];
  if (text === undefined) return [];
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    raw = undefined;
  }
  const parsed = z.array(ruleSchema).safeParse(raw);
  if (!parsed.success) {
    // Only the platform writes it; if it is damaged, start again rather than fail every grader.
    log?.warn({ object: USAGE_OBJECT_NAME }, 'the simulated usage rules could not be read; starting from none');
    return [];
  }
  return parsed.data;
}

const notServed = (cause: string): ApiError => ({
  kind: 'not-found',
  message: `simulated usage needs kwok's ClusterResourceUsage API (kwok.x-k8s.io/v1alpha1), which the embedded cluster serves and this cluster does not: ${cause}`,
});

/** Reads the rules, applies `change`, writes them back conditionally; retried on conflict. */
async function updateRules<T>(
  kc: KubeConfig,
  options: UsageOptions,
  change: (rules: UsageRule[], now: Date) => { rules: UsageRule[]; result: T },
): Promise<ApiResult<T>> {
  const client = rawClient(kc);
  const now = options.now ?? (() => new Date());
  let last: ApiError = { kind: 'conflict', message: 'the simulated usage object kept changing' };
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
    const read = await client.request<StoredObject>('GET', OBJECT_PATH);
    if (!read.ok && read.error.kind !== 'not-found') return read;
    const current = read.ok ? read.value.body : undefined;
    const at = now();
    const before = rulesOf(current, options.logger);
    const live = before.filter((r) => Date.parse(r.expiresAt) > at.getTime());
    const { rules, result } = change(live, at);
    if (current && JSON.stringify(rules) === JSON.stringify(before)) return { ok: true, value: result };
    const object = renderUsageObject(rules);
    const written = current
      ? await client.request<StoredObject>('PUT', OBJECT_PATH, {
          ...object,
          // Conditional: a concurrent writer makes this fail with 409 and we read again.
          metadata: { name: USAGE_OBJECT_NAME, annotations: object.metadata?.annotations, resourceVersion: current.metadata?.resourceVersion },
        })
      : await client.request<StoredObject>('POST', COLLECTION_PATH, object);
    if (written.ok) return { ok: true, value: result };
    last = written.error;
    if (!current && written.error.kind === 'not-found') return { ok: false, error: notServed(written.error.message) };
    // 409: someone else wrote in between (or created it first): read again.
    if (written.error.kind !== 'conflict') return written;
  }
  return { ok: false, error: last };
}

/**
 * Every pod of the target (for a selector: also pods created later) reports this usage until
 * cleared or until the rule expires. Setting the same target again replaces its rule.
 */
export async function setSimulatedUsage(kc: KubeConfig, request: SetUsageRequest, options: UsageOptions = {}): Promise<ApiResult<UsageRule>> {
  const parsed = setSchema.safeParse(request);
  if (!parsed.success) return { ok: false, error: invalid(parsed.error) };
  const input = parsed.data;
  const result = await updateRules(kc, options, (rules, now) => {
    const rule: UsageRule = {
      namespace: input.namespace,
      ...(input.podNames ? { podNames: [...new Set(input.podNames)].sort() } : {}),
      ...(input.selector ? { selector: canonicalSelector(input.selector) } : {}),
      cpu: input.cpu,
      ...(input.memory !== undefined ? { memory: input.memory } : {}),
      expiresAt: new Date(now.getTime() + (input.ttlSeconds ?? DEFAULT_TTL_SECONDS) * 1000).toISOString(),
    };
    const key = targetKey(rule);
    // The newest rule comes first, so it wins where targets overlap.
    return { rules: [rule, ...rules.filter((r) => targetKey(r) !== key)], result: rule };
  });
  if (result.ok) options.logger?.info({ namespace: input.namespace, cpu: input.cpu, memory: input.memory, expiresAt: result.value.expiresAt }, 'set simulated usage');
  return result;
}

/**
 * Removes the rule for exactly this target, or with only a namespace every rule of that
 * namespace; the pods fall back to the default usage. Removing nothing is not an error.
 */
export async function clearSimulatedUsage(kc: KubeConfig, request: ClearUsageRequest, options: UsageOptions = {}): Promise<ApiResult<{ removed: number }>> {
  const parsed = clearSchema.safeParse(request);
  if (!parsed.success) return { ok: false, error: invalid(parsed.error) };
  const input = parsed.data;
  const whole = input.podNames === undefined && input.selector === undefined;
  const key = whole ? '' : targetKey(input);
  const result = await updateRules(kc, options, (rules) => {
    const kept = rules.filter((r) => (whole ? r.namespace !== input.namespace : targetKey(r) !== key));
    return { rules: kept, result: { removed: rules.length - kept.length } };
  });
  if (result.ok) options.logger?.info({ namespace: input.namespace, removed: result.value.removed }, 'cleared simulated usage');
  return result;
}

/** The rules in force now, newest first. */
export async function listSimulatedUsage(kc: KubeConfig, options: UsageOptions = {}): Promise<ApiResult<UsageRule[]>> {
  const read = await rawClient(kc).request<StoredObject>('GET', OBJECT_PATH);
  if (!read.ok) return read.error.kind === 'not-found' ? { ok: true, value: [] } : read;
  const now = (options.now ?? (() => new Date()))().getTime();
  return { ok: true, value: rulesOf(read.value.body, options.logger).filter((r) => Date.parse(r.expiresAt) > now) };
}
