import fs from 'node:fs/promises';
import path from 'node:path';
import type { NodeDirs } from '../paths.ts';
import { exec } from './exec.ts';

/**
 * What `cluster down` removes after the node's processes stop, so nothing of the node outlives
 * it: its Pods (through the CRI, so CNI releases their addresses and namespaces), leftover
 * container processes, every mount under the node's directory, and its cgroups.
 */

/** Stops and removes every Pod sandbox through the CRI while the runtime still runs. */
export async function removeAllPods(crictl: string, socket: string): Promise<{ ok: boolean; detail: string }> {
  const endpoint = `unix://${socket}`;
  const base = ['--runtime-endpoint', endpoint, '--image-endpoint', endpoint, '--timeout', '20s'];
  const listed = await exec(crictl, [...base, 'pods', '-q'], { timeoutMs: 30_000 });
  if (listed.code !== 0) return { ok: false, detail: listed.stderr.trim() };
  const ids = listed.stdout.split('\n').filter((id) => id.trim() !== '');
  if (ids.length === 0) return { ok: true, detail: 'no pods' };
  const stopped = await exec(crictl, [...base, 'stopp', ...ids], { timeoutMs: 120_000 });
  const removed = await exec(crictl, [...base, 'rmp', '--force', ...ids], { timeoutMs: 120_000 });
  return { ok: stopped.code === 0 && removed.code === 0, detail: `${ids.length} pods; ${(stopped.stderr + removed.stderr).trim()}` };
}

/** Kills container shims (and so their containers) still tied to this node's runtime socket. */
export async function killShims(socket: string): Promise<number> {
  let killed = 0;
  for (const pid of await fs.readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    const argv = cmdline.split('\0');
    if (!argv[0]?.includes('containerd-shim')) continue;
    const address = argv[argv.indexOf('-address') + 1];
    if (address !== socket) continue;
    try {
      // The shim's group holds its container's processes too.
      process.kill(-Number(pid), 'SIGKILL');
    } catch {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    killed += 1;
  }
  return killed;
}

/** Mount points at or under `root` (from /proc/self/mountinfo), deepest first. */
export async function mountsUnder(root: string): Promise<string[]> {
  const info = await fs.readFile('/proc/self/mountinfo', 'utf8');
  const unescape = (p: string) => p.replace(/\\(\d{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
  const points = info
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map(unescape)
    .filter((p) => p === root || p.startsWith(`${root}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/** Unmounts everything under the node's directory (volumes, overlay roots, Pod netns files). */
export async function unmountAll(dirs: NodeDirs): Promise<string[]> {
  const left: string[] = [];
  for (let round = 0; round < 3; round += 1) {
    const points = await mountsUnder(dirs.root);
    if (points.length === 0) return [];
    for (const point of points) {
      // Lazy: a mount a dying process still holds goes as soon as it lets go.
      const result = await exec('umount', ['-l', point]);
      if (result.code !== 0 && round === 2) left.push(`${point}: ${result.stderr.trim()}`);
    }
  }
  return left;
}

/** Controllers mounted under /sys/fs/cgroup (cgroup v1: one directory each). */
async function hierarchies(): Promise<string[]> {
  const entries = await fs.readdir('/sys/fs/cgroup', { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const entry of entries) {
    const full = path.join('/sys/fs/cgroup', entry.name);
    // Combined controllers (cpu,cpuacct) appear as a directory and symlinks to it.
    if (entry.isDirectory()) out.push(full);
  }
  return out;
}

/** Creates the node's cgroup under every hierarchy (the kubelet insists its root exists). */
export async function ensureCgroupRoot(cgroupRoot: string): Promise<void> {
  for (const hierarchy of await hierarchies()) {
    const dir = path.join(hierarchy, cgroupRoot);
    await fs.mkdir(dir, { recursive: true }).catch(() => undefined);
    // A new cpuset cgroup is empty and takes no tasks until it has CPUs and memory nodes.
    for (const file of ['cpuset.cpus', 'cpuset.mems']) {
      const own = path.join(dir, file);
      const current = await fs.readFile(own, 'utf8').catch(() => undefined);
      if (current !== undefined && current.trim() === '') {
        const parent = await fs.readFile(path.join(hierarchy, file), 'utf8');
        await fs.writeFile(own, parent.trim());
      }
    }
  }
}

async function removeTree(dir: string): Promise<boolean> {
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch {
    return true;
  }
  let ok = true;
  for (const entry of entries) if (entry.isDirectory()) ok = (await removeTree(path.join(dir, entry.name))) && ok;
  try {
    await fs.rmdir(dir);
  } catch {
    return false;
  }
  return ok;
}

/** Removes the node's cgroups (empty once its processes are gone), deepest first. */
export async function removeCgroupRoot(cgroupRoot: string): Promise<string[]> {
  const left: string[] = [];
  for (const hierarchy of await hierarchies()) {
    const dir = path.join(hierarchy, cgroupRoot);
    if (!(await removeTree(dir))) left.push(dir);
  }
  return left;
}
