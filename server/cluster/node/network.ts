import fs from 'node:fs/promises';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { exec, must } from './exec.ts';
import { layoutFor, MAX_SLOTS, pickSlot, type NodeLayout } from './layout.ts';

/**
 * The real node's network: its namespace, the veth pair to the host, routes, sysctls and the
 * firewall rules that fence it. Everything is idempotent (`up` after a crash repairs it) and
 * `removeNodeNetwork` takes away exactly what `ensureNodeNetwork` made.
 *
 * The walls, in iptables terms:
 *   host   INPUT   from kdh<slot>: only replies (ESTABLISHED,RELATED); nothing in the node may
 *                  open a connection to the host (its loopback services are out of reach anyway:
 *                  the node is another network namespace).
 *   host   FORWARD from kdh<slot>: never to another node's addresses, link-local (cloud metadata)
 *                  or loopback; otherwise out (image pulls when online), masqueraded.
 *   node   INPUT   from the Pod network to the node's own addresses: DNS and the API bridge
 *                  only, so Pods never reach the kubelet, kube-proxy or the runtime.
 */

const ipt = '/usr/sbin/iptables';

async function linkExists(name: string, netns?: string): Promise<boolean> {
  const args = netns ? ['-n', netns, 'link', 'show', name] : ['link', 'show', name];
  return (await exec('ip', args)).code === 0;
}

async function netnsExists(layout: NodeLayout): Promise<boolean> {
  return fs
    .access(layout.netnsPath)
    .then(() => true)
    .catch(() => false);
}

/** Slots held by real nodes on this machine (any kubedojo's), seen from their host links and netns files. */
export async function usedSlots(): Promise<Set<number>> {
  const used = new Set<number>();
  const links = await exec('ip', ['-o', 'link', 'show']);
  for (const match of links.stdout.matchAll(/^\d+: kdh(\d+)[@:]/gm)) used.add(Number(match[1]));
  const files = await fs.readdir('/run/netns').catch(() => [] as string[]);
  for (const name of files) {
    const match = /^kubedojo-(\d+)$/.exec(name);
    if (match) used.add(Number(match[1]));
  }
  return new Set([...used].filter((s) => s < MAX_SLOTS));
}

/** Which cluster holds which slot: one file per slot naming its data dir (tmpfs, gone at reboot like the netns). */
const SLOTS_DIR = '/run/kubedojo/slots';

async function owners(): Promise<Map<number, string>> {
  const found = new Map<number, string>();
  for (const name of await fs.readdir(SLOTS_DIR).catch(() => [] as string[])) {
    if (!/^\d+$/.test(name)) continue;
    found.set(Number(name), (await fs.readFile(path.join(SLOTS_DIR, name), 'utf8').catch(() => '')).trim());
  }
  return found;
}

/**
 * Takes this cluster's slot, under a machine-wide lock: two clusters starting at once must never
 * pick the same one. It keeps its previous slot while that is still its own (or free), else the
 * lowest slot no cluster holds. A slot whose cluster's data dir is gone, and whose network is
 * gone too, is free again.
 */
export async function claimSlot(previous: number | undefined, owner: string): Promise<number | undefined> {
  await fs.mkdir(SLOTS_DIR, { recursive: true, mode: 0o700 });
  const release = await lockfile.lock(SLOTS_DIR, { realpath: false, stale: 30_000, retries: { retries: 100, minTimeout: 100, maxTimeout: 500 } });
  try {
    const inUse = await usedSlots();
    const held = new Set<number>();
    for (const [slot, dataDir] of await owners()) {
      if (dataDir === owner) continue;
      const alive = await fs.access(dataDir).then(() => true, () => false);
      if (alive || inUse.has(slot)) held.add(slot);
      else await fs.rm(path.join(SLOTS_DIR, String(slot)), { force: true });
    }
    const used = new Set([...inUse, ...held]);
    // Our own leftovers (a crash without `down`) are reused, not avoided.
    if (previous !== undefined && !held.has(previous)) used.delete(previous);
    const slot = pickSlot(used, previous);
    if (slot !== undefined) await fs.writeFile(path.join(SLOTS_DIR, String(slot)), `${owner}\n`, { mode: 0o600 });
    return slot;
  } finally {
    await release();
  }
}

/** Gives the slot back (after its network is gone). */
export async function releaseSlot(slot: number, owner: string): Promise<void> {
  const file = path.join(SLOTS_DIR, String(slot));
  if ((await fs.readFile(file, 'utf8').catch(() => '')).trim() === owner) await fs.rm(file, { force: true });
}

/** `nsenter` into the node's network namespace, keeping the host's mounts (the kubelet's
 * volume mounts must be seen by the runtime), for the commands and components of the node. */
export function inNode(layout: NodeLayout, command: string, args: readonly string[]): [string, string[]] {
  return ['nsenter', [`--net=${layout.netnsPath}`, '--', command, ...args]];
}

