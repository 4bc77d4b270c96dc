import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { renderKubeconfig } from '../../server/cluster/kubeconfig.ts';
import { freePort } from '../../server/cluster/ports.ts';
import { createApp, type App } from '../../server/app.ts';
import { connectionFromConfig } from '../../server/cluster/connection.ts';
import { loadConfig, type FlagValues } from '../../server/config.ts';
import { createServices, type Services } from '../../server/services.ts';
import type { Clock } from '../../server/lti/clock.ts';
import { openDatabase } from '../../server/db/database.ts';
import { loadLibrary } from '../../server/lessons/library.ts';
import { silentLogger } from '../../server/logger.ts';
import { sandboxServiceFromConfig } from '../../server/sandboxes/from-config.ts';
import type { SandboxService } from '../../server/sandboxes/service.ts';
import type { ShellBackend } from '../../server/terminal/backends.ts';
import { recordingStoreFromConfig, shellBackendFromConfig, terminalManagerFromConfig } from '../../server/terminal/from-config.ts';
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

/** A real app (real SQLite file in a temp data dir) listening on a free port. */
export async function startTestServer(flags: FlagValues = {}, options: { clientDir?: string; ltiClock?: Clock } = {}): Promise<TestServer> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-app-'));
  const result = loadConfig({ dataDir, port: 0, ...flags }, { HOME: os.homedir(), PATH: process.env.PATH ?? '' });
  if (!result.ok) throw new Error(result.problems.join('\n'));
  const db = openDatabase(path.join(dataDir, 'kubedojo.db'));
  const library = await loadLibrary(result.config.lessonsDir);
  const cluster = connectionFromConfig(result.config);
  const sandboxes = sandboxServiceFromConfig(result.config, cluster, library, silentLogger());
  const recordings = recordingStoreFromConfig(result.config, db);
  const backend = shellBackendFromConfig(result.config, cluster, library, silentLogger());
  const terminals = terminalManagerFromConfig(result.config, { sandboxes, backend, recordings, logger: silentLogger() });
  let url = '';
  const services = createServices({ config: result.config, db, cluster, library, sandboxes, terminals, logger: silentLogger(), baseUrl: () => url, ...(options.ltiClock ? { ltiClock: options.ltiClock } : {}) });
  const app = createApp({ config: result.config, db, cluster, logger: silentLogger(), library, sandboxes, terminals, recordings, services, ...(options.clientDir ? { clientDir: options.clientDir } : {}) });
  await new Promise<void>((resolve) => app.http.listen(0, '127.0.0.1', resolve));
  const { port } = app.http.address() as AddressInfo;
  url = `http://127.0.0.1:${port}`;
  services.workshops.start();
  return {
    url,
    dataDir,
    app,
    services,
    parts: { sandboxes, backend, recordings },
    async close() {
      services.workshops.stop();
      await services.grading.stop();
      await app.close();
      db.close();
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
