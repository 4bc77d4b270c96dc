import { createHook } from 'node:async_hooks';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../server/config.ts';
import { CheckRepository } from '../../server/db/checks.ts';
import { openDatabase } from '../../server/db/database.ts';
import { LearnerRepository } from '../../server/db/learners.ts';
import { createLogger } from '../../server/logger.ts';
import { buildPlatform } from '../../server/platform.ts';
import { deadKubeconfig } from '../helpers/app.ts';
import { fixtureLibrary } from './lessons/temp-library.ts';

/**
 * The composition root (server/platform.ts) as serve and the tests use it: building does no
 * I/O of the parts' own, and close removes every timer, listener and server that start began,
 * including the retries of work that cannot reach the cluster (here a dead API server on
 * loopback: the sandbox watch, the object-limit webhook and the leader election keep trying).
 */

/**
 * Handles that close (their async_hooks destroy comes with the close; a TLS wrap's only comes
 * with garbage collection, so sockets are left to getActiveResourcesInfo), and timers made by
 * kubedojo's own code. undici's one shared clock, an unref'd timer per process, is not ours.
 */
const HANDLES = new Set(['TCPSERVERWRAP', 'TCPWRAP', 'PIPESERVERWRAP', 'PIPEWRAP', 'PROCESSWRAP', 'FSEVENTWRAP', 'STATWATCHER', 'WORKER']);

function trackResources() {
  const live = new Map<number, string>();
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 100;
  const hook = createHook({
    init(id, type) {
      const where = new Error().stack ?? '';
      const ours = type === 'Timeout' && where.includes('/server/') && !where.includes('/node_modules/undici/');
      if (HANDLES.has(type) || ours) live.set(id, `${type}\n${where}`);
    },
    destroy(id) {
      live.delete(id);
    },
  });
  hook.enable();
  return {
    /** What was made since tracking began and is still open. */
    left: () => [...live.values()],
    stop: () => {
      hook.disable();
      Error.stackTraceLimit = limit;
    },
  };
}

/** The entries of `after` beyond those of `before`, counted per kind. */
function more(after: string[], before: string[]): string[] {
  const left = [...before];
  return after.filter((kind) => {
    const at = left.indexOf(kind);
    if (at < 0) return true;
    left.splice(at, 1);
    return false;
  });
}

let dir: string;
let config: Config;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-platform-'));
  const { file } = await deadKubeconfig(dir);
  const result = loadConfig({ dataDir: dir, port: 0, kubeconfig: file, lessonsDir: fixtureLibrary }, { HOME: os.homedir(), PATH: process.env.PATH ?? '' });
  if (!result.ok) throw new Error(result.problems.join('\n'));
  config = result.config;
});

afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('the platform', () => {
  it('writes nothing while it is built; start marks interrupted checks and makes the instance and replica rows', async () => {
    const before = await openDatabase(config.database);
    const { learner } = await new LearnerRepository(before).createGuest();
    await new CheckRepository(before).start({ id: 'run-1', learnerId: learner.id, canonicalId: 'pods', lesson: 'pods', exercise: null, namespace: 'kd-x', startedAt: new Date().toISOString(), replicaId: null });
    await before.destroy();

    const platform = await buildPlatform(config);
    const db = await openDatabase(config.database);
    try {
      const status = async () => (await db.selectFrom('check_runs').select('status').where('id', '=', 'run-1').executeTakeFirst())?.status;
      const instances = async () => (await db.selectFrom('instance').select('id').execute()).length;
      expect(await status()).toBe('running');
      expect(await instances()).toBe(0);
      await platform.start();
      expect(await status()).toBe('error');
      expect(await instances()).toBe(1);
      // This replica beats in the database while it runs and leaves when it closes.
      const replicas = async () => (await db.selectFrom('replicas').select('id').execute()).map((r) => r.id);
      expect(await replicas()).toEqual([platform.replica.id]);
      await platform.close();
      expect(await replicas()).toEqual([]);
    } finally {
      await platform.close();
      await db.destroy();
    }
  });

  it('leaves no timer, server, socket or listener behind once closed', async () => {
    const handlesBefore = process.getActiveResourcesInfo();
    const tracked = trackResources();
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const platform = await buildPlatform(config, { logger: createLogger({ level: 'warn', format: 'json', destination }) });
    const url = await platform.start();
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    // The housekeeping and the webhook fail against the dead cluster and schedule their retries.
    const retrying = (what: string) => lines.some((l) => l.includes(what) && l.includes('retrying in 30 s'));
    while (!retrying('could not start watching sandboxes') || !retrying('could not start counting learner CRDs') || !lines.some((l) => l.includes('could not acquire the leader lease'))) await sleep(50);
    const listeners = {
      sandboxes: platform.sandboxes.listenerCount('event'),
      grading: platform.services.grading.listenerCount('event'),
      lessons: platform.services.lessons.listenerCount('answered'),
      workshops: platform.services.workshops.listenerCount('row'),
    };
    expect(Object.values(listeners).every((n) => n > 0)).toBe(true);
    await platform.close();
    await platform.close();
    // A closed handle's destroy hook comes a turn of the event loop later, which a loaded machine
    // delays; a leak stays for good, so wait (up to 5 s) for what closes to be gone.
    for (let waited = 0; waited < 5000 && tracked.left().length > 0; waited += 50) await sleep(50);
    tracked.stop();
    expect(tracked.left()).toEqual([]);
    // Nothing that keeps the process alive is left that was not there before.
    expect(more(process.getActiveResourcesInfo(), handlesBefore)).toEqual([]);
    expect(platform.sandboxes.listenerCount('event')).toBe(0);
    expect(platform.services.grading.listenerCount('event')).toBe(0);
    expect(platform.services.lessons.listenerCount('answered')).toBe(0);
    expect(platform.services.workshops.listenerCount('row')).toBe(0);
  }, 30_000);
});