async function nodeMust(layout: NodeLayout, command: string, args: readonly string[], what: string): Promise<string> {
  const [cmd, argv] = inNode(layout, command, args);
  return must(cmd, argv, what);
}

async function ensureRule(table: string, chain: string, rule: string[], netnsLayout?: NodeLayout): Promise<void> {
  const run = (args: string[]) => (netnsLayout ? exec(...inNode(netnsLayout, ipt, args)) : exec(ipt, args));
  if ((await run(['-w', '-t', table, '-C', chain, ...rule])).code === 0) return;
  const inserted = await run(['-w', '-t', table, '-I', chain, '1', ...rule]);
  if (inserted.code !== 0) throw new Error(`could not add an iptables rule to ${table}/${chain}: ${inserted.stderr.trim()}`);
}

/** Creates (or empties) a chain and fills it with `rules`, in order. */
async function fillChain(table: string, chain: string, rules: string[][], netnsLayout?: NodeLayout): Promise<void> {
  const run = (args: string[]) => (netnsLayout ? exec(...inNode(netnsLayout, ipt, args)) : exec(ipt, args));
  if ((await run(['-w', '-t', table, '-N', chain])).code !== 0) await run(['-w', '-t', table, '-F', chain]);
  for (const rule of rules) {
    const added = await run(['-w', '-t', table, '-A', chain, ...rule]);
    if (added.code !== 0) throw new Error(`could not fill iptables chain ${table}/${chain}: ${added.stderr.trim()}`);
  }
}

function hostRules(l: NodeLayout): { input: string[][]; forward: string[][]; nat: string[][] } {
  const comment = ['-m', 'comment', '--comment', `kubedojo real node ${l.slot}`];
  return {
    input: [
      ['-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', ...comment, '-j', 'RETURN'],
      [...comment, '-j', 'DROP'],
    ],
    forward: [
      ['-o', l.hostVeth, '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', ...comment, '-j', 'ACCEPT'],
      ['-o', l.hostVeth, ...comment, '-j', 'DROP'],
      ...['10.249.0.0/16', '10.250.0.0/16', '169.254.0.0/16', '127.0.0.0/8'].map((d) => ['-i', l.hostVeth, '-d', d, ...comment, '-j', 'DROP']),
      ['-i', l.hostVeth, ...comment, '-j', 'ACCEPT'],
    ],
    nat: [
      ['-s', l.podCidr, '!', '-o', l.hostVeth, ...comment, '-j', 'MASQUERADE'],
      ['-s', l.linkCidr, '!', '-o', l.hostVeth, ...comment, '-j', 'MASQUERADE'],
    ],
  };
}

export interface NodeNetworkOptions {
  /** The API server's port: the node's side of the API bridge listens on it. */
  apiPort: number;
  /** Let the node reach the network (image pulls): turns on the host's IP forwarding. */
  egress: boolean;
}

export interface NetworkReport {
  /** The host's net.ipv4.ip_forward before this node turned it on ("0"), to put it back. */
  hostForwardingWas: string | undefined;
  /** The route to the Service network is this node's (only one node on a machine can have it). */
  serviceRoute: boolean;
}

