import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ClusterInfoResponse, ReadyResponse } from '../../server/protocol.ts';
import { cliPath, projectRoot, runCli } from '../helpers/cli.ts';
import { eventually } from '../helpers/cluster.ts';

/**
 * `kubedojo serve` pointed at an existing cluster through a kubeconfig (here: the shared test
 * cluster), as an operator with their own cluster would run it.
 */

let dataDir: string;
beforeAll(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-serve-'));
});
afterAll(async () => {
  await fs.rm(dataDir, { recursive: true, force: true });
});

function startServe(args: string[], env: Record<string, string> = {}): Promise<{ url: string; lines: string[]; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [cliPath, 'serve', '--port', '0', '--log-format', 'json', '--data-dir', dataDir, ...args], {
    cwd: projectRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    const lines: string[] = [];
    readline.createInterface({ input: child.stderr }).on('line', (line) => {
      lines.push(line);
      const match = /kubedojo is serving on (http:\/\/\S+?)"/.exec(line);
      if (match?.[1]) {
        resolve({
          url: match[1],
          lines,
          stop: async () => {
            child.kill('SIGTERM');
            await new Promise((r) => child.once('exit', r));
          },
        });
      }
    });
    child.once('exit', (code) => {
      reject(new Error(`serve exited ${code}: ${lines.join('\n')}`));
    });
  });
}

describe('kubedojo serve with an existing cluster', () => {
  it('uses the kubeconfig from KUBECONFIG, is ready, and reports the cluster', async () => {
    const server = await startServe([], { KUBECONFIG: inject('kubeconfig') });
    try {
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(((await ready.json()) as ReadyResponse).checks).toEqual({ database: { ok: true }, cluster: { ok: true } });
      const info = (await (await fetch(`${server.url}/api/cluster`)).json()) as ClusterInfoResponse;
      expect(info.kind).toBe('kubeconfig');
      expect(info.reason).toContain('KUBECONFIG');
      expect(info.reachable).toBe(true);
      expect(info.nodes?.ready).toBeGreaterThanOrEqual(6);
      // It did not start an embedded cluster of its own.
      await expect(fs.access(path.join(dataDir, 'cluster'))).rejects.toThrow();
      // It takes part in the election; leading, it logs the first admin's setup link (once per cluster).
      const link = await eventually(() => server.lines.map((l) => /"setupUrl":"([^"]+)"/.exec(l)?.[1]).find(Boolean), 'the setup link', 30_000, 100);
      expect(link).toMatch(new RegExp(`^${server.url}/setup\\?token=`));
    } finally {
      await server.stop();
    }
  });

  it('refuses a busy port with a message naming the flag', async () => {
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const { port } = squatter.address() as net.AddressInfo;
    try {
      const result = await runCli(['serve', '--port', String(port), '--no-cluster-up', '--data-dir', dataDir]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`Port ${port} on 127.0.0.1 is already in use by another program. Choose another with --port`);
    } finally {
      squatter.close();
    }
  });

  it('refuses a kubeconfig mode without a kubeconfig, naming the setting', async () => {
    const result = await runCli(['serve', '--cluster', 'kubeconfig', '--data-dir', dataDir], { env: { KUBECONFIG: undefined } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--cluster: "kubeconfig" needs --kubeconfig or KUBECONFIG');
  });
});
