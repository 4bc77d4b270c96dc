import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppsV1Api, CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';

export function adminKubeConfig(file: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return kc;
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/** Polls until `check` returns a value (not undefined) or the timeout passes. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 30_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`);
}

/** A namespace for one test, deleted afterwards. */
export async function withNamespace<T>(kc: KubeConfig, prefix: string, body: (namespace: string) => Promise<T>): Promise<T> {
  const core = kc.makeApiClient(CoreV1Api);
  const name = uniqueName(prefix);
  await core.createNamespace({ body: { metadata: { name } } });
  try {
    return await body(name);
  } finally {
    await core.deleteNamespace({ name }).catch(() => undefined);
  }
}

export function podsOf(kc: KubeConfig, namespace: string, labelSelector?: string): Promise<V1Pod[]> {
  return kc
    .makeApiClient(CoreV1Api)
    .listNamespacedPod({ namespace, ...(labelSelector ? { labelSelector } : {}) })
    .then((l) => l.items);
}

export function apps(kc: KubeConfig): AppsV1Api {
  return kc.makeApiClient(AppsV1Api);
}