export async function ensureNodeNetwork(layout: NodeLayout, options: NodeNetworkOptions): Promise<NetworkReport> {
  const l = layout;
  if (!(await netnsExists(l))) await must('ip', ['netns', 'add', l.netns], 'creating the node network namespace');
  if (!(await linkExists(l.hostVeth))) {
    await must('ip', ['link', 'add', l.hostVeth, 'type', 'veth', 'peer', 'name', l.nodeVeth, 'netns', l.netns], 'linking the node to the host');
  }
  await must('ip', ['addr', 'replace', `${l.hostIp}/30`, 'dev', l.hostVeth], 'addressing the host side');
  await must('ip', ['link', 'set', l.hostVeth, 'up'], 'bringing the host side up');
  await must('ip', ['-n', l.netns, 'addr', 'replace', `${l.nodeIp}/30`, 'dev', l.nodeVeth], "addressing the node's side");
  await must('ip', ['-n', l.netns, 'link', 'set', l.nodeVeth, 'up'], "bringing the node's side up");
  await must('ip', ['-n', l.netns, 'link', 'set', 'lo', 'up'], "bringing the node's loopback up");
  await must('ip', ['-n', l.netns, 'route', 'replace', 'default', 'via', l.hostIp], "routing the node's traffic");
  await must('ip', ['route', 'replace', l.podCidr, 'via', l.nodeIp, 'dev', l.hostVeth], 'routing the Pod network');
  // The API server calls webhooks and aggregated APIs at Service IPs: route them into the node,
  // unless another kubedojo's node on this machine already has that route.
  const existing = (await exec('ip', ['route', 'show', l.serviceCidr])).stdout.trim();
  let serviceRoute = existing.includes(`dev ${l.hostVeth}`);
  if (existing === '') {
    serviceRoute = (await exec('ip', ['route', 'add', l.serviceCidr, 'via', l.nodeIp, 'dev', l.hostVeth])).code === 0;
  }
  await nodeMust(l, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1', 'net.bridge.bridge-nf-call-iptables=1', 'net.ipv4.conf.all.route_localnet=0'], 'setting the node network sysctls');

  const rules = hostRules(l);
  await fillChain('filter', `${l.hostChain}-IN`, rules.input);
  await fillChain('filter', `${l.hostChain}-FWD`, rules.forward);
  await fillChain('nat', `${l.hostChain}-NAT`, rules.nat);
  await ensureRule('filter', 'INPUT', ['-i', l.hostVeth, '-j', `${l.hostChain}-IN`]);
  await ensureRule('filter', 'FORWARD', ['-i', l.hostVeth, '-j', `${l.hostChain}-FWD`]);
  await ensureRule('filter', 'FORWARD', ['-o', l.hostVeth, '-j', `${l.hostChain}-FWD`]);
  await ensureRule('nat', 'POSTROUTING', ['-j', `${l.hostChain}-NAT`]);

  // Inside the node: Pods may reach the node's own addresses for DNS and the API only.
  await fillChain(
    'filter',
    'KUBEDOJO-NODE-FENCE',
    [
      ['-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'RETURN'],
      ['-p', 'udp', '--dport', '53', '-j', 'RETURN'],
      ['-p', 'tcp', '--dport', '53', '-j', 'RETURN'],
      ['-p', 'tcp', '--dport', String(options.apiPort), '-j', 'RETURN'],
      ['-j', 'DROP'],
    ],
    l,
  );
  await ensureRule('filter', 'INPUT', ['-s', l.podCidr, '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'KUBEDOJO-NODE-FENCE'], l);

  // A new Service's first packet can beat kube-proxy's rules for it (by about a second here).
  // Not DNATed, it would leave the node and die, and its conntrack entry, confirmed without DNAT,
  // would hold every retry of that connection off the Service for two minutes. Dropped here it is
  // never confirmed, so TCP's retry a second later finds the rules, as on any cluster.
  await fillChain('filter', 'KUBEDOJO-NODE-SERVICES', [['-d', l.serviceCidr, '-m', 'conntrack', '!', '--ctstate', 'DNAT', '-j', 'DROP']], l);
  await ensureRule('filter', 'FORWARD', ['-j', 'KUBEDOJO-NODE-SERVICES'], l);

  let hostForwardingWas: string | undefined;
  if (options.egress) {
    const now = (await fs.readFile('/proc/sys/net/ipv4/ip_forward', 'utf8')).trim();
    if (now !== '1') {
      await fs.writeFile('/proc/sys/net/ipv4/ip_forward', '1');
      hostForwardingWas = now;
    }
  }
  return { hostForwardingWas, serviceRoute };
}

async function deleteRule(table: string, chain: string, rule: string[]): Promise<void> {
  // -D removes one copy; loop in case a crash left several.
  for (let i = 0; i < 10 && (await exec(ipt, ['-w', '-t', table, '-D', chain, ...rule])).code === 0; i += 1);
}

async function deleteChain(table: string, chain: string): Promise<void> {
  await exec(ipt, ['-w', '-t', table, '-F', chain]);
  await exec(ipt, ['-w', '-t', table, '-X', chain]);
}

/** Removes the namespace (with the veth pair and everything inside it), routes and host rules. */
export async function removeNodeNetwork(layout: NodeLayout, report: Partial<NetworkReport> = {}): Promise<void> {
  const l = layout;
  await deleteRule('filter', 'INPUT', ['-i', l.hostVeth, '-j', `${l.hostChain}-IN`]);
  await deleteRule('filter', 'FORWARD', ['-i', l.hostVeth, '-j', `${l.hostChain}-FWD`]);
  await deleteRule('filter', 'FORWARD', ['-o', l.hostVeth, '-j', `${l.hostChain}-FWD`]);
  await deleteRule('nat', 'POSTROUTING', ['-j', `${l.hostChain}-NAT`]);
  await deleteChain('filter', `${l.hostChain}-IN`);
  await deleteChain('filter', `${l.hostChain}-FWD`);
  await deleteChain('nat', `${l.hostChain}-NAT`);
  // Routes through the veth go with it; the netns takes its own rules, bridge and links along.
  if (await linkExists(l.hostVeth)) await exec('ip', ['link', 'delete', l.hostVeth]);
  if (await netnsExists(l)) await must('ip', ['netns', 'delete', l.netns], 'removing the node network namespace');
  if (report.hostForwardingWas !== undefined) await fs.writeFile('/proc/sys/net/ipv4/ip_forward', report.hostForwardingWas).catch(() => undefined);
}

export { layoutFor };
