import { BlockList, isIP } from 'node:net';
import type {
  V1LabelSelector,
  V1Namespace,
  V1NetworkPolicy,
  V1NetworkPolicyIngressRule,
  V1NetworkPolicyPeer,
  V1NetworkPolicyPort,
  V1Pod,
} from '@kubernetes/client-node';

/**
 * NetworkPolicy semantics, evaluated as Kubernetes defines them
 * (https://kubernetes.io/docs/concepts/services-networking/network-policies/ and the field
 * documentation of networking.k8s.io/v1), so a grader can ask "may pod A reach pod B on this
 * port?" of the learner's real policies instead of comparing their text. Pure: no cluster.
 *
 * The model, in short:
 * - A pod is isolated for a direction when a policy in its own namespace selects it
 *   (`spec.podSelector`) and that policy's (defaulted) `policyTypes` include the direction.
 * - Allows are a union over all selecting policies; there are no deny rules.
 * - A connection needs both sides: the source's egress AND the destination's ingress.
 *
 * Policies are accepted both as the generated client deserializes them (an ingress rule's
 * `from` is renamed `_from`) and as plain JSON from the API or a manifest (`from`).
 */

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

/** What the evaluator needs to know about a pod; see {@link podInfo} to build one from a V1Pod. */
export interface PodInfo {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  /** The pod IP, matched against `ipBlock` peers; a pod without one never matches an ipBlock. */
  ip?: string;
  /** Container ports, to resolve named ports (`port: http`) on the destination pod. */
  ports?: { name?: string; containerPort: number; protocol?: string }[];
}

export interface Connection {
  from: PodInfo;
  to: PodInfo;
  /** A port number, or the name of one of the destination pod's container ports. */
  port: number | string;
  /** Defaults to TCP. */
  protocol?: Protocol;
}

export interface DirectionVerdict {
  /** Whether this side lets the connection through (not isolated, or some rule allows it). */
  allowed: boolean;
  isolated: boolean;
  /** Policies (namespace/name) that select the pod for this direction. */
  selecting: string[];
  /** Policies (namespace/name) whose rules allow this connection in this direction. */
  allowedBy: string[];
}

export interface Verdict {
  allowed: boolean;
  /** The source pod's side. */
  egress: DirectionVerdict;
  /** The destination pod's side. */
  ingress: DirectionVerdict;
  /** One human sentence explaining the outcome, naming the policies involved. */
  reason: string;
}

/** The label the API server puts on every namespace (immutable, since Kubernetes 1.21). */
const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/**
 * Kubernetes label selector semantics (metav1.LabelSelectorAsSelector): `matchLabels` and
 * every `matchExpressions` requirement are ANDed; an empty selector (`{}`) matches everything;
 * a null/absent selector matches nothing. `NotIn` and `DoesNotExist` match when the key is
 * absent. An unknown operator, which the API server would reject, matches nothing.
 */
