import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadLibrary } from '../../server/lessons/library.ts';
import type { ApiErrorBody, ApplyBlockResponse, SaveBlockResponse, SandboxView } from '../../server/protocol.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { projectRoot } from '../helpers/cli.ts';
import { browser as browserFor, type Browser } from '../helpers/http.ts';
import { kubeConfigFrom } from '../helpers/sandboxes.ts';

/**
 * The walls around a lesson page's Apply and Save to my home, on the real cluster: they act as
 * the learner, in the learner's own sandbox only. Another learner's sandbox does not exist for
 * them; a manifest naming another namespace lands in the learner's own; cluster-wide powers are
 * refused by the API server; a file name cannot leave the home, and neither can a symbolic link
 * the learner planted in it.
 */

const WALLS = `## Walls

A ConfigMap written for another namespace, and a binding that would make its reader cluster-admin.

\`\`\`yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: walls-config
  namespace: kube-system
data:
  note: written for kube-system
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: walls-escalate
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
  - kind: ServiceAccount
    name: kubedojo-learner
    namespace: default
\`\`\`

`;

const LESSON = 'services-and-networking';
let server: TestServer;
let lessonsDir: string;
let jailDir: string;
let outside: string;
let block: number;

beforeAll(async () => {
  lessonsDir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-walls-lessons-'));
  await fs.cp(path.join(projectRoot, 'test/fixtures/lessons/library'), lessonsDir, { recursive: true });
  const file = path.join(lessonsDir, '02_intermediate/02. Services & Networking.md');
  await fs.writeFile(file, (await fs.readFile(file, 'utf8')).replace('## Quiz', `${WALLS}## Quiz`));
  const library = await loadLibrary(lessonsDir);
  const found = library.bySlug.get(LESSON)?.rendered.codeBlocks.find((b) => b.objects.includes('ConfigMap walls-config'));
  if (!found) throw new Error('the walls block did not load as a manifest block');
  block = found.index;
  // The jailed writer runs as the jail's user: it must be able to pass through to the homes.
  jailDir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-walls-jails-'));
  await fs.chmod(jailDir, 0o711);
  outside = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-walls-outside-'));
  await fs.writeFile(path.join(outside, 'target.yaml'), 'the host file\n');
  server = await startTestServer({ kubeconfig: inject('kubeconfig'), lessonsDir, jailDir, terminalBackend: 'jail' });
}, 120_000);

afterAll(async () => {
  await server.close();
  await Promise.all([lessonsDir, jailDir, outside].map((dir) => fs.rm(dir, { recursive: true, force: true })));
});

const browser = () => browserFor(() => server.url);

async function sandboxOf(learner: Browser): Promise<string> {
  const created = await learner('POST', '/api/sandboxes', { lesson: LESSON });
  expect(created.status, created.text).toBe(201);
  return (created.json as SandboxView).namespace;
}

