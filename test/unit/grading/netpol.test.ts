import { describe, expect, it } from 'vitest';
import type {
  V1Namespace,
  V1NetworkPolicy,
  V1NetworkPolicyIngressRule,
  V1NetworkPolicyPeer,
  V1NetworkPolicySpec,
  V1Pod,
} from '@kubernetes/client-node';
import {
  evaluateConnection,
  matchesLabelSelector,
  namespaceLabels,
  podInfo,
  policyTypesOf,
  type Connection,
  type PodInfo,
  type Verdict,
} from '../../../server/grading/netpol.ts';

// Policies are written as plain JSON, the way a learner's manifest (and the API) spells them:
// an ingress rule's sources are `from`, not the generated client's `_from`.
type PlainIngressRule = Omit<V1NetworkPolicyIngressRule, '_from'> & { from?: V1NetworkPolicyPeer[] };
type PlainSpec = Omit<V1NetworkPolicySpec, 'ingress'> & { ingress?: PlainIngressRule[] };

function policy(namespace: string, name: string, spec: PlainSpec): V1NetworkPolicy {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { namespace, name }, spec };
}

function pod(namespace: string, name: string, labels: Record<string, string> = {}, extra: Partial<PodInfo> = {}): PodInfo {
  return { namespace, name, labels, ...extra };
}

const namespaces = new Map<string, Record<string, string>>([
  ['shop', { team: 'shop' }],
  ['monitoring', { team: 'ops', purpose: 'monitoring' }],
  ['other', { team: 'other' }],
]);

const frontend = pod('shop', 'frontend', { app: 'frontend' }, { ip: '10.0.1.10' });
const api = pod('shop', 'api', { app: 'api', tier: 'backend' }, {
  ip: '10.0.1.20',
  ports: [
    { name: 'http', containerPort: 8080 },
    { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
    { name: 'dns', containerPort: 5353, protocol: 'UDP' },
  ],
});
const worker = pod('shop', 'worker', { app: 'worker' }, { ip: '10.0.1.30' });
const prometheus = pod('monitoring', 'prometheus', { app: 'prometheus' }, { ip: '10.0.2.10' });
const outsiderFrontend = pod('other', 'frontend', { app: 'frontend' }, { ip: '10.0.3.10' });

function check(
  from: PodInfo,
  to: PodInfo,
  port: number | string,
  policies: readonly V1NetworkPolicy[],
  protocol?: Connection['protocol'],
): Verdict {
  const conn: Connection = protocol === undefined ? { from, to, port } : { from, to, port, protocol };
  return evaluateConnection(conn, policies, namespaces);
}

const denyAllIngress = policy('shop', 'default-deny', { podSelector: {}, policyTypes: ['Ingress'] });
const denyAllEgress = policy('shop', 'deny-egress', { podSelector: {}, policyTypes: ['Egress'] });

describe('matchesLabelSelector', () => {
  const labels = { app: 'api', tier: 'backend' };

  it('treats an empty selector as everything and an absent one as nothing', () => {
    expect(matchesLabelSelector({}, labels)).toBe(true);
    expect(matchesLabelSelector({}, {})).toBe(true);
    expect(matchesLabelSelector(undefined, labels)).toBe(false);
  });

  it('ANDs matchLabels and matchExpressions', () => {
    expect(matchesLabelSelector({ matchLabels: { app: 'api' } }, labels)).toBe(true);
    expect(matchesLabelSelector({ matchLabels: { app: 'api', tier: 'frontend' } }, labels)).toBe(false);
    expect(
      matchesLabelSelector({ matchLabels: { app: 'api' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['backend'] }] }, labels),
    ).toBe(true);
    expect(
      matchesLabelSelector({ matchLabels: { app: 'api' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['backend'] }] }, labels),
    ).toBe(false);
  });

  it('implements In, NotIn, Exists and DoesNotExist, NotIn matching an absent key', () => {
    expect(matchesLabelSelector({ matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 'api'] }] }, labels)).toBe(true);
    expect(matchesLabelSelector({ matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] }, labels)).toBe(false);
    expect(matchesLabelSelector({ matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }] }, labels)).toBe(false);
    expect(matchesLabelSelector({ matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] }, labels)).toBe(true);
    expect(matchesLabelSelector({ matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['api'] }] }, labels)).toBe(false);
    expect(matchesLabelSelector({ matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] }, labels)).toBe(true);
    expect(matchesLabelSelector({ matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, labels)).toBe(true);
    expect(matchesLabelSelector({ matchExpressions: [{ key: 'env', operator: 'Exists' }] }, labels)).toBe(false);
    expect(matchesLabelSelector({ matchExpressions: [{ key: 'env', operator: 'DoesNotExist' }] }, labels)).toBe(true);
    expect(matchesLabelSelector({ matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, labels)).toBe(false);
    expect(matchesLabelSelector({ matchExpressions: [{ key: 'tier', operator: 'Matches' }] }, labels)).toBe(false);
  });

  it('lets Exists match a label whose value is empty', () => {
    expect(matchesLabelSelector({ matchExpressions: [{ key: 'flag', operator: 'Exists' }] }, { flag: '' })).toBe(true);
    expect(matchesLabelSelector({ matchExpressions: [{ key: 'flag', operator: 'DoesNotExist' }] }, { flag: '' })).toBe(false);
  });
});

