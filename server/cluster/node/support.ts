import fs from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../config.ts';
import { TOOLS } from './components.ts';

/** Whether the real node is wanted: "on", or "auto" as root (a kubelet and containerd need root). */
export function wantsRealNode(config: Config): boolean {
  return config.cluster.realNode === 'on' || (config.cluster.realNode === 'auto' && config.cluster.root);
}

/** The one sentence a user who is not root reads, once, at `up`. */
export const REAL_NODE_NEEDS_ROOT =
  'the cluster has simulated nodes only, so Pods do not run (kubectl logs/exec say so): a real node needs root. ' +
  'Run kubedojo as root (sudo npm start) for real workloads, or set --real-node off to silence this.';

const DEBIAN_PACKAGES = 'containerd runc containernetworking-plugins iptables conntrack socat util-linux iproute2';

/** What the machine lacks for a real node (tools from Debian's packages, cgroups), each named. */
export async function missingForRealNode(): Promise<string[]> {
  const missing: string[] = [];
  const need = [TOOLS.nsenter, TOOLS.socat, TOOLS.containerd, TOOLS.ctr, TOOLS.runc, TOOLS.iptables, TOOLS.conntrack, TOOLS.ip, '/usr/bin/containerd-shim-runc-v2'];
  need.push(...['bridge', 'host-local', 'portmap', 'loopback'].map((p) => path.join(TOOLS.cniBinDir, p)));
  for (const file of need) {
    try {
      await fs.access(file, fs.constants.X_OK);
    } catch {
      missing.push(file);
    }
  }
  try {
    await fs.access('/sys/fs/cgroup/memory');
  } catch {
    missing.push('/sys/fs/cgroup/memory (cgroups)');
  }
  return missing;
}

export function missingMessage(missing: readonly string[]): string {
  return `a real node needs ${missing.join(', ')}; install them with: apt-get install -y ${DEBIAN_PACKAGES}`;
}

export type RealNodeDecision = { wanted: true } | { wanted: false; note: string | undefined } | { wanted: false; error: string };

/**
 * Whether this `up` brings a real node: "off" never; "auto" when root and the machine has what it
 * needs, else one plain sentence why not; "on" insists, and what is missing is an error.
 */
export function decideRealNode(setting: 'auto' | 'on' | 'off', root: boolean, missing: readonly string[]): RealNodeDecision {
  if (setting === 'off') return { wanted: false, note: undefined };
  if (!root) return setting === 'on' ? { wanted: false, error: `--real-node on: ${REAL_NODE_NEEDS_ROOT}` } : { wanted: false, note: REAL_NODE_NEEDS_ROOT };
  if (missing.length === 0) return { wanted: true };
  if (setting === 'on') return { wanted: false, error: missingMessage(missing) };
  return { wanted: false, note: `the cluster has simulated nodes only: ${missingMessage(missing)}` };
}
