import fs from 'node:fs/promises';
import { stringify } from 'yaml';

export interface KubeconfigSpec {
  server: string;
  caData: string;
  user: string;
  clientCertificateData?: string;
  clientKeyData?: string;
  token?: string;
  namespace?: string;
  clusterName?: string;
}

/** A self-contained kubeconfig (credentials inline), as kubectl and every client read it. */
export function renderKubeconfig(spec: KubeconfigSpec): string {
  const cluster = spec.clusterName ?? 'kubedojo';
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const user: Record<string, string> = {};
  if (spec.clientCertificateData !== undefined) user['client-certificate-data'] = b64(spec.clientCertificateData);
  if (spec.clientKeyData !== undefined) user['client-key-data'] = b64(spec.clientKeyData);
  if (spec.token !== undefined) user.token = spec.token;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cluster, cluster: { server: spec.server, 'certificate-authority-data': b64(spec.caData) } }],
    users: [{ name: spec.user, user }],
    contexts: [{ name: cluster, context: { cluster, user: spec.user, ...(spec.namespace ? { namespace: spec.namespace } : {}) } }],
    'current-context': cluster,
    preferences: {},
  });
}

/** Writes a kubeconfig readable by its owner only: it is a credential. */
export async function writeKubeconfig(file: string, spec: KubeconfigSpec): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await fs.writeFile(tmp, renderKubeconfig(spec), { mode: 0o600 });
  await fs.chmod(tmp, 0o600);
  await fs.rename(tmp, file);
}