describe('evaluateConnection: isolation', () => {
  it('allows everything when no policy selects either pod', () => {
    const verdict = check(frontend, api, 8080, []);
    expect(verdict.allowed).toBe(true);
    expect(verdict.ingress).toEqual({ allowed: true, isolated: false, selecting: [], allowedBy: [] });
    expect(verdict.egress).toEqual({ allowed: true, isolated: false, selecting: [], allowedBy: [] });
    expect(verdict.reason).toMatch(/^Allowed: /);
  });

  it('denies all ingress under a default-deny policy, and names it', () => {
    const verdict = check(frontend, api, 8080, [denyAllIngress]);
    expect(verdict.allowed).toBe(false);
    expect(verdict.ingress).toEqual({ allowed: false, isolated: true, selecting: ['shop/default-deny'], allowedBy: [] });
    expect(verdict.egress.isolated).toBe(false);
    expect(verdict.reason).toMatch(/^Denied: shop\/api is isolated for ingress by "shop\/default-deny"/);
  });

  it('never lets a policy select pods of another namespace', () => {
    const elsewhere = policy('other', 'deny-everything', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    const verdict = check(frontend, api, 8080, [elsewhere]);
    expect(verdict.allowed).toBe(true);
    expect(verdict.ingress.selecting).toEqual([]);
    expect(verdict.egress.selecting).toEqual([]);
    // …but it does isolate the pods of its own namespace.
    expect(check(frontend, outsiderFrontend, 80, [elsewhere]).ingress.selecting).toEqual(['other/deny-everything']);
  });

  it('isolates with an empty ingress list and allows nothing', () => {
    const empty = policy('shop', 'no-ingress', { podSelector: { matchLabels: { app: 'api' } }, ingress: [] });
    const verdict = check(frontend, api, 8080, [empty]);
    expect(verdict.allowed).toBe(false);
    expect(verdict.ingress.isolated).toBe(true);
    expect(verdict.reason).toContain('shop/no-ingress');
    // It selects only the api pod.
    expect(check(api, frontend, 8080, [empty]).allowed).toBe(true);
  });

  it('absent policyTypes with an egress section affects both directions', () => {
    const both = policy('shop', 'api-out', {
      podSelector: { matchLabels: { app: 'api' } },
      egress: [{ to: [{ podSelector: { matchLabels: { app: 'worker' } } }] }],
    });
    expect(policyTypesOf(both)).toEqual(['Ingress', 'Egress']);
    const inbound = check(frontend, api, 8080, [both]);
    expect(inbound.allowed).toBe(false);
    expect(inbound.ingress.selecting).toEqual(['shop/api-out']);
    expect(inbound.reason).toContain('shop/api-out');
    expect(check(api, worker, 7000, [both]).allowed).toBe(true);
    const outbound = check(api, frontend, 80, [both]);
    expect(outbound.allowed).toBe(false);
    expect(outbound.egress).toEqual({ allowed: false, isolated: true, selecting: ['shop/api-out'], allowedBy: [] });
    expect(outbound.reason).toMatch(/^Denied: shop\/api is isolated for egress by "shop\/api-out"/);
  });

  it('absent (or empty) policyTypes with an empty egress list affects ingress only, as the API server defaults it', () => {
    const emptyEgress = policy('shop', 'empty-egress', { podSelector: {}, egress: [] });
    expect(policyTypesOf(emptyEgress)).toEqual(['Ingress']);
    expect(policyTypesOf(policy('shop', 'x', { podSelector: {}, policyTypes: [], egress: [{}] }))).toEqual(['Ingress', 'Egress']);
    const verdict = check(api, worker, 80, [emptyEgress]);
    expect(verdict.egress.isolated).toBe(false);
    expect(verdict.ingress.isolated).toBe(true);
    expect(verdict.allowed).toBe(false);
  });

  it('ignores ingress rules of a policy whose policyTypes are only Egress', () => {
    const egressOnly = policy('shop', 'egress-only', {
      podSelector: {},
      policyTypes: ['Egress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { app: 'nobody' } } }] }],
      egress: [{}],
    });
    const verdict = check(frontend, api, 8080, [egressOnly]);
    expect(verdict.allowed).toBe(true);
    expect(verdict.ingress.isolated).toBe(false);
    expect(verdict.egress.allowedBy).toEqual(['shop/egress-only']);
  });
});

describe('evaluateConnection: ingress rules and peers', () => {
  const allowFrontend = policy('shop', 'allow-frontend', {
    podSelector: { matchLabels: { app: 'api' } },
    policyTypes: ['Ingress'],
    ingress: [{ from: [{ podSelector: { matchLabels: { app: 'frontend' } } }], ports: [{ protocol: 'TCP', port: 8080 }] }],
  });

  it('allows frontend → api on 8080 only', () => {
    const ok = check(frontend, api, 8080, [denyAllIngress, allowFrontend]);
    expect(ok.allowed).toBe(true);
    expect(ok.ingress).toEqual({
      allowed: true,
      isolated: true,
      selecting: ['shop/default-deny', 'shop/allow-frontend'],
      allowedBy: ['shop/allow-frontend'],
    });
    expect(ok.reason).toContain('allowed by "shop/allow-frontend"');

    const wrongPort = check(frontend, api, 9090, [denyAllIngress, allowFrontend]);
    expect(wrongPort.allowed).toBe(false);
    expect(wrongPort.ingress.allowedBy).toEqual([]);
    expect(wrongPort.reason).toContain('"shop/default-deny", "shop/allow-frontend"');
    expect(wrongPort.reason).toContain('TCP/9090 from shop/frontend');

    const wrongSource = check(worker, api, 8080, [denyAllIngress, allowFrontend]);
    expect(wrongSource.allowed).toBe(false);
    expect(wrongSource.reason).toContain('shop/allow-frontend');

    // Same labels in another namespace: a bare podSelector means the policy's own namespace.
    expect(check(outsiderFrontend, api, 8080, [allowFrontend]).allowed).toBe(false);
  });

  it('reads the generated client\'s `_from` as well as `from`', () => {
    const typed: V1NetworkPolicy = {
      metadata: { namespace: 'shop', name: 'typed' },
      spec: {
        podSelector: { matchLabels: { app: 'api' } },
        policyTypes: ['Ingress'],
        ingress: [{ _from: [{ podSelector: { matchLabels: { app: 'frontend' } } }] }],
      },
    };
    expect(check(frontend, api, 8080, [typed]).allowed).toBe(true);
    expect(check(worker, api, 8080, [typed]).allowed).toBe(false);
  });

  it('podSelector {} in a peer allows every pod of the namespace, but not other namespaces', () => {
    const sameNamespace = policy('shop', 'same-namespace', {
      podSelector: {},
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: {} }] }],
    });
    expect(check(frontend, api, 8080, [sameNamespace]).allowed).toBe(true);
    expect(check(worker, api, 1234, [sameNamespace]).allowed).toBe(true);
    const foreign = check(prometheus, api, 8080, [sameNamespace]);
    expect(foreign.allowed).toBe(false);
    expect(foreign.reason).toContain('shop/same-namespace');
  });

  it('a rule without from allows every source, a rule without ports every port', () => {
    const anySource = policy('shop', 'any-source', {
      podSelector: { matchLabels: { app: 'api' } },
      ingress: [{ ports: [{ port: 8080 }] }],
    });
    expect(check(outsiderFrontend, api, 8080, [anySource]).allowed).toBe(true);
    expect(check(outsiderFrontend, api, 8081, [anySource]).allowed).toBe(false);

    const anyPort = policy('shop', 'any-port', {
      podSelector: { matchLabels: { app: 'api' } },
      ingress: [{ from: [{ podSelector: { matchLabels: { app: 'frontend' } } }], ports: [] }],
    });
    expect(check(frontend, api, 1, [anyPort]).allowed).toBe(true);
    expect(check(frontend, api, 65535, [anyPort], 'UDP').allowed).toBe(true);

    const allowAll = policy('shop', 'allow-all', { podSelector: {}, ingress: [{}] });
    expect(check(prometheus, api, 22, [denyAllIngress, allowAll]).ingress.allowedBy).toEqual(['shop/allow-all']);
  });

  it('namespaceSelector alone allows all pods of matching namespaces; {} means every namespace', () => {
    const fromOps = policy('shop', 'from-ops', {
      podSelector: { matchLabels: { app: 'api' } },
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'ops' } } }] }],
    });
    expect(check(prometheus, api, 9090, [fromOps]).allowed).toBe(true);
    expect(check(frontend, api, 9090, [fromOps]).allowed).toBe(false);

    const fromEverywhere = policy('shop', 'from-everywhere', {
      podSelector: { matchLabels: { app: 'api' } },
      ingress: [{ from: [{ namespaceSelector: {} }] }],
    });
    expect(check(prometheus, api, 9090, [fromEverywhere]).allowed).toBe(true);
    expect(check(outsiderFrontend, api, 9090, [fromEverywhere]).allowed).toBe(true);
    expect(check(frontend, api, 9090, [fromEverywhere]).allowed).toBe(true);
    // A namespace the caller did not describe still has no labels but its name.
    expect(check(pod('unknown', 'x'), api, 9090, [fromEverywhere]).allowed).toBe(true);
    expect(check(pod('unknown', 'x'), api, 9090, [fromOps]).allowed).toBe(false);
  });

  it('matches the kubernetes.io/metadata.name label every namespace carries', () => {
    const byName = policy('shop', 'by-name', {
      podSelector: {},
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }] }],
    });
    expect(check(prometheus, api, 9090, [byName]).allowed).toBe(true);
    expect(check(outsiderFrontend, api, 9090, [byName]).allowed).toBe(false);
  });

  it('ANDs namespaceSelector and podSelector in one peer, ORs them as two peers', () => {
    const scraper = pod('monitoring', 'grafana', { app: 'grafana' }, { ip: '10.0.2.20' });
    const onePeer = policy('shop', 'one-peer', {
      podSelector: { matchLabels: { app: 'api' } },
      ingress: [
        { from: [{ namespaceSelector: { matchLabels: { team: 'ops' } }, podSelector: { matchLabels: { app: 'prometheus' } } }] },
      ],
    });
    expect(check(prometheus, api, 9090, [onePeer]).allowed).toBe(true);
    expect(check(scraper, api, 9090, [onePeer]).allowed).toBe(false); // right namespace, wrong pod
    expect(check(pod('shop', 'prometheus', { app: 'prometheus' }), api, 9090, [onePeer]).allowed).toBe(false); // right pod, wrong namespace

    const twoPeers = policy('shop', 'two-peers', {
      podSelector: { matchLabels: { app: 'api' } },
      ingress: [
        { from: [{ namespaceSelector: { matchLabels: { team: 'ops' } } }, { podSelector: { matchLabels: { app: 'prometheus' } } }] },
      ],
    });
    expect(check(prometheus, api, 9090, [twoPeers]).allowed).toBe(true);
    expect(check(scraper, api, 9090, [twoPeers]).allowed).toBe(true); // any pod of an ops namespace
    expect(check(pod('shop', 'prometheus', { app: 'prometheus' }), api, 9090, [twoPeers]).allowed).toBe(true); // that pod in shop
    const neither = check(frontend, api, 9090, [twoPeers]);
    expect(neither.allowed).toBe(false);
    expect(neither.reason).toContain('shop/two-peers');
  });

  it('evaluates matchExpressions In, NotIn, Exists and DoesNotExist in podSelector and peers', () => {
    const canary = pod('shop', 'canary', { app: 'frontend', track: 'canary' });
    const unlabelled = pod('shop', 'unlabelled');
    const expressions = policy('shop', 'expressions', {
      podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['backend', 'db'] }] },
      ingress: [
        { from: [{ podSelector: { matchExpressions: [{ key: 'track', operator: 'NotIn', values: ['canary'] }] } }], ports: [{ port: 8080 }] },
        { from: [{ podSelector: { matchExpressions: [{ key: 'track', operator: 'Exists' }] } }], ports: [{ port: 9999 }] },
        { from: [{ podSelector: { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] } }], ports: [{ port: 7777 }] },
      ],
    });
    // The policy selects api (tier=backend) but not frontend (no tier label).
    expect(check(api, frontend, 1, [expressions]).ingress.isolated).toBe(false);
    expect(check(frontend, api, 8080, [expressions]).ingress.isolated).toBe(true);
    // NotIn matches when the key is absent: frontend has no track label.
    expect(check(frontend, api, 8080, [expressions]).allowed).toBe(true);
    expect(check(canary, api, 8080, [expressions]).allowed).toBe(false);
    // Exists.
    expect(check(canary, api, 9999, [expressions]).allowed).toBe(true);
    expect(check(frontend, api, 9999, [expressions]).allowed).toBe(false);
    // DoesNotExist.
    expect(check(unlabelled, api, 7777, [expressions]).allowed).toBe(true);
    expect(check(frontend, api, 7777, [expressions]).allowed).toBe(false);
  });

  it('takes the union of two policies', () => {
    const fromFrontend = policy('shop', 'from-frontend', {
      podSelector: { matchLabels: { app: 'api' } },
      ingress: [{ from: [{ podSelector: { matchLabels: { app: 'frontend' } } }], ports: [{ port: 8080 }] }],
    });
    const fromMonitoring = policy('shop', 'from-monitoring', {
      podSelector: { matchLabels: { tier: 'backend' } },
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { purpose: 'monitoring' } } }], ports: [{ port: 9090 }] }],
    });
    const anyToHttp = policy('shop', 'any-to-http', {
      podSelector: {},
      ingress: [{ ports: [{ port: 8080 }] }],
    });
    const all = [denyAllIngress, fromFrontend, fromMonitoring];
    expect(check(frontend, api, 8080, all).ingress.allowedBy).toEqual(['shop/from-frontend']);
    expect(check(prometheus, api, 9090, all).ingress.allowedBy).toEqual(['shop/from-monitoring']);
    expect(check(frontend, api, 9090, all).allowed).toBe(false);
    expect(check(prometheus, api, 8080, all).allowed).toBe(false);
    const both = check(frontend, api, 8080, [...all, anyToHttp]);
    expect(both.allowed).toBe(true);
    expect(both.ingress.allowedBy).toEqual(['shop/from-frontend', 'shop/any-to-http']);
    expect(both.reason).toContain('"shop/from-frontend", "shop/any-to-http"');
  });
});

