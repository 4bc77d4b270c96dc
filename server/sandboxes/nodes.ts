import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { call } from '../cluster/api.ts';

const NODE_KIND_LABEL = 'kubedojo.dev/node';
const TTL_MS = 30_000;

/**
 * Which node of the cluster is real (runs containers), for the lesson page: on the embedded
 * cluster the one labelled kubedojo.dev/node=real, if it has one. Asked at most every 30 s.
 */
export class RealNodeCache {
  private value: string | null = null;
  private at = 0;
  private pending: Promise<string | null> | undefined;

  get(kc: () => KubeConfig): Promise<string | null> {
    if (Date.now() - this.at < TTL_MS) return Promise.resolve(this.value);
    this.pending ??= (async () => {
      const listed = await call(() => kc().makeApiClient(CoreV1Api).listNode({ labelSelector: `${NODE_KIND_LABEL}=real` }));
      // A failed listing is not remembered: the next call asks again.
      if (listed.ok) {
        this.value = listed.value.items[0]?.metadata?.name ?? null;
        this.at = Date.now();
      }
      return listed.ok ? this.value : null;
    })().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }
}
