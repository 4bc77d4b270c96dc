import type { ClusterInfoResponse } from '../../../server/protocol.ts';
import { getJson } from '../api.ts';
import { h } from '../dom.ts';

const kindLabel: Record<ClusterInfoResponse['kind'], string> = {
  embedded: 'Embedded local cluster',
  kubeconfig: 'Your cluster (kubeconfig)',
  'in-cluster': 'In-cluster',
};

function row(label: string, value: Node | string, testId?: string): HTMLElement {
  return h('div', { class: 'kv' }, h('dt', {}, label), h('dd', testId ? { 'data-testid': testId } : {}, value));
}

export function renderCluster(info: ClusterInfoResponse): HTMLElement {
  const status = info.reachable
    ? h('span', { class: 'badge ok', 'data-testid': 'cluster-state' }, 'Connected')
    : h('span', { class: 'badge bad', 'data-testid': 'cluster-state' }, 'Unreachable');
  const nodes = info.nodes
    ? `${info.nodes.ready} of ${info.nodes.total} Ready${info.nodes.zones.length ? ` · zones ${info.nodes.zones.join(', ')}` : ''}`
    : '—';
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'cluster-heading', 'data-testid': 'cluster-card' },
    h('div', { class: 'card-head' }, h('h2', { id: 'cluster-heading' }, 'Cluster'), status),
    h(
      'dl',
      { class: 'kvs' },
      row('Connected to', kindLabel[info.kind], 'cluster-kind'),
      // Shown to admins only: the server leaves it out for everyone else.
      info.server ? row('API server', h('code', {}, info.server), 'cluster-server') : null,
      row('Kubernetes', info.version ?? '—', 'cluster-version'),
      row('Nodes', nodes, 'cluster-nodes'),
      info.context ? row('Context', info.context) : null,
      row('Why this cluster', info.reason),
    ),
    info.problem ? h('p', { class: 'problem', role: 'alert' }, info.problem) : null,
  );
}

/** The cluster card, filled in when /api/cluster answers. */
export function clusterCard(): HTMLElement {
  const slot = h('div', { class: 'cluster-slot' }, h('p', { class: 'muted', 'aria-live': 'polite' }, 'Checking the cluster…'));
  getJson<ClusterInfoResponse>('/api/cluster').then(
    (info) => {
      slot.replaceChildren(renderCluster(info));
    },
    (error: unknown) => {
      slot.replaceChildren(h('p', { class: 'problem', role: 'alert' }, `Could not reach the kubedojo server: ${error instanceof Error ? error.message : String(error)}`));
    },
  );
  return slot;
}