describe('evaluateConnection: ports', () => {
  it('resolves named ports against the destination pod, with their protocol', () => {
    const named = policy('shop', 'named', {
      podSelector: { matchLabels: { app: 'api' } },
      ingress: [{ ports: [{ port: 'http' }, { port: 'dns', protocol: 'UDP' }, { port: 'metrics', protocol: 'UDP' }] }],
    });
    const http = check(frontend, api, 8080, [named]);
    expect(http.allowed).toBe(true);
    expect(http.ingress.allowedBy).toEqual(['shop/named']);
    expect(check(frontend, api, 8081, [named]).allowed).toBe(false);
    // The connection may name the port too.
    expect(check(frontend, api, 'http', [named]).allowed).toBe(true);
    expect(check(frontend, api, 5353, [named], 'UDP').allowed).toBe(true);
    expect(check(frontend, api, 5353, [named]).allowed).toBe(false);
    // metrics is a TCP port; a UDP rule for the name resolves to nothing.
    expect(check(frontend, api, 9090, [named]).allowed).toBe(false);
    expect(check(frontend, api, 9090, [named], 'UDP').allowed).toBe(false);
    // A destination without that named port.
    const bare = pod('shop', 'bare', { app: 'api' }, { ports: [{ containerPort: 8080 }] });
    expect(check(frontend, bare, 8080, [named]).allowed).toBe(false);
  });

  it('resolves an egress named port against the destination pod too', () => {
    const egressNamed = policy('shop', 'egress-named', {
      podSelector: { matchLabels: { app: 'frontend' } },
      policyTypes: ['Egress'],
      egress: [{ to: [{ podSelector: { matchLabels: { app: 'api' } } }], ports: [{ port: 'http' }] }],
    });
    const verdict = check(frontend, api, 8080, [egressNamed]);
    expect(verdict.allowed).toBe(true);
    expect(verdict.egress).toEqual({ allowed: true, isolated: true, selecting: ['shop/egress-named'], allowedBy: ['shop/egress-named'] });
    expect(check(frontend, api, 9090, [egressNamed]).allowed).toBe(false);
  });

  it('denies a connection to a named port the destination does not have', () => {
    const verdict = check(frontend, worker, 'http', []);
    expect(verdict.allowed).toBe(false);
    expect(verdict.reason).toContain('no TCP container port named "http"');
  });

  it('treats port with endPort as an inclusive range', () => {
    const range = policy('shop', 'range', {
      podSelector: { matchLabels: { app: 'api' } },
      ingress: [{ ports: [{ port: 8000, endPort: 8100 }] }],
    });
    expect(check(frontend, api, 8000, [range]).allowed).toBe(true);
    expect(check(frontend, api, 8050, [range]).allowed).toBe(true);
    expect(check(frontend, api, 8100, [range]).allowed).toBe(true);
    expect(check(frontend, api, 7999, [range]).allowed).toBe(false);
    const above = check(frontend, api, 8101, [range]);
    expect(above.allowed).toBe(false);
    expect(above.reason).toContain('shop/range');
  });

  it('defaults the protocol to TCP and requires it to match', () => {
    const udpOnly = policy('shop', 'udp-only', {
      podSelector: { matchLabels: { app: 'api' } },
      ingress: [{ ports: [{ port: 53, protocol: 'UDP' }] }],
    });
    const tcp = check(frontend, api, 53, [udpOnly]);
    expect(tcp.allowed).toBe(false);
    expect(tcp.reason).toContain('TCP/53');
    expect(tcp.reason).toContain('shop/udp-only');
    expect(check(frontend, api, 53, [udpOnly], 'UDP').allowed).toBe(true);

    const defaultTcp = policy('shop', 'default-tcp', {
      podSelector: { matchLabels: { app: 'api' } },
      ingress: [{ ports: [{ port: 53 }] }],
    });
    expect(check(frontend, api, 53, [defaultTcp]).allowed).toBe(true);
    expect(check(frontend, api, 53, [defaultTcp], 'UDP').allowed).toBe(false);
    expect(check(frontend, api, 53, [defaultTcp], 'SCTP').allowed).toBe(false);

    // A port entry with only a protocol matches every port of that protocol.
    const allUdp = policy('shop', 'all-udp', { podSelector: {}, ingress: [{ ports: [{ protocol: 'UDP' }] }] });
    expect(check(frontend, api, 12345, [allUdp], 'UDP').allowed).toBe(true);
    expect(check(frontend, api, 12345, [allUdp]).allowed).toBe(false);
  });
});

