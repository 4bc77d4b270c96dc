import type { V1Deployment, V1Pod, V1PodSpec } from '@kubernetes/client-node';

/** Workloads as learners write them: no tolerations, no node names, small requests. */
export function podSpec(overrides: Partial<V1PodSpec> = {}): V1PodSpec {
  return {
    containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '200m', memory: '128Mi' } } }],
    ...overrides,
  };
}

export function pod(name: string, overrides: Partial<V1PodSpec> = {}, labels: Record<string, string> = { app: name }): V1Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, spec: podSpec(overrides) };
}

export function deployment(name: string, replicas: number, overrides: Partial<V1PodSpec> = {}): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: podSpec(overrides) },
    },
  };
}
