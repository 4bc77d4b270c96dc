import fs from 'node:fs/promises';
import path from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import type { ApiResult } from '../cluster/api.ts';
import { rawClient } from '../cluster/apply.ts';
import { writeKubeconfig } from '../cluster/kubeconfig.ts';
import { Unavailable } from '../errors.ts';
import type { Sandbox, SandboxAccess } from './types.ts';

export const LEARNER_SERVICE_ACCOUNT = 'kubedojo-learner';
/** The API server refuses TokenRequests shorter than ten minutes. */
const MIN_TOKEN_SECONDS = 600;

export interface LearnerToken {
  token: string;
  expiresAt: string;
}

/** A token for the sandbox's service account that expires with the sandbox (never later). */
export async function requestToken(kc: KubeConfig, namespace: string, expiresAt: Date): Promise<ApiResult<LearnerToken>> {
  const seconds = Math.max(MIN_TOKEN_SECONDS, Math.floor((expiresAt.getTime() - Date.now()) / 1000));
  const result = await rawClient(kc).post<{ status?: { token?: string; expirationTimestamp?: string } }>(
    `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${LEARNER_SERVICE_ACCOUNT}/token`,
    { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: seconds } },
  );
  if (!result.ok) return result;
  const status = result.value.status ?? {};
  return { ok: true, value: { token: status.token ?? '', expiresAt: status.expirationTimestamp ? new Date(status.expirationTimestamp).toISOString() : expiresAt.toISOString() } };
}

export interface ClusterEndpoint {
  server: string;
  caData: string;
}

/** Where learners reach the API server and the CA that vouches for it (from the admin config). */
export async function clusterEndpoint(kc: KubeConfig): Promise<ClusterEndpoint> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the cluster configuration has no current cluster');
  const caData = cluster.caData ? Buffer.from(cluster.caData, 'base64').toString('utf8') : cluster.caFile ? await fs.readFile(cluster.caFile, 'utf8') : '';
  return { server: cluster.server, caData };
}

/** A kubeconfig holding only the learner's token: what a learner's shell gets. */
export async function writeLearnerKubeconfig(file: string, endpoint: ClusterEndpoint, namespace: string, token: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeKubeconfig(file, { server: endpoint.server, caData: endpoint.caData, user: 'learner', token, namespace, clusterName: 'kubedojo' });
}

/**
 * A learner's credentials for their sandbox: a token that expires with it, written into a
 * kubeconfig of their own under <dataDir>/sandboxes/<namespace>/.
 */
export class Credentials {
  private readonly dataDir: string;
  /** Tokens issued while building, handed to the caller once (saves a round trip). */
  private readonly issued = new Map<string, LearnerToken>();

  constructor(dataDir: string) {
    this.dataDir = dataDir;
  }

  kubeconfigPath(namespace: string): string {
    return path.join(this.dataDir, 'sandboxes', namespace, 'kubeconfig');
  }

  /** Keeps a token issued while building, for the `access` that follows. */
  keep(namespace: string, token: LearnerToken): void {
    this.issued.set(namespace, token);
  }

  /** Writes the learner's kubeconfig, with the token given, one kept, or a fresh one. */
  async access(kc: KubeConfig, sandbox: Sandbox, how: { created: boolean; fromPool: boolean; token?: LearnerToken | undefined }): Promise<SandboxAccess> {
    let token = how.token ?? this.issued.get(sandbox.namespace);
    this.issued.delete(sandbox.namespace);
    if (!token) {
      const requested = await requestToken(kc, sandbox.namespace, new Date(sandbox.expiresAt));
      if (!requested.ok) throw new Unavailable(`could not issue the learner's credentials for ${sandbox.namespace}: ${requested.error.message}`);
      token = requested.value;
    }
    const file = this.kubeconfigPath(sandbox.namespace);
    await writeLearnerKubeconfig(file, await clusterEndpoint(kc), sandbox.namespace, token.token);
    return { sandbox, kubeconfig: file, tokenExpiresAt: token.expiresAt, created: how.created, fromPool: how.fromPool };
  }

  /** The kubeconfig of a sandbox, or undefined when its file is missing. */
  async existing(namespace: string): Promise<string | undefined> {
    const file = this.kubeconfigPath(namespace);
    return fs.access(file).then(
      () => file,
      () => undefined,
    );
  }

  /** Removes a deleted sandbox's kubeconfig. */
  async forget(namespace: string): Promise<void> {
    await fs.rm(path.dirname(this.kubeconfigPath(namespace)), { recursive: true, force: true });
  }
}