describe('evaluateConnection: egress', () => {
  it('denies when egress is default-deny even though ingress allows', () => {
    const allowIngress = policy('shop', 'allow-ingress', { podSelector: {}, ingress: [{}] });
    const verdict = check(frontend, api, 8080, [denyAllEgress, allowIngress]);
    expect(verdict.allowed).toBe(false);
    expect(verdict.ingress.allowed).toBe(true);
    expect(verdict.ingress.allowedBy).toEqual(['shop/allow-ingress']);
    expect(verdict.egress).toEqual({ allowed: false, isolated: true, selecting: ['shop/deny-egress'], allowedBy: [] });
    expect(verdict.reason).toMatch(/^Denied: shop\/frontend is isolated for egress by "shop\/deny-egress"/);
    expect(verdict.reason).toContain('shop/allow-ingress');
    // Egress to another namespace is blocked just the same.
    expect(check(frontend, prometheus, 9090, [denyAllEgress]).allowed).toBe(false);
    // Ingress into the isolated namespace from elsewhere is not affected by an egress policy.
    expect(check(prometheus, api, 9090, [denyAllEgress]).allowed).toBe(true);
  });

  it('allows pod-to-pod traffic with an egress rule and no DNS rule (names are not part of the model)', () => {
    const toApi = policy('shop', 'frontend-to-api', {
      podSelector: { matchLabels: { app: 'frontend' } },
      policyTypes: ['Egress'],
      egress: [{ to: [{ podSelector: { matchLabels: { app: 'api' } } }], ports: [{ port: 8080 }] }],
    });
    const verdict = check(frontend, api, 8080, [denyAllEgress, toApi]);
    expect(verdict.allowed).toBe(true);
    expect(verdict.egress.allowedBy).toEqual(['shop/frontend-to-api']);
    expect(verdict.reason).toContain('allowed by "shop/frontend-to-api"');
    expect(check(frontend, api, 9090, [denyAllEgress, toApi]).allowed).toBe(false);
    expect(check(frontend, worker, 8080, [denyAllEgress, toApi]).allowed).toBe(false);
    // Port 53 to a DNS pod is still blocked: the evaluator does not add DNS on its own.
    const coredns = pod('kube-system', 'coredns', { 'k8s-app': 'kube-dns' }, { ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }] });
    expect(check(frontend, coredns, 53, [denyAllEgress, toApi], 'UDP').allowed).toBe(false);
  });

  it('needs both sides: egress allowed but ingress denied is denied', () => {
    const out = policy('shop', 'out', { podSelector: {}, policyTypes: ['Egress'], egress: [{}] });
    const verdict = check(frontend, api, 8080, [out, denyAllIngress]);
    expect(verdict.allowed).toBe(false);
    expect(verdict.egress.allowed).toBe(true);
    expect(verdict.ingress.allowed).toBe(false);
    expect(verdict.reason).toMatch(/^Denied: shop\/api is isolated for ingress by "shop\/default-deny"/);
  });
});

