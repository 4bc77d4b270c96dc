import type { ApiResult } from '../cluster/api.ts';
import type { ClusterConnection } from '../cluster/connection.ts';
import { clearSimulatedUsage, setSimulatedUsage } from '../cluster/usage.ts';

/**
 * Simulated resource usage of Pods, for autoscaler load tests: on the embedded cluster kwok
 * reports it and metrics-server serves it, so the real HPA controller reacts to it.
 */
export interface UsageSimulator {
  /** Every Pod in `namespace` matching `selector` (now and later) reports this usage. */
  set(namespace: string, selector: Record<string, string>, usage: { cpu?: string; memory?: string }): Promise<ApiResult<void>>;
  clear(namespace: string, selector: Record<string, string>): Promise<ApiResult<void>>;
}

/** Usage through kwok's ClusterResourceUsage (server/cluster/usage.ts); other clusters answer "not served". */
export function usageSimulatorFor(cluster: ClusterConnection): UsageSimulator {
  return {
    async set(namespace, selector, usage) {
      const kc = cluster.kubeConfig();
      if (!kc.ok) return kc;
      const result = await setSimulatedUsage(kc.value, { namespace, selector: { matchLabels: selector }, cpu: usage.cpu ?? '1m', ...(usage.memory !== undefined ? { memory: usage.memory } : {}), ttlSeconds: 900 });
      return result.ok ? { ok: true, value: undefined } : result;
    },
    async clear(namespace, selector) {
      const kc = cluster.kubeConfig();
      if (!kc.ok) return kc;
      const result = await clearSimulatedUsage(kc.value, { namespace, selector: { matchLabels: selector } });
      return result.ok ? { ok: true, value: undefined } : result;
    },
  };
}
