import { z } from 'zod';
import type { CheckKind } from '../vocabulary.ts';
import { compileError } from './cel.ts';

/**
 * The fields of each check kind a lab file may declare (`exercises[].checks[]`). Every kind is a
 * strict object, so a misspelt field is an error at load with its line, not a check that
 * silently tests nothing. Strings may hold the lab placeholders (${namespace}, ${group},
 * ${priorityClassPrefix}); operator checks also `{{probe.name}}`.
 */

/** Messages for a mapping field: missing and mistyped read differently. */
const mapping = (what: string) => ({ error: (issue: { input?: unknown }) => (issue.input === undefined ? `is required: ${what}` : `must be ${what}`) });
const nonEmpty = (what: string) => z.string({ error: `must be ${what}` }).min(1, `must be ${what}`);
const seconds = (max: number) => z.number({ error: 'must be a number of seconds' }).int('must be whole seconds').min(1, 'must be at least 1').max(max, `must be at most ${max}`);
const count = z.number({ error: 'must be a whole number' }).int('must be a whole number').min(0, 'must not be negative');
const labels = z.record(z.string(), z.string({ error: 'label values must be strings' }), { error: 'must be a mapping of label keys to values' });
const quantity = z
  .union([z.string(), z.number()], { error: 'must be a quantity such as 900m or 1.5' })
  .transform(String)
  .refine((q) => /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[numkKMGTPE]i?|Ei|Pi|Ti|Gi|Mi|Ki)?$/.test(q), 'must be a Kubernetes quantity such as 900m, 2, 64Mi or 1Gi');

/** Placeholders are filled per learner; for compiling, any identifier-safe value does. */
function compilable(expression: string): string {
  return expression.replace(/\$\{[^}\n]*\}/g, 'x').replace(/\{\{[^}\n]*\}\}/g, 'x');
}

export const celExpression = nonEmpty('a CEL expression').superRefine((expression, ctx) => {
  const problem = compileError(compilable(expression));
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `CEL expression does not compile: ${problem}` });
});

/** A CEL rule: the expression must be true; the message says what was expected when it is not. */
export const celRule = z.strictObject({ expression: celExpression, message: nonEmpty('a message for the learner') }, mapping('a mapping {expression, message}'));
export type CelRule = z.output<typeof celRule>;

const requirement = z.strictObject({
  key: nonEmpty('a label key'),
  operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist'], { error: 'must be In, NotIn, Exists or DoesNotExist' }),
  values: z.array(z.string()).optional(),
});
export const labelSelector = z
  .strictObject({ matchLabels: labels.optional(), matchExpressions: z.array(requirement, { error: 'must be a list' }).optional() }, mapping('a label selector {matchLabels, matchExpressions}'))
  .refine((s) => s.matchLabels !== undefined || s.matchExpressions !== undefined, 'needs matchLabels or matchExpressions');
export type LabelSelector = z.output<typeof labelSelector>;

const typeMeta = { apiVersion: nonEmpty('an apiVersion such as "v1" or "apps/v1"'), kind: nonEmpty('a kind such as "Deployment"') };

/** One object by name, or every object a selector matches, in the learner's namespace. */
export const target = z
  .strictObject({ ...typeMeta, name: nonEmpty('an object name').optional(), selector: labelSelector.optional() }, mapping('a mapping {apiVersion, kind, name or selector}'))
  .refine((t) => (t.name === undefined) !== (t.selector === undefined), 'needs exactly one of "name" or "selector"');
export type Target = z.output<typeof target>;

export const namedTarget = z.strictObject({ ...typeMeta, name: nonEmpty('an object name') }, mapping('a mapping {apiVersion, kind, name}'));
export type NamedTarget = z.output<typeof namedTarget>;

const kubeObject = z.looseObject(
  {
    apiVersion: nonEmpty('an apiVersion'),
    kind: nonEmpty('a kind'),
    metadata: z.looseObject({ name: nonEmpty('a name') }, mapping('a mapping with a name')),
  },
  mapping('a Kubernetes object {apiVersion, kind, metadata}'),
);
export type ProbeObject = z.output<typeof kubeObject>;

const partial = z.record(z.string(), z.unknown(), { error: 'must be a mapping: the fields the object must have' });

