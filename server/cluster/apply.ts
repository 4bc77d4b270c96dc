import fs from 'node:fs/promises';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import type { ApiResult } from './api.ts';
import { RawClient } from './raw.ts';

export const FIELD_MANAGER = 'kubedojo';

const clients = new WeakMap<KubeConfig, RawClient>();

/** One raw client per cluster configuration, so API discovery is cached across calls. */
export function rawClient(kc: KubeConfig): RawClient {
  let client = clients.get(kc);
  if (!client) {
    client = new RawClient(kc, FIELD_MANAGER);
    clients.set(kc, client);
  }
  return client;
}

/** Reads a multi-document YAML file into objects; comments and empty documents are skipped. */
export async function readManifests(file: string): Promise<KubernetesObject[]> {
  return parseManifests(await fs.readFile(file, 'utf8'), file);
}

/** Multi-document YAML text into objects; `file` names it in errors. */
export function parseManifests(text: string, file: string): KubernetesObject[] {
  const objects: KubernetesObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || !('kind' in value) || !('apiVersion' in value)) throw new Error(`${file}: a document is not a Kubernetes object`);
    objects.push(value as KubernetesObject);
  }
  return objects;
}

/** Server-side apply of each object with the platform's field manager. */
export async function applyObjects(kc: KubeConfig, objects: readonly KubernetesObject[]): Promise<ApiResult<KubernetesObject>[]> {
  const client = rawClient(kc);
  return Promise.all(objects.map((object) => client.apply(object)));
}

/** Creates objects that do not exist yet and leaves existing ones alone (used for nodes,
 * whose status is only accepted on create and then belongs to kwok). */
export async function createMissing(kc: KubeConfig, objects: readonly KubernetesObject[]): Promise<ApiResult<'created' | 'exists'>[]> {
  const client = rawClient(kc);
  return Promise.all(
    objects.map(async (object): Promise<ApiResult<'created' | 'exists'>> => {
      const result = await client.create(object);
      if (result.ok) return { ok: true, value: 'created' };
      if (result.error.kind === 'conflict' && result.error.reason === 'AlreadyExists') return { ok: true, value: 'exists' };
      return result;
    }),
  );
}
