import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { fields } from '../../server/config.ts';
import { APP_USER } from '../../server/cluster/images/app.ts';
import { projectRoot } from '../../server/cluster/paths.ts';
import { USAGE_OBJECT_NAME } from '../../server/cluster/usage.ts';
import { LEASE_NAME } from '../../server/cluster/lease.ts';
import { chartDir } from '../../server/deploy/helm.ts';
import { syncChartPolicies } from '../../server/deploy/render.ts';
import { POLICY_FILES } from '../../server/sandboxes/policies.ts';
import { CUSTOM_RESOURCES_ROLE } from '../../server/sandboxes/template.ts';

/** The chart's pure parts, read without helm: its ClusterRole, its values and their schema. */

const ruleSchema = z.strictObject({
  apiGroups: z.array(z.string()),
  resources: z.array(z.string()),
  verbs: z.array(z.string()).min(1),
  resourceNames: z.array(z.string()).optional(),
});
type Rule = z.infer<typeof ruleSchema>;

async function platformRules(): Promise<Rule[]> {
  return z.array(ruleSchema).parse(parse(await fs.readFile(path.join(chartDir, 'files', 'platform-rules.yaml'), 'utf8')));
}

const readYaml = async (file: string): Promise<unknown> => parse(await fs.readFile(file, 'utf8'));

async function policyNames(): Promise<Map<string, string[]>> {
  const byKind = new Map<string, string[]>();
  for (const file of POLICY_FILES) {
    for (const doc of parseAllDocuments(await fs.readFile(path.join(projectRoot, 'sandboxes', 'policies', file), 'utf8'))) {
      const o = doc.toJS() as { kind?: string; metadata?: { name?: string } } | null;
      if (!o?.kind || !o.metadata?.name) continue;
      byKind.set(o.kind, [...(byKind.get(o.kind) ?? []), o.metadata.name]);
    }
  }
  return byKind;
}

describe("the platform's ClusterRole", () => {
  it('holds no "*" verb, resource or group, and no verb that only an admin needs', async () => {
    const rules = await platformRules();
    expect(rules.length).toBeGreaterThan(10);
    for (const rule of rules) {
      expect(rule.verbs, JSON.stringify(rule)).not.toContain('*');
      expect(rule.resources, JSON.stringify(rule)).not.toContain('*');
      expect(rule.apiGroups, JSON.stringify(rule)).not.toContain('*');
      for (const verb of rule.verbs) expect(['get', 'list', 'watch', 'create', 'patch', 'update', 'delete', 'bind', 'escalate']).toContain(verb);
      // Never deletecollection, impersonate, approve, sign, nodes/proxy or secrets.
      expect(rule.resources.filter((r) => r === 'secrets' || r.startsWith('nodes/') || r === 'users' || r === 'groups'), JSON.stringify(rule)).toEqual([]);
    }
  });

  it('uses escalate and bind only on the roles the sandboxes bind, by name', async () => {
    const rules = await platformRules();
    const learnerRoles = (await policyNames()).get('ClusterRole') ?? [];
    expect(learnerRoles.sort()).toEqual(['kubedojo:learner', 'kubedojo:learner-cluster']);
    const granting = rules.filter((r) => r.verbs.includes('bind') || r.verbs.includes('escalate'));
    expect(granting).toEqual([
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles'], verbs: ['bind', 'escalate'], resourceNames: [CUSTOM_RESOURCES_ROLE] },
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['bind'], resourceNames: learnerRoles },
    ]);
    // Creating or changing ClusterRoles would let the platform write itself any right.
    expect(rules.filter((r) => r.resources.includes('clusterroles') && r.verbs.some((v) => ['create', 'patch', 'update', 'escalate'].includes(v)))).toEqual([]);
  });

  it('names by resourceNames exactly the objects the platform reads and writes', async () => {
    const rules = await platformRules();
    const names = await policyNames();
    const admission = rules.find((r) => r.resources.includes('validatingadmissionpolicies'));
    expect(new Set(admission?.resourceNames)).toEqual(new Set([...(names.get('ValidatingAdmissionPolicy') ?? []), ...(names.get('ValidatingAdmissionPolicyBinding') ?? [])]));
    expect(admission?.verbs).toEqual(['get']);
    expect(rules.find((r) => r.apiGroups.includes('kwok.x-k8s.io') && r.resourceNames)?.resourceNames).toEqual([USAGE_OBJECT_NAME]);
  });
});