const common = {
  name: z
    .string({ error: 'must be a string' })
    .max(63, 'must be at most 63 characters')
    .regex(/^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/, 'must be a DNS label: lowercase letters, digits and "-"')
    .optional(),
  description: z.string({ error: 'must be a string' }).optional(),
  /** Shown with a failure: where to look next. */
  hint: z.string({ error: 'must be a string' }).optional(),
  /** Checks are retried until they pass or this passes. */
  timeoutSeconds: seconds(600).optional(),
};

/** With a named target and nothing else: the object exists. */
export const resourceCheck = z.strictObject({
    kind: z.literal('resource'),
    ...common,
    target,
    /** For a selector: how many objects must match (default at least 1). */
    count: z.strictObject({ min: count.optional(), max: count.optional() }).optional(),
    expect: partial.optional(),
  cel: z.array(celRule, { error: 'must be a list of {expression, message}' }).optional(),
});

export const celCheck = z.strictObject({
  kind: z.literal('cel'),
  ...common,
  target,
  expressions: z.array(celRule, { error: 'must be a list of {expression, message}' }).min(1, 'needs at least one expression'),
});

export const crdCheck = z
  .strictObject({
    kind: z.literal('crd'),
    ...common,
    /** The CRD's name: <plural>.<group>. */
    crd: nonEmpty('a CRD name such as databases.example.com'),
    group: z.string().optional(),
    names: z
      .strictObject({ kind: z.string().optional(), plural: z.string().optional(), singular: z.string().optional(), listKind: z.string().optional(), shortNames: z.array(z.string()).optional() })
      .optional(),
    scope: z.enum(['Namespaced', 'Cluster'], { error: 'must be Namespaced or Cluster' }).optional(),
    versions: z.array(z.strictObject({ name: nonEmpty('a version name'), served: z.boolean().optional(), storage: z.boolean().optional() })).optional(),
    /** Objects a server-side dry run must accept. */
    valid: z.array(kubeObject, { error: 'must be a list of objects' }).optional(),
    /** Objects a server-side dry run must reject, each with the reason shown to the learner. */
    invalid: z.array(z.strictObject({ because: nonEmpty('the reason it must be rejected'), object: kubeObject }), { error: 'must be a list of {because, object}' }).optional(),
  });

export const operatorCheck = z
  .strictObject({
    kind: z.literal('operator'),
    ...common,
    /** A custom resource the grader creates for the learner's operator to reconcile. */
    probe: kubeObject,
    /** Objects the operator must create, each controlled by the probe (ownerReference, controller: true). */
    owned: z.array(namedTarget, { error: 'must be a list of {apiVersion, kind, name}' }).optional(),
    /** Rules the probe must come to satisfy (`object` is the probe): its status. */
    status: z.array(celRule).optional(),
    /** A change to the probe's spec, and what must follow from it. */
    update: z
      .strictObject({
        patch: partial,
        expect: z.array(z.strictObject({ target: namedTarget, expression: celExpression, message: nonEmpty('a message') })).min(1, 'needs at least one expectation'),
      })
      .optional(),
    /** Delete the probe at the end and expect the owned objects to be garbage-collected. */
    cleanup: z.boolean().optional(),
  })
  .refine((c) => c.owned !== undefined || c.status !== undefined || c.update !== undefined, 'needs "owned", "status" or "update"');

const workload = namedTarget;

export const schedulingCheck = z.strictObject({
  kind: z.literal('scheduling'),
  ...common,
  /** The Deployment, StatefulSet, Job, … whose Pods are examined. */
  workload,
  expect: z
    .strictObject(
      {
        /** At least this many Pods must be bound (default 1). */
        minPods: count.optional(),
        /** Every Pod is bound to a node with these labels ("*": the label exists, any value). */
        nodeLabels: labels.optional(),
        /** No Pod is bound to a node with these labels. */
        notOnNodeLabels: labels.optional(),
        /** At least one Pod runs in this zone (topology.kubernetes.io/zone). */
        preferredZone: z.string().optional(),
        /** No two Pods share a value of this node label (e.g. kubernetes.io/hostname). */
        spreadBy: z.string().optional(),
        /** Every Pod tolerates this taint. */
        tolerates: z
          .strictObject({ key: nonEmpty('a taint key'), value: z.string().optional(), effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional() })
          .optional(),
      },
      mapping('a mapping of expectations: minPods, nodeLabels, notOnNodeLabels, preferredZone, spreadBy, tolerates'),
    )
    .refine((e) => Object.keys(e).length > 0, 'needs at least one expectation'),
});