describe('evaluateConnection: ipBlock', () => {
  const external = policy('shop', 'cidr', {
    podSelector: { matchLabels: { app: 'frontend' } },
    policyTypes: ['Egress', 'Ingress'],
    egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/16', except: ['10.0.5.0/24'] } }] }],
    ingress: [{ from: [{ ipBlock: { cidr: '10.0.2.0/24' } }] }],
  });

  it('matches the destination IP on egress, honouring except', () => {
    const inRange = check(frontend, pod('other', 'a', {}, { ip: '10.0.1.2' }), 443, [external]);
    expect(inRange.allowed).toBe(true);
    expect(inRange.egress.allowedBy).toEqual(['shop/cidr']);
    const excepted = check(frontend, pod('other', 'b', {}, { ip: '10.0.5.7' }), 443, [external]);
    expect(excepted.allowed).toBe(false);
    expect(excepted.reason).toContain('shop/cidr');
    expect(check(frontend, pod('other', 'c', {}, { ip: '10.1.0.1' }), 443, [external]).allowed).toBe(false);
    // A pod without an IP never matches an ipBlock.
    expect(check(frontend, pod('other', 'd'), 443, [external]).allowed).toBe(false);
  });

  it('matches the source IP on ingress', () => {
    expect(check(prometheus, frontend, 80, [external]).allowed).toBe(true);
    expect(check(outsiderFrontend, frontend, 80, [external]).allowed).toBe(false);
  });

  it('handles IPv6 and never mixes families', () => {
    const v6 = policy('shop', 'v6', {
      podSelector: {},
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ ipBlock: { cidr: '2001:db8::/64', except: ['2001:db8::/120'] } }, { ipBlock: { cidr: '0.0.0.0/0' } }] }],
    });
    expect(check(pod('other', 'x', {}, { ip: '2001:db8::1:5' }), api, 80, [v6]).allowed).toBe(true);
    expect(check(pod('other', 'x', {}, { ip: '2001:db8::5' }), api, 80, [v6]).allowed).toBe(false);
    expect(check(pod('other', 'x', {}, { ip: '2001:db9::5' }), api, 80, [v6]).allowed).toBe(false);
    expect(check(pod('other', 'x', {}, { ip: '192.168.7.7' }), api, 80, [v6]).allowed).toBe(true);
  });
});