describe('Apply and Save to my home', () => {
  it("another learner can neither apply into nor save into a learner's sandbox", async () => {
    const alice = browser();
    const mallory = browser();
    const namespace = await sandboxOf(alice);
    await sandboxOf(mallory);
    for (const [action, body] of [
      ['apply', { block, dryRun: false }],
      ['files', { block, path: 'planted.yaml' }],
    ] as const) {
      const response = await mallory('POST', `/api/sandboxes/${namespace}/${action}`, body);
      expect(response.status, action).toBe(404);
      expect((response.json as ApiErrorBody).error.message).toBe(`there is no sandbox ${namespace}`);
    }
    const core = kubeConfigFrom(inject('kubeconfig')).makeApiClient(CoreV1Api);
    expect((await core.listNamespacedConfigMap({ namespace })).items.map((c) => c.metadata?.name)).not.toContain('walls-config');
    await expect(fs.access(path.join(jailDir, 'homes', namespace, 'planted.yaml'))).rejects.toThrow();
  });

  it("puts a manifest written for another namespace into the learner's own, and the API server refuses a cluster-admin binding", async () => {
    const alice = browser();
    const namespace = await sandboxOf(alice);
    const preview = (await alice('POST', `/api/sandboxes/${namespace}/apply`, { block, dryRun: true })).json as ApplyBlockResponse;
    expect(preview.notes).toEqual([`ConfigMap walls-config names the namespace "kube-system": it goes into your namespace ${namespace} instead.`]);
    const applied = await alice('POST', `/api/sandboxes/${namespace}/apply`, { block, dryRun: false });
    expect(applied.status, applied.text).toBe(200);
    const [config, binding] = (applied.json as ApplyBlockResponse).objects;
    expect(config).toMatchObject({ kind: 'ConfigMap', name: 'walls-config', namespace, action: 'create' });
    expect(binding).toMatchObject({ kind: 'ClusterRoleBinding', name: 'walls-escalate', action: 'refused' });
    expect(binding?.message).toMatch(/forbidden/i);
    expect(binding?.message).toContain(`system:serviceaccount:${namespace}:kubedojo-learner`);

    const kc = kubeConfigFrom(inject('kubeconfig'));
    const core = kc.makeApiClient(CoreV1Api);
    expect((await core.readNamespacedConfigMap({ name: 'walls-config', namespace })).data).toEqual({ note: 'written for kube-system' });
    expect((await core.listNamespacedConfigMap({ namespace: 'kube-system' })).items.map((c) => c.metadata?.name)).not.toContain('walls-config');
    const bindings = await kc.makeApiClient(RbacAuthorizationV1Api).listClusterRoleBinding();
    expect(bindings.items.map((b) => b.metadata?.name)).not.toContain('walls-escalate');
  });

  it('saves only under a plain name inside the home; a symbolic link planted in the home reaches nothing outside it', async () => {
    const alice = browser();
    const namespace = await sandboxOf(alice);
    const saved = await alice('POST', `/api/sandboxes/${namespace}/files`, { block, path: 'walls/walls.yaml' });
    expect(saved.status, saved.text).toBe(201);
    expect(saved.json as SaveBlockResponse).toEqual({ path: '~/walls/walls.yaml', command: 'kubectl apply -f walls/walls.yaml' });
    const home = path.join(jailDir, 'homes', namespace);
    expect(await fs.readFile(path.join(home, 'walls/walls.yaml'), 'utf8')).toContain('name: walls-escalate');

    for (const name of ['../escape.yaml', '/etc/escape.yaml', 'walls/../../escape.yaml', '.bashrc', '-rf.yaml', 'walls//escape.yaml', '']) {
      const refused = await alice('POST', `/api/sandboxes/${namespace}/files`, { block, path: name });
      expect(refused.status, name).toBe(400);
      expect((refused.json as ApiErrorBody).error.issues?.map((i) => i.field), name).toEqual(['body.path']);
    }

    // The learner owns the home and may plant links in it: to a host folder, and to a host file.
    await fs.symlink(outside, path.join(home, 'out'));
    await fs.symlink(path.join(outside, 'target.yaml'), path.join(home, 'target.yaml'));
    const intoFolder = await alice('POST', `/api/sandboxes/${namespace}/files`, { block, path: 'out/escape.yaml' });
    const overFile = await alice('POST', `/api/sandboxes/${namespace}/files`, { block, path: 'target.yaml', overwrite: true });
    // The writer sees only the home: neither link leads anywhere, so neither write can succeed.
    expect(intoFolder.status, intoFolder.text).toBe(409);
    expect(overFile.status, overFile.text).toBe(409);
    expect((intoFolder.json as ApiErrorBody).error.message).toBe('could not save ~/out/escape.yaml: out is a link to somewhere outside your home');
    expect((overFile.json as ApiErrorBody).error.message).toBe('could not save ~/target.yaml: it is a link to somewhere outside your home');
    expect(await fs.readdir(outside)).toEqual(['target.yaml']);
    expect(await fs.readFile(path.join(outside, 'target.yaml'), 'utf8')).toBe('the host file\n');
  });
});