const hpaMetric = z
  .strictObject({
    type: z.enum(['Resource', 'Pods', 'Object', 'External', 'ContainerResource'], { error: 'must be a metric type such as Resource or Pods' }),
    /** For Resource and ContainerResource: cpu or memory. */
    resource: z.string().optional(),
    /** For Pods, Object and External: the metric's name. */
    metric: z.string().optional(),
    averageUtilization: z.number().int().optional(),
    averageValue: quantity.optional(),
    value: quantity.optional(),
  })
  .refine((m) => m.averageUtilization !== undefined || m.averageValue !== undefined || m.value !== undefined, 'needs averageUtilization, averageValue or value');
export type HpaMetricExpectation = z.output<typeof hpaMetric>;

const scalingRules = z.strictObject({
  stabilizationWindowSeconds: count.optional(),
  selectPolicy: z.enum(['Max', 'Min', 'Disabled']).optional(),
  policies: z.array(z.strictObject({ type: z.enum(['Pods', 'Percent']), value: z.number().int().min(1), periodSeconds: z.number().int().min(1) })).optional(),
});
export type ScalingRulesExpectation = z.output<typeof scalingRules>;

export const autoscalerCheck = z
  .strictObject({
    kind: z.literal('autoscaler'),
    ...common,
    /** The HorizontalPodAutoscaler's name. */
    hpa: nonEmpty('the name of a HorizontalPodAutoscaler'),
    expect: z
      .strictObject({
        target: z.strictObject({ kind: nonEmpty('a kind'), name: nonEmpty('a name'), apiVersion: z.string().optional() }).optional(),
        minReplicas: z.number().int().optional(),
        maxReplicas: z.number().int().optional(),
        /** The complete set of metrics, in any order. */
        metrics: z.array(hpaMetric).optional(),
        behavior: z.strictObject({ scaleUp: scalingRules.optional(), scaleDown: scalingRules.optional() }).optional(),
      })
      .optional(),
    /** Simulated usage on the target's Pods, and the scale-up the real HPA controller must make. */
    load: z
      .strictObject({ cpu: quantity.optional(), memory: quantity.optional(), expectReplicasAtLeast: z.number().int().min(1), withinSeconds: seconds(600) })
      .refine((l) => l.cpu !== undefined || l.memory !== undefined, 'needs cpu or memory usage to simulate')
      .optional(),
  })
  .refine((c) => c.expect !== undefined || c.load !== undefined, 'needs "expect" or "load"');

export const resourcesCheck = z
  .strictObject({
    kind: z.literal('resources'),
    ...common,
    /** A workload whose Pods the quota, LimitRange and PriorityClass admission must have let in. */
    workload: workload.optional(),
    expect: z
      .strictObject({
        /** Every Pod the workload wants was admitted (no quota or LimitRange refusal). */
        allPodsCreated: z.boolean().optional(),
        /** The Pods run with this resolved priority (their PriorityClass is in effect). */
        priority: z.number().int().optional(),
        /** The Pods' QoS class. */
        qosClass: z.enum(['Guaranteed', 'Burstable', 'BestEffort']).optional(),
      })
      .optional(),
    /** A PriorityClass of the learner's. */
    priorityClass: z
      .strictObject({ name: nonEmpty('a PriorityClass name'), value: z.number().int().optional(), valueBelow: z.number().int().optional() })
      .optional(),
    /** A Pod created by server-side dry run: what admission (quota, LimitRange) does to it. */
    admission: z
      .strictObject({
        pod: z.looseObject({ metadata: z.looseObject({ name: nonEmpty('a name') }), spec: z.looseObject({}) }),
        admitted: z.boolean(),
        /** When admitted: fields the admitted Pod must have (LimitRange defaults, priority …). */
        expect: partial.optional(),
        /** When refused: text the API's message must contain. */
        messageContains: z.string().optional(),
      })
      .optional(),
  })
  .refine((c) => c.workload !== undefined || c.priorityClass !== undefined || c.admission !== undefined, 'needs "workload", "priorityClass" or "admission"')
  .refine((c) => c.workload === undefined || c.expect !== undefined, { message: 'a "workload" needs "expect"', path: ['expect'] });

