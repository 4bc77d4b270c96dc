import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logger.ts';
import type { Progress } from '../progress.ts';
import type { ComponentDefinition, ComponentId } from './components.ts';
import { probe } from './health.ts';
import { isAlive, spawnDetached, tailFile, terminate, type ProcessRecord } from './process.ts';
import type { State, StateFile, StoredProcess } from './state.ts';

/**
 * Starts the cluster's processes and keeps them as `up` wants them: a process that runs with
 * the same binary, flags, certificates and config files is left alone; one whose inputs changed
 * is restarted; one that crashed is started again and reported as repaired.
 */

export class ClusterStartError extends Error {
  readonly component: ComponentId | 'node-pool' | 'real-node';
  readonly lastLines: string[];
  constructor(component: ComponentId | 'node-pool' | 'real-node', message: string, lastLines: string[] = []) {
    super(lastLines.length > 0 ? `${message}\nLast lines of its log:\n  ${lastLines.join('\n  ')}` : message);
    this.name = 'ClusterStartError';
    this.component = component;
    this.lastLines = lastLines;
  }
}

export type StopResult = 'stopped' | 'killed' | 'not-running';

export interface SupervisorOptions {
  state: State;
  store: StateFile;
  logsDir: string;
  cwd: string;
  env: Record<string, string>;
  /** Certificates' stamp: new ones restart every component that reads them. */
  pkiStamp: string;
  progress: Progress;
  logger: Logger;
}

export class Supervisor {
  readonly started: ComponentId[] = [];
  readonly repaired: ComponentId[] = [];
  readonly notes: string[] = [];
  private readonly options: SupervisorOptions;

  constructor(options: SupervisorOptions) {
    this.options = options;
  }

  logFile(id: ComponentId): string {
    return path.join(this.options.logsDir, `${id}.log`);
  }

  async ensure(def: ComponentDefinition): Promise<void> {
    const { state, store, progress } = this.options;
    const fingerprint = await fingerprintOf(def, this.options.pkiStamp);
    const record = state.processes[def.id];
    if (record && (await isAlive(record))) {
      if (record.fingerprint === fingerprint) {
        await this.waitHealthy(def, record);
        return;
      }
      this.options.logger.info({ id: def.id }, `restarting ${def.id}: its version or flags changed`);
      await terminate(record, def.stopGraceMs, def.group === true);
    } else if (record && state.desired === 'up') {
      this.repaired.push(def.id);
      this.notes.push(`${def.id} had stopped (pid ${record.pid}); started it again`);
    }
    const task = progress.begin(`starting ${def.id}`);
    try {
      const spawned = await spawnDetached({ binary: def.binary, args: def.args, logFile: this.logFile(def.id), env: def.env ?? this.options.env, cwd: this.options.cwd });
      const stored: StoredProcess = { ...spawned, fingerprint };
      state.processes[def.id] = stored;
      state.desired = 'up';
      await store.write(state);
      await this.waitHealthy(def, stored);
      this.started.push(def.id);
      task.done(`pid ${spawned.pid}, ${def.where ?? `127.0.0.1:${def.port}`}`);
    } catch (error) {
      task.fail(error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error));
      throw error;
    }
  }

  async waitHealthy(def: ComponentDefinition, record: ProcessRecord): Promise<void> {
    const deadline = Date.now() + def.startTimeoutMs;
    let last = '';
    let delay = 50;
    while (Date.now() < deadline) {
      if (!(await isAlive(record))) {
        // Give the log a moment to be flushed by the dying process.
        await sleep(100);
        const lines = await tailFile(this.logFile(def.id));
        const busy = lines.some((l) => /address already in use/i.test(l));
        throw new ClusterStartError(
          def.id,
          busy
            ? `${def.id} could not listen on ${def.where ?? `127.0.0.1:${def.port}`}: the port is in use by another program. Run "kubedojo cluster up" again to pick free ports.`
            : `${def.id} exited while starting (log: ${this.logFile(def.id)})`,
          lines,
        );
      }
      const result = await probe(def.health);
      if (result.healthy) return;
      last = result.reason;
      await sleep(delay);
      delay = Math.min(delay * 2, 400);
    }
    throw new ClusterStartError(def.id, `${def.id} did not become healthy within ${def.startTimeoutMs / 1000}s: ${last}`, await tailFile(this.logFile(def.id)));
  }

  /** Stops one component `up` started (and nothing else), forgetting it once it is gone. */
  async stop(def: Pick<ComponentDefinition, 'id'> & Partial<Pick<ComponentDefinition, 'stopGraceMs' | 'group'>>): Promise<StopResult> {
    const { state } = this.options;
    const record = state.processes[def.id];
    const result = record ? await terminate(record, def.stopGraceMs, def.group === true) : 'not-running';
    if (record) state.processes = Object.fromEntries(Object.entries(state.processes).filter(([key]) => key !== def.id));
    return result;
  }
}

async function contentStamp(files: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const file of files) hash.update(await fs.readFile(file));
  return hash.digest('hex').slice(0, 16);
}

async function fingerprintOf(def: ComponentDefinition, pkiStamp: string): Promise<string> {
  const config = await contentStamp(def.configFiles ?? []);
  return createHash('sha256')
    .update(JSON.stringify([def.binary, def.args, def.env ?? null, def.readsPki === false ? '' : pkiStamp, config]))
    .digest('hex')
    .slice(0, 16);
}

/** A stamp of the certificates in a directory (and the service-account key). */
export async function stampOf(dir: string, include: (name: string) => boolean = () => true): Promise<string> {
  const hash = createHash('sha256');
  for (const name of (await fs.readdir(dir)).filter((n) => (n.endsWith('.crt') || n === 'sa.pub') && include(n)).sort()) hash.update(await fs.readFile(path.join(dir, name)));
  return hash.digest('hex').slice(0, 16);
}

/** Components get a small, fixed environment: nothing of the caller's (no KUBECONFIG, no tokens). */
export function componentEnv(env: Readonly<Record<string, string>>, home: string): Record<string, string> {
  return { PATH: env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: home, TMPDIR: env.TMPDIR ?? '/tmp', LANG: 'C.UTF-8' };
}
