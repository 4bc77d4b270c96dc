import { describe, expect, it } from 'vitest';
import { layoutFor, MAX_SLOTS, pickSlot } from '../../server/cluster/node/layout.ts';
import { containerdConfig, cniConfig, corefile, kubeletConfig, kubeProxyConfig, usableNameservers } from '../../server/cluster/node/render.ts';
import { decideRealNode, REAL_NODE_NEEDS_ROOT } from '../../server/cluster/node/support.ts';
import { nodeDirs } from '../../server/cluster/paths.ts';

/** The real node's layout, configuration files and the decision to have one: pure logic. */

const dirs = nodeDirs('/data');
const layout = layoutFor(3);

describe('layout', () => {
  it('gives each slot its own addresses, names, Pod network and cgroup', () => {
    expect(layout).toMatchObject({
      netns: 'kubedojo-3',
      hostVeth: 'kdh3',
      hostIp: '10.249.3.1',
      nodeIp: '10.249.3.2',
      podCidr: '10.250.3.0/24',
      podGateway: '10.250.3.1',
      cgroupRoot: '/kubedojo-3',
      hostChain: 'KUBEDOJO-3',
    });
    const other = layoutFor(4);
    expect(other.podCidr).not.toBe(layout.podCidr);
    expect(other.nodeIp).not.toBe(layout.nodeIp);
    // The node's address is never loopback: the kubelet refuses one.
    expect(layout.nodeIp.startsWith('127.')).toBe(false);
  });

  it('refuses slots it cannot address', () => {
    for (const bad of [-1, MAX_SLOTS, 1.5, Number.NaN]) expect(() => layoutFor(bad)).toThrow(RangeError);
  });

  it("keeps a cluster's slot while it is free, else takes the highest free one, and says when none is", () => {
    expect(pickSlot(new Set([0, 1]), 5)).toBe(5);
    expect(pickSlot(new Set([0, 1, 5, MAX_SLOTS - 1]), 5)).toBe(MAX_SLOTS - 2);
    expect(pickSlot(new Set(), undefined)).toBe(MAX_SLOTS - 1);
    expect(pickSlot(new Set(Array.from({ length: MAX_SLOTS }, (_, i) => i)), undefined)).toBeUndefined();
  });
});

describe('configuration files', () => {
  it('containerd: its own socket and directories, cgroupfs, the platform’s pause image, no negative oom_score_adj', () => {
    const toml = containerdConfig(dirs, { pauseImage: 'kubedojo.dev/pause:3.10.2', runc: '/usr/sbin/runc', cniBinDir: '/usr/lib/cni' });
    expect(toml).toContain('address = "/data/cluster/node/containerd.sock"');
    expect(toml).toContain('sandbox_image = "kubedojo.dev/pause:3.10.2"');
    expect(toml).toContain('restrict_oom_score_adj = true');
    expect(toml).toContain('SystemdCgroup = false');
    expect(toml).toContain('stream_server_address = "127.0.0.1"');
    expect(toml).toContain('conf_dir = "/data/cluster/node/cni/net.d"');
  });

  it('kubelet: cgroup v1 allowed, no anonymous or read-only port, bounded Pods, never collects offline images', () => {
    const config = JSON.parse(kubeletConfig(layout, dirs, { kubeconfig: 'k', clientCa: 'ca', servingCert: 'c', servingKey: 'k', resolvConf: 'r' })) as Record<string, unknown>;
    expect(config).toMatchObject({ failCgroupV1: false, cgroupDriver: 'cgroupfs', cgroupRoot: '/kubedojo-3', readOnlyPort: 0, address: '10.249.3.2', clusterDNS: ['10.96.0.10'] });
    expect(config.authentication).toMatchObject({ anonymous: { enabled: false }, webhook: { enabled: true } });
    expect(config.authorization).toMatchObject({ mode: 'Webhook' });
    expect(config.podPidsLimit).toBe(1024);
    expect(config.imageGCHighThresholdPercent).toBe(100);
    expect(config.containerLogMaxSize).toBe('10Mi');
  });

  it('kube-proxy: the node’s Pod network, no localhost NodePorts, leaves the host’s conntrack size alone', () => {
    const config = JSON.parse(kubeProxyConfig(layout, 'kp.kubeconfig')) as Record<string, unknown>;
    expect(config).toMatchObject({ mode: 'iptables', clusterCIDR: '10.250.3.0/24', hostnameOverride: 'real-node', iptables: { localhostNodePorts: false }, conntrack: { maxPerCore: 0 } });
  });

  it('CNI: a bridge on the node’s own Pod network; the host, not the node, masquerades', () => {
    const config = JSON.parse(cniConfig(layout, dirs)) as { plugins: { type: string; ipMasq?: boolean; ipam?: { ranges: { subnet: string }[][]; dataDir: string } }[] };
    const bridge = config.plugins.find((p) => p.type === 'bridge');
    expect(bridge?.ipMasq).toBe(false);
    expect(bridge?.ipam?.ranges[0]?.[0]?.subnet).toBe('10.250.3.0/24');
    expect(bridge?.ipam?.dataDir).toBe('/data/cluster/node/cni/ipam');
    expect(config.plugins.map((p) => p.type)).toContain('portmap');
  });

  it('CoreDNS: cluster.local always; other names forwarded only when the node is online', () => {
    const offline = corefile(layout, { kubeconfig: 'c.kubeconfig', upstreams: [] });
    expect(offline).toContain('kubernetes cluster.local in-addr.arpa ip6.arpa');
    expect(offline).toContain('bind 10.249.3.2');
    expect(offline).not.toContain('forward');
    expect(corefile(layout, { kubeconfig: 'c', upstreams: ['10.0.0.2', '10.0.0.3'] })).toContain('forward . 10.0.0.2 10.0.0.3');
  });

  it("takes only the host's resolvers a Pod can reach (not loopback, not IPv6, not comments)", () => {
    expect(usableNameservers('# nameserver 9.9.9.9\nnameserver 127.0.0.53\nnameserver 10.255.255.53\nnameserver ::1\n  nameserver 192.168.1.1  \noptions edns0')).toEqual(['10.255.255.53', '192.168.1.1']);
  });
});

describe('the decision to have a real node', () => {
  it('as root with everything there: yes', () => {
    expect(decideRealNode('auto', true, [])).toEqual({ wanted: true });
    expect(decideRealNode('on', true, [])).toEqual({ wanted: true });
  });

  it('not as root: simulated nodes with one plain sentence, or an error when insisted on', () => {
    expect(decideRealNode('auto', false, [])).toEqual({ wanted: false, note: REAL_NODE_NEEDS_ROOT });
    expect(REAL_NODE_NEEDS_ROOT).toMatch(/needs root.*sudo npm start/);
    expect(decideRealNode('on', false, [])).toMatchObject({ wanted: false, error: expect.stringContaining('--real-node on') as unknown });
  });

  it('names what the machine lacks, and how to install it', () => {
    const missing = ['/usr/bin/containerd', '/usr/lib/cni/bridge'];
    const auto = decideRealNode('auto', true, missing);
    expect(auto).toMatchObject({ wanted: false, note: expect.stringContaining('/usr/bin/containerd, /usr/lib/cni/bridge') as unknown });
    expect(auto).toMatchObject({ note: expect.stringContaining('apt-get install') as unknown });
    expect(decideRealNode('on', true, missing)).toMatchObject({ error: expect.stringContaining('containernetworking-plugins') as unknown });
  });

  it('off: never, and nothing to say', () => {
    expect(decideRealNode('off', true, [])).toEqual({ wanted: false, note: undefined });
  });
});
