import fs from 'node:fs';
import { CoreV1Api, KubeConfig, VersionApi } from '@kubernetes/client-node';
import type { Config } from '../config.ts';
import type { ClusterKind } from '../vocabulary.ts';
import { call, type ApiResult } from './api.ts';
import { inClusterKubeConfig } from './identity.ts';
import { clusterDirs } from './paths.ts';

/**
 * Which cluster the platform talks to. Embedded, a kubeconfig, or in-cluster: after this
 * point nothing in the platform can tell them apart, except `kind` for display and for
 * choosing a terminal backend.
 */
export interface ClusterConnection {
  readonly kind: ClusterKind;
  /** Why this cluster (e.g. "kubeconfig given by --kubeconfig"). */
  readonly reason: string;
  /** Admin-level client configuration. Never sent to a learner, a terminal or the browser. */
  kubeConfig(): ApiResult<KubeConfig>;
  describe(): { kind: ClusterKind; server: string | null; context: string | null; reason: string };
  /** One cheap round trip: the API server's version. */
  ping(timeoutMs?: number): Promise<ApiResult<{ gitVersion: string }>>;
  summary(timeoutMs?: number): Promise<ApiResult<ClusterSummary>>;
}

export interface ClusterSummary {
  version: string;
  nodes: { total: number; ready: number; zones: string[] };
}

function withTimeout<T>(promise: Promise<ApiResult<T>>, timeoutMs: number): Promise<ApiResult<T>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ApiResult<T>>((resolve) => {
    timer = setTimeout(() => {
      resolve({ ok: false, error: { kind: 'timeout', message: `the API server did not answer within ${timeoutMs} ms` } });
    }, timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => {
    clearTimeout(timer);
  });
}

export function connectionFromConfig(config: Config): ClusterConnection {
  const { mode, modeReason } = config.cluster;
  let cached: KubeConfig | undefined;
  let cachedMtime = 0;

  const load = (): ApiResult<KubeConfig> => {
    try {
      if (mode === 'in-cluster') {
        const endpoint = config.cluster.inCluster;
        if (!endpoint) return { ok: false, error: { kind: 'invalid', message: 'in-cluster mode outside a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set' } };
        cached ??= inClusterKubeConfig(endpoint);
        return { ok: true, value: cached };
      }
      const file = mode === 'embedded' ? clusterDirs(config.dataDir).adminKubeconfig : (config.cluster.kubeconfig ?? '');
      let mtime: number;
      try {
        mtime = fs.statSync(file).mtimeMs;
      } catch {
        const message =
          mode === 'embedded'
            ? 'the embedded cluster has not been started: run "kubedojo cluster up" (or serve without --no-cluster-up)'
            : `the kubeconfig ${file} does not exist`;
        return { ok: false, error: { kind: 'unreachable', message } };
      }
      // The embedded cluster rewrites its kubeconfig when a port moves: reload on change.
      if (!cached || mtime !== cachedMtime) {
        const kc = new KubeConfig();
        kc.loadFromFile(file);
        if (config.cluster.context !== undefined && mode === 'kubeconfig') kc.setCurrentContext(config.cluster.context);
        if (!kc.getCurrentCluster()) return { ok: false, error: { kind: 'invalid', message: `${file} has no current cluster` } };
        cached = kc;
        cachedMtime = mtime;
      }
      return { ok: true, value: cached };
    } catch (error) {
      return { ok: false, error: { kind: 'invalid', message: `could not load the cluster configuration: ${error instanceof Error ? error.message : String(error)}` } };
    }
  };

  const connection: ClusterConnection = {
    kind: mode,
    reason: modeReason,
    kubeConfig: load,
    describe() {
      const kc = load();
      return {
        kind: mode,
        server: kc.ok ? (kc.value.getCurrentCluster()?.server ?? null) : null,
        context: kc.ok ? kc.value.getCurrentContext() : null,
        reason: modeReason,
      };
    },
    async ping(timeoutMs = 2000) {
      const kc = load();
      if (!kc.ok) return kc;
      const version = kc.value.makeApiClient(VersionApi);
      return withTimeout(
        call(async () => ({ gitVersion: (await version.getCode()).gitVersion })),
        timeoutMs,
      );
    },
    async summary(timeoutMs = 3000) {
      const kc = load();
      if (!kc.ok) return kc;
      const version = kc.value.makeApiClient(VersionApi);
      const core = kc.value.makeApiClient(CoreV1Api);
      return withTimeout(
        call(async () => {
          const [info, nodes] = await Promise.all([version.getCode(), core.listNode()]);
          const ready = nodes.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
          const zones = [...new Set(nodes.items.map((n) => n.metadata?.labels?.['topology.kubernetes.io/zone']).filter((z): z is string => !!z))].sort();
          return { version: info.gitVersion, nodes: { total: nodes.items.length, ready: ready.length, zones } };
        }),
        timeoutMs,
      );
    },
  };
  return connection;
}
