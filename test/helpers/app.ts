import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { renderKubeconfig } from '../../server/cluster/kubeconfig.ts';
import { freePort } from '../../server/cluster/ports.ts';
import type { App } from '../../server/app.ts';
import { loadConfig, type FlagValues } from '../../server/config.ts';
import type { Services } from '../../server/services.ts';
import type { Clock } from '../../server/lti/clock.ts';
import { silentLogger, type Logger } from '../../server/logger.ts';
import { buildPlatform, type Platform, type PlatformOptions } from '../../server/platform.ts';
import type { SandboxService } from '../../server/sandboxes/service.ts';
import type { ShellBackend } from '../../server/terminal/backends.ts';
import type { RecordingStore } from '../../server/terminal/recorder.ts';

export interface TestServer {
  url: string;
  dataDir: string;
  app: App;
  services: Services;
  /** The parts behind the app, for tests that wire one more (a terminal manager with other settings). */
  parts: { sandboxes: SandboxService; backend: ShellBackend; recordings: RecordingStore };
  /** The platform itself (its leader duties, its terminals). */
  platform: Platform;
  close(): Promise<void>;
}

/**
 * The platform as `kubedojo serve` builds and starts it (server/platform.ts), with a real SQLite
 * file in a temp data dir (or the PostgreSQL of a `databaseUrl` flag), on a free loopback port. It never starts an embedded cluster (the
 * integration suite shares one) nor the cluster-wide object-limit webhook (walls.test.ts does).
 * Each server leads a Lease of its own, so servers of one suite do not take turns at the
 * once-per-cluster work; servers given the same `lease` share one, as replicas do. A `dataDir`
 * given in the flags is the caller's and stays (replicas sharing one database file). It logs no
 * first-admin setup link unless asked (`setupLink`): tests make their own tokens, and each new
 * one revokes the one before.
 */
export async function startTestServer(
  flags: FlagValues = {},
  options: { clientDir?: string; ltiClock?: Clock; lease?: PlatformOptions['lease']; heartbeatMs?: number; setupLink?: boolean; logger?: Logger } = {},
): Promise<TestServer> {
  const own = typeof flags.dataDir !== 'string';
  const dataDir = typeof flags.dataDir === 'string' ? flags.dataDir : await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-app-'));
  const result = loadConfig({ dataDir, port: 0, clusterUp: false, ...flags }, { HOME: os.homedir(), PATH: process.env.PATH ?? '' });
  if (!result.ok) throw new Error(result.problems.join('\n'));
  const lease = options.lease ?? { name: `kubedojo-test-${randomBytes(4).toString('hex')}` };
  const platform = await buildPlatform(result.config, { logger: silentLogger(), objectLimits: false, setupLink: false, ...options, lease });
  const url = await platform.start();
  return {
    url,
    dataDir,
    app: platform.app,
    services: platform.services,
    parts: { sandboxes: platform.sandboxes, backend: platform.backend, recordings: platform.recordings },
    platform,
    async close() {
      await platform.close();
      if (own) await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A kubeconfig for an API server that is not there (a free loopback port: every call is
 * refused), for tests of the HTTP surface without a cluster.
 */
export async function deadKubeconfig(dir: string): Promise<{ file: string; port: number }> {
  const port = await freePort();
  const file = path.join(dir, 'dead.kubeconfig');
  await fs.writeFile(file, renderKubeconfig({ server: `https://127.0.0.1:${port}`, caData: 'unused', user: 'nobody', token: 'x' }));
  return { file, port };
}
