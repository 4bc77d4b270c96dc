import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { BuiltImage } from '../../server/cluster/images/builders.ts';
import { embeddedRuntime, ensureImported } from '../../server/cluster/images/runtime.ts';
import { eventually } from './cluster.ts';

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
