import fs from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import lockfile from 'proper-lockfile';
import { z } from 'zod';
import type { Logger } from '../logger.ts';
import type { Progress } from '../progress.ts';
import { componentIds, portNames } from './components.ts';
import type { ClusterDirs } from './paths.ts';

/**
 * What `up` leaves for `down` and `status`: pids (with start times), ports and flags'
 * fingerprints in <data-dir>/cluster/state.json, and the lock that lets one kubedojo at a time
 * change the cluster.
 */

const processSchema = z.object({
  pid: z.number().int(),
  startTime: z.number(),
  binary: z.string(),
  startedAt: z.string(),
  fingerprint: z.string(),
});
export type StoredProcess = z.infer<typeof processSchema>;

const nodeSchema = z.object({
  slot: z.number().int().nonnegative(),
  hostForwardingWas: z.string().optional(),
  serviceRoute: z.boolean().optional(),
  /** crictl, which `down` needs to remove the node's Pods through the runtime. */
  crictl: z.string().optional(),
});
export type StoredNode = z.infer<typeof nodeSchema>;

const stateSchema = z.object({
  version: z.literal(1),
  desired: z.enum(['up', 'down']),
  // Partial: a newer version may add ports (metrics-server did); missing ones are picked anew.
  ports: z.partialRecord(z.enum(portNames), z.number().int()).optional(),
  processes: z.partialRecord(z.enum(componentIds), processSchema).default({}),
  kubernetesVersion: z.string().optional(),
  /** The real node, while it exists (its network is up). */
  node: nodeSchema.optional(),
});
export type State = z.infer<typeof stateSchema>;

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export class StateFile {
  private readonly dirs: ClusterDirs;
  private readonly log: Logger;
  private writes: Promise<void> = Promise.resolve();

  constructor(dirs: ClusterDirs, log: Logger) {
    this.dirs = dirs;
    this.log = log;
  }

  async exists(): Promise<boolean> {
    return fs
      .access(this.dirs.state)
      .then(() => true)
      .catch(() => false);
  }

  async read(): Promise<State> {
    let raw: string;
    try {
      raw = await fs.readFile(this.dirs.state, 'utf8');
    } catch {
      return { version: 1, desired: 'down', processes: {} };
    }
    const parsed = stateSchema.safeParse(safeJson(raw));
    if (!parsed.success) {
      // A damaged state file loses only pids and ports; etcd's data is elsewhere and kept.
      this.log.warn({ file: this.dirs.state }, 'cluster state file is damaged; starting from a clean state');
      return { version: 1, desired: 'down', processes: {} };
    }
    return parsed.data;
  }

  /** Writes are chained: components start in parallel and each records itself. */
  write(state: State): Promise<void> {
    const text = `${JSON.stringify(state, null, 2)}\n`;
    const write = async () => {
      const tmp = `${this.dirs.state}.tmp-${process.pid}`;
      await fs.writeFile(tmp, text, { mode: 0o600 });
      await fs.rename(tmp, this.dirs.state);
    };
    this.writes = this.writes.then(write, write);
    return this.writes;
  }

  /** One kubedojo at a time changes the cluster; a second one waits and says so. */
  async lock(progress: Progress): Promise<() => Promise<void>> {
    const options = { lockfilePath: this.dirs.lock, stale: 15_000, update: 5_000, realpath: false };
    let waiting: ReturnType<Progress['begin']> | undefined;
    const deadline = Date.now() + 20 * 60_000;
    for (;;) {
      try {
        const release = await lockfile.lock(this.dirs.root, options);
        waiting?.done();
        return release;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ELOCKED' || Date.now() > deadline) throw error;
        waiting ??= progress.begin('waiting for another kubedojo command that is changing the cluster');
        await sleep(500);
      }
    }
  }
}
