import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Resource limits for one jailed shell: processes (a fork bomb stops at the limit), memory and
 * CPU, with cgroups v2 where the machine has them and the v1 controllers otherwise. The whole
 * group is killed when the terminal closes, so nothing a learner started outlives it.
 */

export interface Limits {
  pids: number;
  memoryBytes: number;
  /** CPU share in cores (0.5 = half a core). */
  cpus: number;
}

export interface Cgroup {
  /** Files to write the shell's pid into before it execs the jail. */
  procsFiles: string[];
  kill(): Promise<void>;
  remove(): Promise<void>;
}

const ROOT = '/sys/fs/cgroup';
const GROUP = 'kubedojo';

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

async function write(file: string, value: string): Promise<void> {
  await fs.writeFile(file, value);
}

async function readPids(files: string[]): Promise<number[]> {
  const pids = new Set<number>();
  for (const file of files) {
    const text = await fs.readFile(file, 'utf8').catch(() => '');
    for (const line of text.split('\n')) if (line.trim()) pids.add(Number(line));
  }
  return [...pids];
}

async function killAll(files: string[]): Promise<void> {
  // Repeat: a fork bomb may add processes while we kill.
  for (let round = 0; round < 50; round += 1) {
    const pids = await readPids(files);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Creates a cgroup for a session, or returns undefined where cgroups cannot be written. */
export async function createCgroup(name: string, limits: Limits): Promise<Cgroup | undefined> {
  if (await exists(path.join(ROOT, 'cgroup.controllers'))) {
    // cgroups v2: one tree; enable the controllers for our subtree.
    const parent = path.join(ROOT, GROUP);
    const dir = path.join(parent, name);
    try {
      await fs.mkdir(parent, { recursive: true });
      await write(path.join(ROOT, 'cgroup.subtree_control'), '+pids +memory +cpu').catch(() => undefined);
      await write(path.join(parent, 'cgroup.subtree_control'), '+pids +memory +cpu');
      await fs.mkdir(dir, { recursive: true });
      await write(path.join(dir, 'pids.max'), String(limits.pids));
      await write(path.join(dir, 'memory.max'), String(limits.memoryBytes));
      await write(path.join(dir, 'memory.swap.max'), '0').catch(() => undefined);
      await write(path.join(dir, 'cpu.max'), `${Math.round(limits.cpus * 100_000)} 100000`);
    } catch {
      return undefined;
    }
    const procs = path.join(dir, 'cgroup.procs');
    return {
      procsFiles: [procs],
      kill: async () => {
        await write(path.join(dir, 'cgroup.kill'), '1').catch(() => undefined);
        await killAll([procs]);
      },
      remove: async () => {
        await fs.rmdir(dir).catch(() => undefined);
      },
    };
  }
  // cgroups v1: one hierarchy per controller.
  const controllers = { pids: path.join(ROOT, 'pids', GROUP, name), memory: path.join(ROOT, 'memory', GROUP, name), cpu: path.join(ROOT, 'cpu', GROUP, name) };
  try {
    for (const dir of Object.values(controllers)) await fs.mkdir(dir, { recursive: true });
    await write(path.join(controllers.pids, 'pids.max'), String(limits.pids));
    await write(path.join(controllers.memory, 'memory.limit_in_bytes'), String(limits.memoryBytes));
    await write(path.join(controllers.cpu, 'cpu.cfs_period_us'), '100000');
    await write(path.join(controllers.cpu, 'cpu.cfs_quota_us'), String(Math.round(limits.cpus * 100_000)));
  } catch {
    return undefined;
  }
  const procsFiles = Object.values(controllers).map((dir) => path.join(dir, 'cgroup.procs'));
  return {
    procsFiles,
    kill: () => killAll(procsFiles),
    remove: async () => {
      for (const dir of Object.values(controllers)) await fs.rmdir(dir).catch(() => undefined);
    },
  };
}

/** Whether this process can make jail cgroups here: tries one and removes it. */
export async function cgroupsWritable(): Promise<{ ok: true } | { ok: false; reason: string }> {
  const probe = await createCgroup(`probe-${process.pid}`, { pids: 16, memoryBytes: 64 * 1024 * 1024, cpus: 1 }).catch(() => undefined);
  if (!probe) return { ok: false, reason: process.getuid?.() === 0 ? `${ROOT} cannot be written here` : `not running as root, so ${ROOT} cannot be written` };
  await probe.remove();
  return { ok: true };
}
