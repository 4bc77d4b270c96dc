import fs from 'node:fs';
import path from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { parse, parseAllDocuments } from 'yaml';
import { z } from 'zod';
import type { Subject } from '../cluster/identity.ts';
import { sandboxesDir } from '../cluster/paths.ts';
import type { SandboxNodes, SandboxSize } from '../vocabulary.ts';

/**
 * Renders sandboxes/templates/ for one sandbox: the namespace and the objects in it. The
 * templates are read once; rendering is string substitution of known placeholders into parsed
 * YAML values (never into YAML source), so a learner name cannot inject YAML.
 */

const sizeSchema = z.strictObject({
  quota: z.record(z.string(), z.string()),
  limits: z.strictObject({
    defaultRequest: z.record(z.string(), z.string()),
    default: z.record(z.string(), z.string()),
    max: z.record(z.string(), z.string()),
  }),
});
const sizesSchema = z.strictObject({ small: sizeSchema, medium: sizeSchema, large: sizeSchema });
export type SizeSpec = z.infer<typeof sizeSchema>;

export interface TemplateValues {
  namespace: string;
  sandboxId: string;
  learnerKey: string;
  learnerName: string;
  lesson: string;
  lessonKey: string;
  workshop: string;
  size: SandboxSize;
  nodes: SandboxNodes;
  createdAt: string;
  expiresAt: string;
}

interface Templates {
  objects: unknown[];
  sizes: Record<SandboxSize, SizeSpec>;
}

let cached: Templates | undefined;

export function loadTemplates(dir = path.join(sandboxesDir, 'templates')): Templates {
  if (cached && dir === path.join(sandboxesDir, 'templates')) return cached;
  const objects = parseAllDocuments(fs.readFileSync(path.join(dir, 'sandbox.yaml'), 'utf8'))
    .map((d) => d.toJS() as unknown)
    .filter((o) => o !== null && o !== undefined);
  const sizes = sizesSchema.parse(parse(fs.readFileSync(path.join(dir, 'sizes.yaml'), 'utf8')));
  const templates = { objects, sizes };
  if (dir === path.join(sandboxesDir, 'templates')) cached = templates;
  return templates;
}

function substitute(value: unknown, values: TemplateValues): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([a-zA-Z]+)\}/g, (whole, name: string) => {
      const replacement = (values as unknown as Record<string, string | undefined>)[name];
      return replacement ?? whole;
    });
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, values));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [substitute(k, values) as string, substitute(v, values)]));
  }
  return value;
}

const managed = { 'kubedojo.dev/managed-by': 'kubedojo' };

/** The learner's custom-resources Role grants every verb on their own API group (sandbox.yaml). */
export const CUSTOM_RESOURCES_ROLE = 'kubedojo-learner-custom-resources';

/**
 * Every object of a sandbox, namespace first; `quota` overrides entries of the size's quota
 * (settings). `platform`, the platform's own identity, is bound to the learner's custom-resources
 * Role: graders read and probe the learner's custom resources through it, since no ClusterRole
 * can name a per-sandbox API group (a platform without cluster-admin has no other way in).
 */
export function renderSandbox(values: TemplateValues, templates = loadTemplates(), quota: Record<string, string> = {}, platform?: Subject): KubernetesObject[] {
  const size = templates.sizes[values.size];
  const objects = templates.objects.map((o) => substitute(o, values) as KubernetesObject);
  objects.push(
    {
      apiVersion: 'v1',
      kind: 'ResourceQuota',
      metadata: { name: 'kubedojo-quota', namespace: values.namespace, labels: managed },
      spec: { hard: { ...size.quota, ...quota } },
    } as KubernetesObject,
    {
      apiVersion: 'v1',
      kind: 'LimitRange',
      metadata: { name: 'kubedojo-limits', namespace: values.namespace, labels: managed },
      spec: { limits: [{ type: 'Container', default: size.limits.default, defaultRequest: size.limits.defaultRequest, max: size.limits.max }] },
    } as KubernetesObject,
  );
  if (platform) {
    objects.push({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'kubedojo-platform-custom-resources', namespace: values.namespace, labels: managed },
      subjects: [platform],
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: CUSTOM_RESOURCES_ROLE },
    } as KubernetesObject);
  }
  return objects;
}
