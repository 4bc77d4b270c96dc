import type { KubernetesObject, V1Namespace, V1NetworkPolicy, V1Pod } from '@kubernetes/client-node';
import { evaluateConnection, podInfo, type PodInfo } from '../netpol.ts';
import type { CheckEvaluator } from '../types.ts';
import { apiOutcome } from './common.ts';
import { isReady, matchesLabels } from './workloads.ts';

type K = KubernetesObject;
/** The namespace given to a peer that the case places outside the learner's namespace. */
const OTHER_NAMESPACE = 'kubedojo-grader-other';

function labelText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/**
 * `networkpolicy`: a table of connections, each evaluated against the learner's real
 * NetworkPolicy objects with Kubernetes' semantics (isolation per direction, additive allows,
 * peers, named ports, endPort), not by their text. A peer is a real Pod of the sandbox when one
 * carries the labels (so named ports resolve against its containers), otherwise a Pod with
 * those labels as it would be.
 */
export const networkPolicyCheck: CheckEvaluator<'networkpolicy'> = async (check, ctx) => {
  const ns = ctx.scope.namespace;
  const [policies, pods, namespace] = await Promise.all([
    ctx.scope.list<V1NetworkPolicy & K>({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy' }),
    ctx.scope.pods<V1Pod & K>(''),
    ctx.scope.get<V1Namespace & K>({ apiVersion: 'v1', kind: 'Namespace' }, ns),
  ]);
  if (!policies.ok) return apiOutcome(policies.error, 'the NetworkPolicies');
  if (!pods.ok) return apiOutcome(pods.error, 'the Pods');
  if (!namespace.ok) return apiOutcome(namespace.error, `namespace ${ns}`);
  // Every policy counts, the platform's baseline (kubedojo-isolation) too: that is what the network would do.
  const all = policies.value;
  const namespaces = new Map<string, Record<string, string>>([[ns, namespace.value?.metadata?.labels ?? {}]]);

  type Peer = { pod?: string | undefined; podLabels?: Record<string, string> | undefined; namespaceLabels?: Record<string, string> | undefined };
  const peer = (spec: Peer, role: string): PodInfo | string => {
    if (spec.pod !== undefined) {
      const named = pods.value.find((p) => p.metadata?.name === spec.pod);
      return named ? podInfo(named) : `Pod ${spec.pod} is not in ${ns}: the check needs it (resetting the sandbox brings the lab's Pods back)`;
    }
    const labels = spec.podLabels ?? {};
    if (spec.namespaceLabels !== undefined) {
      namespaces.set(OTHER_NAMESPACE, spec.namespaceLabels);
      return { name: `${role}-pod`, namespace: OTHER_NAMESPACE, labels };
    }
    const real = pods.value.filter((p) => matchesLabels(p.metadata?.labels, labels)).sort((a, b) => Number(isReady(b)) - Number(isReady(a)))[0];
    return real ? podInfo(real) : { name: `a Pod labelled ${labelText(labels)}`, namespace: ns, labels };
  };
  const describePeer = (spec: Peer) => spec.pod ?? `${labelText(spec.podLabels ?? {})}${spec.namespaceLabels ? ` (namespace ${labelText(spec.namespaceLabels)})` : ''}`;

  const results: { label: string; want: boolean; got: boolean; reason: string }[] = [];
  for (const c of check.cases) {
    const from = peer(c.from, 'source');
    const to = peer(c.to, 'destination');
    if (typeof from === 'string') return { status: 'failed', message: from, settled: true };
    if (typeof to === 'string') return { status: 'failed', message: to, settled: true };
    const protocol = c.protocol ?? 'TCP';
    const verdict = evaluateConnection({ from, to, port: c.port, protocol }, all, namespaces);
    results.push({ label: `${describePeer(c.from)} → ${describePeer(c.to)} on ${protocol} ${c.port}`, want: c.allowed, got: verdict.allowed, reason: verdict.reason });
  }
  const wrong = results.filter((r) => r.want !== r.got);
  if (wrong.length > 0) {
    const first = wrong[0];
    return {
      status: 'failed',
      message: wrong.map((r) => `${r.label}: expected ${r.want ? 'allowed' : 'denied'}, but ${r.got ? 'allowed' : 'denied'}`).join('; '),
      expected: results.map((r) => `${r.label}: ${r.want ? 'allowed' : 'denied'}`).join('; '),
      found: first ? first.reason : '',
      settled: true,
    };
  }
  return { status: 'passed', message: `${results.length} connections behave as asked under the ${all.length} NetworkPolicies of ${ns}` };
};
