import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { ensureDeployImage } from '../../server/cluster/images/deploy-images.ts';
import { loadConfig } from '../../server/config.ts';
import { ensureHelm } from '../../server/deploy/helm.ts';
import { silentLogger } from '../../server/logger.ts';
import { silentProgress } from '../../server/progress.ts';
import { runCli, runCliOk } from '../helpers/cli.ts';
import { adminKubeConfig, eventually } from '../helpers/cluster.ts';
import { installChart, loadIntoRealNode, realNodeAddress, startPostgres } from '../helpers/deploy.ts';
import { kubectlFor, type Kubectl } from '../helpers/real-node.ts';

export interface Deployed {
  /** The Service's NodePort on the real node: kube-proxy picks a replica per connection. */
  url: string;
  release: string;
  namespace: string;
  admin: KubeConfig;
  kubectl: Kubectl;
  /** The release's Pods by name, Running or not. */
  pods(): Promise<string[]>;
  /** One Pod's log lines, parsed (kubedojo logs JSON). */
  logs(pod: string): Promise<Record<string, unknown>[]>;
}

const RELEASE = 'kubedojo';
const NAMESPACE = 'kubedojo';
// A fixed port in the NodePort range: the cluster is this suite's own.
const NODE_PORT = 30080;

/**
 * kubedojo installed as an operator installs it, on an embedded cluster of the suite's own
 * with its real node: the app and postgres images built here without Docker and loaded into
 * the node's runtime, PostgreSQL in a Pod, and the chart by the pinned helm with `values`
 * (two replicas on that database) and a NodePort Service. Removed with its cluster after.
 */
export function deployedForSuite(
  test: { beforeAll: (fn: () => Promise<void>) => void; afterAll: (fn: () => Promise<void>) => void; setTimeout: (ms: number) => void },
  values: (database: string, url: string) => Record<string, unknown>,
): () => Deployed {
  let deployed: Deployed | undefined;
  let dataDir = '';
  test.beforeAll(async () => {
    // Cold, the images are built here (minutes on two cores); warm, this takes about two.
    test.setTimeout(40 * 60_000);
    const loaded = loadConfig({}, { HOME: os.homedir(), PATH: process.env.PATH ?? '' });
    if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
    const { config } = loaded;
    const build = { cacheDir: config.cacheDir, env: config.env, progress: silentProgress, logger: silentLogger() };
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-deployed-'));
    const up = await runCli(['cluster', 'up', '--data-dir', dataDir, '--etcd-unsafe-no-fsync', '--json'], { timeoutMs: 30 * 60_000 });
    if (up.code !== 0) throw new Error(`the embedded cluster did not start (exit ${up.code}):\n${up.stderr}`);
    const { kubeconfig } = JSON.parse(up.stdout) as { kubeconfig: string };
    const admin = adminKubeConfig(kubeconfig);
    const kubectl = await kubectlFor(kubeconfig);
    const helm = (await ensureHelm({ ...build, go: config.go })).path;
    const app = await ensureDeployImage('app', build);
    const postgres = await ensureDeployImage('postgres', build);
    for (const image of [app, postgres]) await loadIntoRealNode(dataDir, admin, image);

    await admin.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: NAMESPACE } } });
    const database = await startPostgres(admin, NAMESPACE, postgres, randomBytes(12).toString('hex'));
    const url = `http://${await realNodeAddress(admin)}:${NODE_PORT}`;
    const chartValues = {
      ...values(database, url),
      nodeSelector: { 'kubedojo.dev/node': 'real' },
      image: { pullPolicy: 'Never' },
      service: { type: 'NodePort', port: 80, nodePort: NODE_PORT },
    };
    await installChart({ helm, kubeconfig, kubectl, release: RELEASE, namespace: NAMESPACE, values: chartValues, env: config.env });
    await eventually(async () => ((await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined), `${url}/readyz`, 60_000, 250);

    deployed = {
      url,
      release: RELEASE,
      namespace: NAMESPACE,
      admin,
      kubectl,
      async pods() {
        const list = await admin.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: NAMESPACE, labelSelector: `app.kubernetes.io/instance=${RELEASE}` });
        return list.items.map((p) => p.metadata?.name ?? '');
      },
      async logs(pod) {
        const out = await kubectl(['-n', NAMESPACE, 'logs', pod]);
        if (out.code !== 0) throw new Error(`kubectl logs ${pod}: ${out.stderr}`);
        return out.stdout
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as Record<string, unknown>);
      },
    };
  });
  test.afterAll(async () => {
    if (!dataDir) return;
    // The release goes with its cluster.
    await runCliOk(['cluster', 'down', '--data-dir', dataDir]);
    await fs.rm(dataDir, { recursive: true, force: true });
  });
  return () => {
    if (!deployed) throw new Error('kubedojo is not deployed');
    return deployed;
  };
}
