import { createSign } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { connectionFromConfig } from '../../server/cluster/connection.ts';
import { loadConfig } from '../../server/config.ts';
import { loadLibrary } from '../../server/lessons/library.ts';
import { silentLogger } from '../../server/logger.ts';
import { labsFromLibrary } from '../../server/sandboxes/labs.ts';
import { SandboxService, type SandboxSettings } from '../../server/sandboxes/service.ts';
import { projectRoot } from './cli.ts';

/** A SandboxService against the shared test cluster, with its own data dir. */
export async function sandboxService(kubeconfig: string, settings: Partial<SandboxSettings> = {}, options: { dataDir?: string } = {}): Promise<SandboxService> {
  const dataDir = options.dataDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-sbx-')));
  const result = loadConfig({ kubeconfig, dataDir }, { HOME: os.homedir() });
  if (!result.ok) throw new Error(result.problems.join('\n'));
  const library = await loadLibrary(path.join(projectRoot, 'lessons'));
  return new SandboxService({
    cluster: connectionFromConfig(result.config),
    logger: silentLogger(),
    labs: labsFromLibrary(library),
    settings: { ...result.config.sandboxes, dataDir, reapIntervalSeconds: 0, ...settings },
  });
}

export function kubeConfigFrom(file: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return kc;
}

/** The bearer token inside a learner kubeconfig. */
export function tokenOf(kc: KubeConfig): string {
  return kc.getCurrentUser()?.token ?? '';
}

/**
 * Re-signs a service-account token's claims with the cluster's own signing key, with another
 * expiry: the API server then judges the expiry alone (the embedded cluster's key is ours).
 */
export async function resignToken(token: string, signingKeyFile: string, exp: number): Promise<string> {
  const [header = '', payload = ''] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  const rewritten = Buffer.from(JSON.stringify({ ...claims, exp, nbf: exp - 3600, iat: exp - 3600 })).toString('base64url');
  const signer = createSign('RSA-SHA256');
  signer.update(`${header}.${rewritten}`);
  return `${header}.${rewritten}.${signer.sign(await fs.readFile(signingKeyFile, 'utf8')).toString('base64url')}`;
}

/** A KubeConfig for the same cluster with another bearer token. */
export function withToken(kc: KubeConfig, token: string): KubeConfig {
  const copy = new KubeConfig();
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('no cluster');
  copy.loadFromOptions({
    clusters: [cluster],
    users: [{ name: 'u', token }],
    contexts: [{ name: 'c', cluster: cluster.name, user: 'u' }],
    currentContext: 'c',
  });
  return copy;
}
