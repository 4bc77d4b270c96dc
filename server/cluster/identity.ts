import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { ApiResult } from './api.ts';
import { rawClient } from './apply.ts';

/**
 * Who the platform is to the API server, and the in-cluster configuration of a pod. The
 * service account's files are read here; the API server's address comes from config.ts (the
 * only reader of the environment), not from the library's own look at process.env.
 */

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface InClusterEndpoint {
  /** KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT, as config.ts read them. */
  host: string;
  port: string;
}

/**
 * The pod's service account as a KubeConfig: the projected token (re-read by the client as the
 * kubelet rotates it), the cluster CA, and the pod's namespace as the context's namespace.
 */
export function inClusterKubeConfig(endpoint: InClusterEndpoint, dir = SERVICE_ACCOUNT_DIR): KubeConfig {
  const token = path.join(dir, 'token');
  const ca = path.join(dir, 'ca.crt');
  for (const file of [token, ca]) {
    if (!fs.existsSync(file)) throw new Error(`${file} is missing: the pod has no service account token mounted (automountServiceAccountToken must be true for kubedojo)`);
  }
  const host = net.isIPv6(endpoint.host) ? `[${endpoint.host}]` : endpoint.host;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'in-cluster', server: `https://${host}:${endpoint.port}`, caFile: ca, skipTLSVerify: false }],
    users: [{ name: 'service-account', authProvider: { name: 'tokenFile', config: { tokenFile: token } } }],
    contexts: [{ name: 'in-cluster', cluster: 'in-cluster', user: 'service-account', namespace: serviceAccountNamespace(dir) ?? 'default' }],
    currentContext: 'in-cluster',
  });
  return kc;
}

/** The namespace the pod runs in, from its service account's namespace file. */
export function serviceAccountNamespace(dir = SERVICE_ACCOUNT_DIR): string | undefined {
  try {
    const value = fs.readFileSync(path.join(dir, 'namespace'), 'utf8').trim();
    return value === '' ? undefined : value;
  } catch {
    return undefined;
  }
}

/** An RBAC subject: what a RoleBinding names. */
export type Subject = { kind: 'ServiceAccount'; name: string; namespace: string } | { kind: 'User'; apiGroup: 'rbac.authorization.k8s.io'; name: string };

export interface Identity {
  username: string;
  groups: string[];
  subject: Subject;
}

const SERVICE_ACCOUNT_USER = /^system:serviceaccount:([^:]+):([^:]+)$/;

/** The RBAC subject of a username (service accounts by name and namespace). */
export function subjectOf(username: string): Subject {
  const sa = SERVICE_ACCOUNT_USER.exec(username);
  if (sa?.[1] && sa[2]) return { kind: 'ServiceAccount', namespace: sa[1], name: sa[2] };
  return { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: username };
}

/** The API server's answer to "who am I" (SelfSubjectReview, which every authenticated user may ask). */
export async function whoAmI(kc: KubeConfig): Promise<ApiResult<Identity>> {
  const result = await rawClient(kc).post<{ status?: { userInfo?: { username?: string; groups?: string[] } } }>('/apis/authentication.k8s.io/v1/selfsubjectreviews', {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'SelfSubjectReview',
  });
  if (!result.ok) return result;
  const username = result.value.status?.userInfo?.username ?? '';
  if (username === '') return { ok: false, error: { kind: 'invalid', message: 'the API server named no user in its SelfSubjectReview' } };
  return { ok: true, value: { username, groups: result.value.status?.userInfo?.groups ?? [], subject: subjectOf(username) } };
}