const peer = z
  .strictObject(
    {
      /** A Pod of the sandbox, by name (its labels and container ports are what the policies see). */
      pod: nonEmpty('a Pod name').optional(),
      /** Or any Pod with these labels: a real one of the sandbox if there is one, else one as it would be. */
      podLabels: labels.optional(),
      /** Labels of the peer's namespace (with podLabels); the learner's own namespace when left out. */
      namespaceLabels: labels.optional(),
    },
    mapping('a peer {pod} or {podLabels, namespaceLabels}'),
  )
  .refine((p) => (p.pod === undefined) !== (p.podLabels === undefined), 'needs exactly one of "pod" or "podLabels"')
  .refine((p) => p.pod === undefined || p.namespaceLabels === undefined, 'a peer named by "pod" is in the sandbox; "namespaceLabels" goes with "podLabels"');
export const networkPolicyCheck = z.strictObject({
  kind: z.literal('networkpolicy'),
  ...common,
  cases: z
    .array(
      z.strictObject({
        from: peer,
        to: peer,
        port: z.union([z.number().int().min(1).max(65535), z.string().min(1)], { error: 'must be a port number or a named port' }),
        protocol: z.enum(['TCP', 'UDP', 'SCTP']).optional(),
        allowed: z.boolean({ error: 'must be true or false' }),
      }),
    )
    .min(1, 'needs at least one case'),
});

const trackSpec = z.strictObject({ selector: labels, replicas: z.number().int().min(0) });
export const rolloutCheck = z
  .strictObject({
    kind: z.literal('rollout'),
    ...common,
    /** One Service whose ready endpoints split between a stable and a canary track. */
    canary: z.strictObject({ service: nonEmpty('a Service name'), stable: trackSpec, canary: trackSpec }).optional(),
    /** A Service switched to one colour: it selects exactly the active Pods, none of the idle ones. */
    blueGreen: z.strictObject({ service: nonEmpty('a Service name'), active: trackSpec, idle: trackSpec.optional() }).optional(),
    statefulSet: z
      .strictObject({ name: nonEmpty('a StatefulSet name'), replicas: z.number().int().min(0).optional(), serviceName: z.string().optional(), headless: z.boolean().optional() })
      .optional(),
    job: z
      .strictObject({ name: nonEmpty('a Job name'), completions: z.number().int().optional(), parallelism: z.number().int().optional(), succeeded: z.boolean().optional() })
      .optional(),
    cronJob: z
      .strictObject({
        name: nonEmpty('a CronJob name'),
        /** Compared by meaning: "0 2 1-31 * *" equals "0 2 * * *". */
        schedule: z.string().optional(),
        timeZone: z.string().optional(),
        concurrencyPolicy: z.enum(['Allow', 'Forbid', 'Replace']).optional(),
        successfulJobsHistoryLimit: z.number().int().optional(),
        failedJobsHistoryLimit: z.number().int().optional(),
        startingDeadlineSeconds: z.number().int().optional(),
        suspend: z.boolean().optional(),
      })
      .optional(),
  })
  .refine((c) => [c.canary, c.blueGreen, c.statefulSet, c.job, c.cronJob].filter((x) => x !== undefined).length === 1, 'needs exactly one of canary, blueGreen, statefulSet, job or cronJob');

export const checkSchemas = {
  resource: resourceCheck,
  crd: crdCheck,
  operator: operatorCheck,
  scheduling: schedulingCheck,
  autoscaler: autoscalerCheck,
  resources: resourcesCheck,
  networkpolicy: networkPolicyCheck,
  rollout: rolloutCheck,
  cel: celCheck,
} as const satisfies Record<CheckKind, z.ZodType>;

export type CheckOf<K extends CheckKind> = z.output<(typeof checkSchemas)[K]>;
export type CheckDefinition = { [K in CheckKind]: CheckOf<K> }[CheckKind];