describe('the chart', () => {
  it("lets the platform write its leader Lease by name in its namespace only: a Role, and the fence's one exception", async () => {
    const role = await fs.readFile(path.join(chartDir, 'templates', 'role.yaml'), 'utf8');
    expect(role).toContain('kind: Role\n');
    expect(role).not.toContain('ClusterRole');
    expect(role).toContain(`resourceNames: [${LEASE_NAME}]`);
    const fence = await fs.readFile(path.join(chartDir, 'templates', 'platform-fence.yaml'), 'utf8');
    expect(fence).toContain(`request.namespace == '{{ .Release.Namespace }}' && request.resource.group == 'coordination.k8s.io' && request.resource.resource == 'leases' && request.name == '${LEASE_NAME}'`);
    // Nothing else in the ClusterRole touches leases beyond reading them (graders).
    const leaseRules = (await platformRules()).filter((r) => r.resources.includes('leases'));
    for (const rule of leaseRules) expect(rule.verbs.every((v) => ['get', 'list', 'watch'].includes(v)), JSON.stringify(rule)).toBe(true);
  });

  it('carries the very policy files the platform installs', async () => {
    expect(await syncChartPolicies(true)).toEqual([]);
  });

  it("follows package.json's version", async () => {
    const pkg = z.object({ version: z.string() }).parse(JSON.parse(await fs.readFile(path.join(projectRoot, 'package.json'), 'utf8')));
    const chart = z.object({ version: z.string(), appVersion: z.string() }).parse(await readYaml(path.join(chartDir, 'Chart.yaml')));
    expect(chart).toMatchObject({ version: pkg.version, appVersion: pkg.version });
  });

  it('runs as the user the app image makes', async () => {
    const values = z.object({ podSecurityContext: z.object({ runAsUser: z.number(), runAsGroup: z.number(), fsGroup: z.number() }) }).parse(await readYaml(path.join(chartDir, 'values.yaml')));
    expect(values.podSecurityContext).toMatchObject({ runAsUser: APP_USER.uid, runAsGroup: APP_USER.gid, fsGroup: APP_USER.gid });
  });

  it("sets only settings the server knows (each KUBEDOJO_ variable is one of config.ts's)", async () => {
    const template = await fs.readFile(path.join(chartDir, 'templates', 'deployment.yaml'), 'utf8');
    const used = [...template.matchAll(/name: (KUBEDOJO_[A-Z_]+)/g)].map((m) => m[1] ?? '');
    const known = new Set(Object.values(fields).flatMap((f) => [...f.env]));
    expect(used.length).toBeGreaterThan(15);
    expect(used.filter((name) => !known.has(name))).toEqual([]);
  });
});

interface SchemaNode {
  type?: string | string[];
  description?: string;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
  enum?: unknown[];
}

const typeOf = (value: unknown): string => (value === null ? 'null' : Array.isArray(value) ? 'array' : Number.isInteger(value) ? 'integer' : typeof value);

/** Every value in values.yaml is described and typed by the schema, and every described value exists. */
function compare(values: Record<string, unknown>, schema: SchemaNode, at: string, problems: string[]): void {
  const props = schema.properties ?? {};
  for (const [key, value] of Object.entries(values)) {
    const node = props[key];
    const where = at ? `${at}.${key}` : key;
    if (!node) {
      problems.push(`${where} is in values.yaml but not in values.schema.json`);
      continue;
    }
    if (!node.description) problems.push(`${where} has no description in values.schema.json`);
    const types = [node.type ?? []].flat();
    if (types.length > 0 && !types.includes(typeOf(value)) && !(typeOf(value) === 'integer' && types.includes('number'))) problems.push(`${where} is ${typeOf(value)} in values.yaml, ${types.join('|')} in the schema`);
    if (node.enum && !node.enum.includes(value)) problems.push(`${where}: ${JSON.stringify(value)} is not one of the schema's ${JSON.stringify(node.enum)}`);
    if (node.properties && value !== null && typeof value === 'object' && !Array.isArray(value)) compare(value as Record<string, unknown>, node, where, problems);
  }
  for (const key of Object.keys(props)) if (!(key in values)) problems.push(`${at ? `${at}.` : ''}${key} is in the schema but has no default in values.yaml`);
}

describe("the chart's values", () => {
  it('are each documented and typed in values.schema.json, which refuses unknown ones', async () => {
    const values = z.record(z.string(), z.unknown()).parse(await readYaml(path.join(chartDir, 'values.yaml')));
    const schema = JSON.parse(await fs.readFile(path.join(chartDir, 'values.schema.json'), 'utf8')) as SchemaNode;
    expect(schema.additionalProperties).toBe(false);
    const problems: string[] = [];
    compare(values, schema, '', problems);
    expect(problems).toEqual([]);
  });

  it('are documented in values.yaml too: a comment above each top-level value', async () => {
    const lines = (await fs.readFile(path.join(chartDir, 'values.yaml'), 'utf8')).split('\n');
    const undocumented = lines.flatMap((line, i) => (/^[a-zA-Z]+:/.test(line) && !lines.slice(Math.max(0, i - 3), i).some((l) => l.startsWith('#')) ? [line] : []));
    expect(undocumented).toEqual([]);
  });
});
