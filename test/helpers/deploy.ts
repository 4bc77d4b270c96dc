import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CoreV1Api, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { rawClient } from '../../server/cluster/apply.ts';
import type { BuiltImage } from '../../server/cluster/images/builders.ts';
import { embeddedRuntime, ensureImported } from '../../server/cluster/images/runtime.ts';
import { chartDir } from '../../server/deploy/helm.ts';
import { runHelm } from '../../server/deploy/render.ts';
import { eventually } from './cluster.ts';
import { running, waitPod, type Kubectl } from './real-node.ts';

/**
 * Loads a built image into the embedded cluster's runtime and waits until the real node lists
 * it: the scheduler's real-node plugin places an offline Pod by the node's image list, and a
 * change to that list alone does not make the scheduler retry a Pod it already refused.
 */
export async function loadIntoRealNode(dataDir: string, kc: KubeConfig, image: BuiltImage): Promise<void> {
  await ensureImported(embeddedRuntime(dataDir), [image]);
  const core = kc.makeApiClient(CoreV1Api);
  await eventually(
    async () => {
      const nodes = await core.listNode({ labelSelector: 'kubedojo.dev/node=real' });
      return nodes.items.some((n) => n.status?.images?.some((i) => i.names?.includes(image.name))) ? true : undefined;
    },
    `the real node to list ${image.name}`,
    60_000,
    500,
  );
}

/** The real node's address on this machine: its NodePorts answer there, through kube-proxy. */
export async function realNodeAddress(kc: KubeConfig): Promise<string> {
  const nodes = await kc.makeApiClient(CoreV1Api).listNode({ labelSelector: 'kubedojo.dev/node=real' });
  const address = nodes.items[0]?.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
  if (!address) throw new Error('the real node has no InternalIP');
  return address;
}

/**
 * PostgreSQL from the postgres image (Debian's package) on the real node, as an operator
 * without a managed database would run it: a Pod on an emptyDir and a Service in front. Returns
 * the URL kubedojo's replicas use, by the Service's cluster DNS name.
 */
export async function startPostgres(kc: KubeConfig, namespace: string, image: BuiltImage, password: string): Promise<string> {
  const labels = { app: 'postgres' };
  const objects: KubernetesObject[] = [
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'postgres', namespace, labels },
      spec: {
        nodeSelector: { 'kubedojo.dev/node': 'real' },
        securityContext: { runAsNonRoot: true, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [
          {
            name: 'postgres',
            image: image.name,
            imagePullPolicy: 'Never',
            env: [{ name: 'POSTGRES_PASSWORD', value: password }],
            ports: [{ name: 'postgres', containerPort: 5432 }],
            securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
            readinessProbe: { exec: { command: ['pg_isready', '-h', '127.0.0.1', '-U', 'kubedojo'] }, periodSeconds: 1 },
            volumeMounts: [
              { name: 'data', mountPath: '/var/lib/postgresql/data' },
              { name: 'tmp', mountPath: '/tmp' },
            ],
          },
        ],
        volumes: [
          { name: 'data', emptyDir: {} },
          { name: 'tmp', emptyDir: {} },
        ],
      },
    } as KubernetesObject,
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'postgres', namespace }, spec: { selector: labels, ports: [{ name: 'postgres', port: 5432, targetPort: 5432 }] } } as KubernetesObject,
  ];
  for (const object of objects) {
    const made = await rawClient(kc).create(object);
    if (!made.ok) throw new Error(`creating ${object.kind} postgres: ${made.error.message}`);
  }
  await waitPod(kc, namespace, 'postgres', 'ready', (p) => running(p) && p.status?.containerStatuses?.[0]?.ready === true, 180_000);
  return `postgres://kubedojo:${password}@postgres.${namespace}.svc.cluster.local:5432/kubedojo`;
}

/**
 * `helm install` of the chart with these values and --wait, as an operator runs it. The learner
 * roles and policies may exist already (a platform installed them): the release adopts them.
 * On failure the error carries what an operator would look at: the Pods' logs and the events.
 */
export async function installChart(options: { helm: string; kubeconfig: string; kubectl: Kubectl; release: string; namespace: string; values: unknown; env: Readonly<Record<string, string>> }): Promise<void> {
  const { helm, kubeconfig, kubectl, release, namespace } = options;
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-chart-'));
  await fs.writeFile(path.join(dir, 'values.json'), JSON.stringify(options.values));
  const install = await runHelm(
    helm,
    ['install', release, chartDir, '--namespace', namespace, '--create-namespace', '--take-ownership', '--force-conflicts', '--values', path.join(dir, 'values.json'), '--wait', '--timeout', '6m', '--kubeconfig', kubeconfig],
    options.env,
    600_000,
  );
  await fs.rm(dir, { recursive: true, force: true });
  if (install.code !== 0) {
    const logs = await kubectl(['-n', namespace, 'logs', '-l', `app.kubernetes.io/instance=${release}`, '--prefix', '--tail=40']);
    const events = await kubectl(['-n', namespace, 'get', 'events', '--sort-by=.lastTimestamp']);
    throw new Error(`helm install failed:\n${install.stderr}\n${logs.stdout}${logs.stderr}\n${events.stdout}`);
  }
}
