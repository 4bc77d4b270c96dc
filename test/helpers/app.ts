import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { renderKubeconfig } from '../../server/cluster/kubeconfig.ts';
import { freePort } from '../../server/cluster/ports.ts';
import type { App } from '../../server/app.ts';
import { loadConfig, type FlagValues } from '../../server/config.ts';
import type { Services } from '../../server/services.ts';
import type { Clock } from '../../server/lti/clock.ts';
import { silentLogger } from '../../server/logger.ts';
import { buildPlatform } from '../../server/platform.ts';
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
  close(): Promise<void>;
}

/**
 * The platform as `kubedojo serve` builds and starts it (server/platform.ts), with a real SQLite
 * file in a temp data dir (or the PostgreSQL of a `databaseUrl` flag), on a free loopback port. It never starts an embedded cluster (the
 * integration suite shares one) nor the cluster-wide object-limit webhook (walls.test.ts does).
 */
export async function startTestServer(flags: FlagValues = {}, options: { clientDir?: string; ltiClock?: Clock } = {}): Promise<TestServer> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-app-'));
  const result = loadConfig({ dataDir, port: 0, clusterUp: false, ...flags }, { HOME: os.homedir(), PATH: process.env.PATH ?? '' });
  if (!result.ok) throw new Error(result.problems.join('\n'));
  const platform = await buildPlatform(result.config, { logger: silentLogger(), objectLimits: false, ...options });
  const url = await platform.start();
  return {
    url,
    dataDir,
    app: platform.app,
    services: platform.services,
    parts: { sandboxes: platform.sandboxes, backend: platform.backend, recordings: platform.recordings },
    async close() {
      await platform.close();
      await fs.rm(dataDir, { recursive: true, force: true });
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
