import fs from 'node:fs/promises';
import { KubernetesObjectApi, PatchStrategy, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { call, type ApiResult } from './api.ts';

export const FIELD_MANAGER = 'kubedojo';

/** Reads a multi-document YAML file into objects; comments and empty documents are skipped. */
export async function readManifests(file: string): Promise<KubernetesObject[]> {
  const text = await fs.readFile(file, 'utf8');
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
  const client = KubernetesObjectApi.makeApiClient(kc);
  return Promise.all(objects.map((object) => call(() => client.patch(object, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply))));
}

/** Creates objects that do not exist yet and leaves existing ones alone (used for nodes,
 * whose status is only accepted on create and then belongs to kwok). */
export async function createMissing(kc: KubeConfig, objects: readonly KubernetesObject[]): Promise<ApiResult<'created' | 'exists'>[]> {
  const client = KubernetesObjectApi.makeApiClient(kc);
  return Promise.all(
    objects.map(async (object): Promise<ApiResult<'created' | 'exists'>> => {
      const result = await call(() => client.create(object, undefined, undefined, FIELD_MANAGER));
      if (result.ok) return { ok: true, value: 'created' };
      if (result.error.kind === 'conflict' && result.error.reason === 'AlreadyExists') return { ok: true, value: 'exists' };
      return result;
    }),
  );
}
