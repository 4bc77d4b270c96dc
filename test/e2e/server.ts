import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { cliPath, projectRoot, runCli } from '../helpers/cli.ts';

export interface ServedApp {
  url: string;
  dataDir: string;
  /** The server's log lines so far (JSON). */
  log: string[];
  /** The one-time link that creates the first admin, as the server printed it. */
  setupUrl(): string;
  stop(): Promise<void>;
}

/**
 * Starts the real `kubedojo serve` on port 0 with a fresh data directory, as a user would
 * (the embedded cluster starts with it unless `--no-cluster-up`), and reads its URL from the log.
 */
export async function serve(extraArgs: string[] = []): Promise<ServedApp> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-e2e-'));
  const args = [cliPath, 'serve', '--port', '0', '--data-dir', dataDir, '--log-format', 'json', ...extraArgs];
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: projectRoot,
    env: { ...process.env, CI: 'true', KUBECONFIG: '', KUBEDOJO_ETCD_UNSAFE_NO_FSYNC: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const log: string[] = [];
  let served: string | undefined;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`kubedojo serve did not start within 5 minutes:\n${log.join('\n')}`));
    }, 300_000);
    if (!child.stderr) throw new Error('no stderr');
    readline.createInterface({ input: child.stderr }).on('line', (line) => {
      log.push(line);
      const match = /kubedojo is serving on (http:\/\/\S+?)"/.exec(line);
      if (match?.[1]) served = match[1];
      // A fresh data directory has no admin: the leader's setup link follows the URL.
      if (served && log.some((l) => l.includes('"setupUrl"'))) {
        clearTimeout(timer);
        resolve(served);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`kubedojo serve exited with ${code}:\n${log.join('\n')}`));
    });
  });
  return {
    url,
    dataDir,
    log,
    setupUrl() {
      for (const line of log) {
        const match = /"setupUrl":"([^"]+)"/.exec(line);
        if (match?.[1]) return match[1];
      }
      throw new Error(`the server printed no setup link:\n${log.join('\n')}`);
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      await runCli(['cluster', 'down', '--data-dir', dataDir]);
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** One real server per suite: started before its tests, stopped (with its cluster) after. */
export function servedForSuite(test: { beforeAll: (fn: () => Promise<void>) => void; afterAll: (fn: () => Promise<void>) => void; setTimeout: (ms: number) => void }, extraArgs: string[] = []): () => ServedApp {
  let app: ServedApp | undefined;
  test.beforeAll(async () => {
    test.setTimeout(360_000);
    app = await serve(extraArgs);
  });
  test.afterAll(async () => {
    await app?.stop();
  });
  return () => {
    if (!app) throw new Error('the suite server is not running');
    return app;
  };
}