describe('podInfo and namespaceLabels', () => {
  it('build the evaluator inputs from API objects', () => {
    const apiPod: V1Pod = {
      metadata: { name: 'api-7d9f', namespace: 'shop', labels: { app: 'api' } },
      spec: { containers: [{ name: 'main', image: 'nginx', ports: [{ name: 'http', containerPort: 8080 }] }] },
      status: { podIP: '10.0.1.20' },
    };
    const info = podInfo(apiPod);
    expect(info).toEqual({
      name: 'api-7d9f',
      namespace: 'shop',
      labels: { app: 'api' },
      ip: '10.0.1.20',
      ports: [{ name: 'http', containerPort: 8080 }],
    });
    const list: V1Namespace[] = [{ metadata: { name: 'shop', labels: { team: 'shop', 'kubernetes.io/metadata.name': 'shop' } } }, { metadata: { name: 'monitoring' } }];
    const map = namespaceLabels(list);
    expect(map.get('monitoring')).toEqual({});
    const named = policy('shop', 'named', {
      podSelector: { matchLabels: { app: 'api' } },
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }], ports: [{ port: 'http' }] }],
    });
    expect(evaluateConnection({ from: prometheus, to: info, port: 8080 }, [named], map).allowed).toBe(true);
    expect(evaluateConnection({ from: frontend, to: info, port: 8080 }, [named], map).allowed).toBe(false);
  });
});
