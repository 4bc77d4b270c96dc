import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionFromConfig } from '../../server/cluster/connection.ts';
import { inClusterKubeConfig, serviceAccountNamespace, subjectOf } from '../../server/cluster/identity.ts';
import { loadConfig } from '../../server/config.ts';
import { CUSTOM_RESOURCES_ROLE, renderSandbox } from '../../server/sandboxes/template.ts';

/** kubedojo inside a pod: the settings it reads there, its service account's files, its identity. */

const pod = { HOME: '/home/kubedojo', KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
let saDir: string;

beforeAll(async () => {
  saDir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-sa-'));
  await fs.writeFile(path.join(saDir, 'token'), 'header.payload.signature');
  await fs.writeFile(path.join(saDir, 'ca.crt'), '-----BEGIN CERTIFICATE-----\n');
  await fs.writeFile(path.join(saDir, 'namespace'), 'kubedojo-system\n');
});
afterAll(async () => {
  await fs.rm(saDir, { recursive: true, force: true });
});

describe('in a pod', () => {
  it('chooses the in-cluster mode by itself and keeps the API server address from the environment', () => {
    const result = loadConfig({}, pod);
    if (!result.ok) throw new Error(result.problems.join('\n'));
    expect(result.config.cluster.mode).toBe('in-cluster');
    expect(result.config.cluster.inCluster).toEqual({ host: '10.96.0.1', port: '443' });
    expect(result.config.sandboxes.policies).toBe('install');
  });

  it('verifies the policies instead of installing them when told, and names a bad value', () => {
    const verify = loadConfig({}, { ...pod, KUBEDOJO_CLUSTER_POLICIES: 'verify' });
    expect(verify.ok && verify.config.sandboxes.policies).toBe('verify');
    const bad = loadConfig({}, { ...pod, KUBEDOJO_CLUSTER_POLICIES: 'sometimes' });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.problems.join('\n')).toContain('--cluster-policies (from KUBEDOJO_CLUSTER_POLICIES): must be install or verify, got "sometimes"');
  });

  it("builds the client from the service account's token, CA and namespace", () => {
    const kc = inClusterKubeConfig({ host: '10.96.0.1', port: '443' }, saDir);
    expect(kc.getCurrentCluster()?.server).toBe('https://10.96.0.1:443');
    expect(kc.getCurrentCluster()?.caFile).toBe(path.join(saDir, 'ca.crt'));
    const user = kc.getCurrentUser() as { authProvider?: { config?: { tokenFile?: string } } } | null;
    expect(user?.authProvider?.config?.tokenFile).toBe(path.join(saDir, 'token'));
    expect(kc.getContextObject(kc.getCurrentContext())?.namespace).toBe('kubedojo-system');
    expect(serviceAccountNamespace(saDir)).toBe('kubedojo-system');
    expect(inClusterKubeConfig({ host: 'fd00::1', port: '6443' }, saDir).getCurrentCluster()?.server).toBe('https://[fd00::1]:6443');
  });

  it('says plainly when the pod has no token mounted', async () => {
    const empty = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-nosa-'));
    try {
      expect(() => inClusterKubeConfig({ host: '10.96.0.1', port: '443' }, empty)).toThrow(/no service account token mounted \(automountServiceAccountToken must be true/);
    } finally {
      await fs.rm(empty, { recursive: true, force: true });
    }
  });

  it('refuses in-cluster mode without the address rather than guessing', () => {
    const result = loadConfig({ cluster: 'in-cluster' }, { HOME: '/home/kubedojo' });
    expect(result.ok).toBe(false);
    const config = loadConfig({}, pod);
    if (!config.ok) throw new Error('unexpected');
    const connection = connectionFromConfig({ ...config.config, cluster: { ...config.config.cluster, inCluster: undefined } });
    const kc = connection.kubeConfig();
    expect(kc.ok).toBe(false);
    if (!kc.ok) expect(kc.error.message).toContain('KUBERNETES_SERVICE_HOST');
  });
});

describe("the platform's identity", () => {
  it('is a ServiceAccount subject for a service account user, a User otherwise', () => {
    expect(subjectOf('system:serviceaccount:kubedojo-system:kubedojo')).toEqual({ kind: 'ServiceAccount', namespace: 'kubedojo-system', name: 'kubedojo' });
    expect(subjectOf('kubedojo:admin')).toEqual({ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'kubedojo:admin' });
  });

  it("is bound in each sandbox to the learner's custom-resources Role, and only to it", () => {
    const values = {
      namespace: 'kd-alice-lab-0123456789',
      sandboxId: 'kd-alice-lab-0123456789',
      learnerKey: 'alice',
      learnerName: 'Alice',
      lesson: 'lab',
      lessonKey: 'lab',
      workshop: 'none',
      size: 'small' as const,
      nodes: 'auto' as const,
      createdAt: '2026-01-01T00:00:00Z',
      expiresAt: '2026-01-01T02:00:00Z',
    };
    const without = renderSandbox(values);
    const platform = subjectOf('system:serviceaccount:kubedojo-system:kubedojo');
    const withPlatform = renderSandbox(values, undefined, {}, platform);
    expect(withPlatform.length).toBe(without.length + 1);
    expect(withPlatform.at(-1)).toEqual({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'kubedojo-platform-custom-resources', namespace: values.namespace, labels: { 'kubedojo.dev/managed-by': 'kubedojo' } },
      subjects: [platform],
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: CUSTOM_RESOURCES_ROLE },
    });
    expect(without.some((o) => o.kind === 'Role' && o.metadata?.name === CUSTOM_RESOURCES_ROLE)).toBe(true);
  });
});