export function matchesLabelSelector(selector: V1LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (selector === undefined) return false;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const requirement of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, requirement.key);
    const value = labels[requirement.key];
    const values = requirement.values ?? [];
    switch (requirement.operator) {
      case 'In':
        if (value === undefined || !values.includes(value)) return false;
        break;
      case 'NotIn':
        if (value !== undefined && values.includes(value)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/**
 * The pod as the evaluator sees it. A pod without a namespace is taken to be in `default`;
 * ports come from `spec.containers` (where the kubelet and Services resolve named ports too).
 */
export function podInfo(pod: V1Pod): PodInfo {
  const ports = (pod.spec?.containers ?? []).flatMap((container) =>
    (container.ports ?? []).map((port) => ({
      containerPort: port.containerPort,
      ...(port.name === undefined ? {} : { name: port.name }),
      ...(port.protocol === undefined ? {} : { protocol: port.protocol }),
    })),
  );
  const ip = pod.status?.podIP;
  return {
    name: pod.metadata?.name ?? '',
    namespace: pod.metadata?.namespace ?? 'default',
    labels: { ...pod.metadata?.labels },
    ...(ip === undefined || ip === '' ? {} : { ip }),
    ports,
  };
}

/** Namespace name → labels, the shape {@link evaluateConnection} takes. */
export function namespaceLabels(namespaces: readonly V1Namespace[]): Map<string, Record<string, string>> {
  const map = new Map<string, Record<string, string>>();
  for (const namespace of namespaces) {
    const name = namespace.metadata?.name;
    if (name !== undefined) map.set(name, { ...namespace.metadata?.labels });
  }
  return map;
}

/**
 * Decides whether `conn` is allowed by `policies` (all NetworkPolicies of the cluster, or at
 * least of the two pods' namespaces and of every namespace a peer might select).
 * `namespaces` maps a namespace name to its labels, for `namespaceSelector`; the
 * `kubernetes.io/metadata.name` label is always present, as the API server guarantees, and a
 * namespace missing from the map has only that label.
 */
export function evaluateConnection(
  conn: Connection,
  policies: readonly V1NetworkPolicy[],
  namespaces: ReadonlyMap<string, Record<string, string>>,
): Verdict {
  const protocol: Protocol = conn.protocol ?? 'TCP';
  const source = `${conn.from.namespace}/${conn.from.name}`;
  const destination = `${conn.to.namespace}/${conn.to.name}`;
  const labelsOf = (namespace: string): Record<string, string> => ({
    ...namespaces.get(namespace),
    [NAMESPACE_NAME_LABEL]: namespace,
  });

  const port = typeof conn.port === 'number' ? conn.port : resolveNamedPort(conn.to, conn.port, protocol);
  const target = typeof conn.port === 'number' ? `${protocol}/${conn.port}` : `${protocol}/${port ?? '?'} ("${conn.port}")`;

  const egressSelecting = policies.filter((policy) => selects(policy, conn.from, 'Egress'));
  const ingressSelecting = policies.filter((policy) => selects(policy, conn.to, 'Ingress'));

  if (port === undefined) {
    const side = (selecting: V1NetworkPolicy[]): DirectionVerdict => ({
      allowed: false,
      isolated: selecting.length > 0,
      selecting: selecting.map(policyName),
      allowedBy: [],
    });
    return {
      allowed: false,
      egress: side(egressSelecting),
      ingress: side(ingressSelecting),
      reason: `Denied: ${destination} has no ${protocol} container port named "${conn.port}", so there is nothing to connect to.`,
    };
  }

  const portMatches = (ports: readonly V1NetworkPolicyPort[] | undefined): boolean =>
    ports === undefined || ports.length === 0 || ports.some((p) => policyPortMatches(p, port, protocol, conn.to));
  const peerMatches = (peers: readonly V1NetworkPolicyPeer[] | undefined, policy: V1NetworkPolicy, pod: PodInfo): boolean =>
    peers === undefined || peers.length === 0 || peers.some((peer) => peerSelects(peer, policyNamespace(policy), pod, labelsOf));

  const egressAllowedBy = egressSelecting.filter((policy) =>
    (policy.spec?.egress ?? []).some((rule) => portMatches(rule.ports) && peerMatches(rule.to, policy, conn.to)),
  );
  const ingressAllowedBy = ingressSelecting.filter((policy) =>
    (policy.spec?.ingress ?? []).some((rule) => portMatches(rule.ports) && peerMatches(ingressPeers(rule), policy, conn.from)),
  );

  const egress = direction(egressSelecting, egressAllowedBy);
  const ingress = direction(ingressSelecting, ingressAllowedBy);
  const allowed = egress.allowed && ingress.allowed;

  const egressText = describe(egress, 'egress', source, `${target} to ${destination}`);
  const ingressText = describe(ingress, 'ingress', destination, `${target} from ${source}`);
  // When denied, the side that refuses comes first: that is what the learner has to fix.
  const parts = !allowed && egress.allowed ? [ingressText, egressText] : [egressText, ingressText];
  return { allowed, egress, ingress, reason: `${allowed ? 'Allowed' : 'Denied'}: ${parts.join('; ')}.` };
}

type Direction = 'Ingress' | 'Egress';

/**
 * The policy types a policy applies to, defaulted as the API server does
 * (SetDefaults_NetworkPolicy in k8s.io/kubernetes pkg/apis/networking/v1/defaults.go): when
 * `policyTypes` is absent or an empty list, it is ["Ingress"], plus "Egress" when `egress` has
 * at least one rule (`len(spec.Egress) != 0`). So `egress: []` alone does NOT make a policy
 * affect egress; an egress default-deny needs an explicit `policyTypes: [Egress]`. Objects read
 * from the API server are already defaulted; this matters for manifests not yet applied.
 */
export function policyTypesOf(policy: V1NetworkPolicy): Direction[] {
  const explicit = policy.spec?.policyTypes ?? [];
  if (explicit.length > 0) return explicit.filter((type): type is Direction => type === 'Ingress' || type === 'Egress');
  return (policy.spec?.egress ?? []).length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
}

/** A policy without a namespace is taken to be in `default`, where the API server would put it. */
function policyNamespace(policy: V1NetworkPolicy): string {
  return policy.metadata?.namespace ?? 'default';
}

function policyName(policy: V1NetworkPolicy): string {
  return `${policyNamespace(policy)}/${policy.metadata?.name ?? '<unnamed>'}`;
}

/**
 * Whether `policy` selects `pod` for `type`. Only policies of the pod's own namespace can;
 * an absent `podSelector` is the same as `{}` (the Go field is a value, not a pointer): all pods.
 */
function selects(policy: V1NetworkPolicy, pod: PodInfo, type: Direction): boolean {
  return (
    policyNamespace(policy) === pod.namespace &&
    policyTypesOf(policy).includes(type) &&
    matchesLabelSelector(policy.spec?.podSelector ?? {}, pod.labels)
  );
}

/** An ingress rule's `from`: `_from` once deserialized by the generated client, `from` as plain JSON. */
function ingressPeers(rule: V1NetworkPolicyIngressRule): readonly V1NetworkPolicyPeer[] | undefined {
  const plain = rule as V1NetworkPolicyIngressRule & { from?: V1NetworkPolicyPeer[] };
  return plain._from ?? plain.from;
}

/**
 * One peer of a `from`/`to` list (NetworkPolicyPeer):
 * - `ipBlock`: the pod's IP is in `cidr` and in none of `except` (the API server forbids
 *   combining it with selectors, so a peer with an ipBlock is judged by it alone);
 * - only `podSelector`: matching pods in the policy's own namespace;
 * - only `namespaceSelector`: every pod in the matching namespaces (`{}`: all namespaces);
 * - both in one peer: matching pods in matching namespaces (AND);
 * - neither (rejected by the API server): nothing.
 */
function peerSelects(
  peer: V1NetworkPolicyPeer,
  ownNamespace: string,
  pod: PodInfo,
  labelsOf: (namespace: string) => Record<string, string>,
): boolean {
  if (peer.ipBlock !== undefined) {
    if (pod.ip === undefined) return false;
    const ip = pod.ip;
    return inCidr(ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((cidr) => inCidr(ip, cidr));
  }
  if (peer.podSelector === undefined && peer.namespaceSelector === undefined) return false;
  const namespaceOk =
    peer.namespaceSelector === undefined
      ? pod.namespace === ownNamespace
      : matchesLabelSelector(peer.namespaceSelector, labelsOf(pod.namespace));
  const podOk = peer.podSelector === undefined || matchesLabelSelector(peer.podSelector, pod.labels);
  return namespaceOk && podOk;
}

/** IPv4 and IPv6; an address never matches a CIDR of the other family, nor a malformed CIDR. */
function inCidr(ip: string, cidr: string): boolean {
  const slash = cidr.indexOf('/');
  const network = slash === -1 ? cidr : cidr.slice(0, slash);
  const family = isIP(network);
  if (family === 0 || isIP(ip) !== family) return false;
  const prefix = slash === -1 ? (family === 4 ? 32 : 128) : Number(cidr.slice(slash + 1));
  const type = family === 4 ? 'ipv4' : 'ipv6';
  try {
    const block = new BlockList();
    block.addSubnet(network, prefix, type);
    return block.check(ip, type);
  } catch {
    return false;
  }
}

/**
 * One NetworkPolicyPort against the connection's port. Protocol defaults to TCP; no `port`
 * means every port of that protocol; `endPort` makes a numeric port an inclusive range; a named
 * port is resolved against the destination pod's container ports, with the policy's protocol
 * (both for ingress and for egress: the name belongs to the pod receiving the traffic).
 */
function policyPortMatches(policyPort: V1NetworkPolicyPort, port: number, protocol: Protocol, destination: PodInfo): boolean {
  if ((policyPort.protocol ?? 'TCP') !== protocol) return false;
  if (policyPort.port === undefined) return true;
  if (typeof policyPort.port === 'number') {
    return port >= policyPort.port && port <= (policyPort.endPort ?? policyPort.port);
  }
  return resolveNamedPort(destination, policyPort.port, protocol) === port;
}

function resolveNamedPort(pod: PodInfo, name: string, protocol: Protocol): number | undefined {
  return pod.ports?.find((p) => p.name === name && (p.protocol ?? 'TCP') === protocol)?.containerPort;
}

function direction(selecting: readonly V1NetworkPolicy[], allowedBy: readonly V1NetworkPolicy[]): DirectionVerdict {
  const isolated = selecting.length > 0;
  return {
    allowed: !isolated || allowedBy.length > 0,
    isolated,
    selecting: selecting.map(policyName),
    allowedBy: allowedBy.map(policyName),
  };
}

function describe(verdict: DirectionVerdict, kind: 'egress' | 'ingress', pod: string, traffic: string): string {
  if (!verdict.isolated) return `no NetworkPolicy selects ${pod} for ${kind}, so its ${kind} is unrestricted`;
  if (verdict.allowed) return `${kind} ${traffic} is allowed by ${list(verdict.allowedBy)}`;
  const by = list(verdict.selecting);
  const whose = verdict.selecting.length === 1 ? 'its' : 'their';
  return `${pod} is isolated for ${kind} by ${by} and none of ${whose} ${kind} rules allows ${traffic}`;
}

function list(names: readonly string[]): string {
  return names.map((name) => `"${name}"`).join(', ');
}
