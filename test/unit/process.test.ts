import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, isPortFree } from '../../server/cluster/ports.ts';
import { isAlive, procStartTime, spawnDetached, tailFile, terminate } from '../../server/cluster/process.ts';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-proc-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('detached component processes', () => {
  it('starts a process that logs to its file, and stops it', async () => {
    const logFile = path.join(dir, 'sleeper.log');
    const record = await spawnDetached({ binary: '/bin/sh', args: ['-c', 'echo started; exec sleep 60'], logFile, env: { PATH: '/usr/bin:/bin' }, cwd: dir });
    expect(await isAlive(record)).toBe(true);
    await expect.poll(() => tailFile(logFile)).toEqual(['started']);
    expect(await terminate(record, 2000)).toBe('stopped');
    expect(await isAlive(record)).toBe(false);
    expect(await terminate(record)).toBe('not-running');
  });

  it('never signals a process whose pid matches but whose start time does not (a recycled pid)', async () => {
    const stranger = spawn('sleep', ['60'], { stdio: 'ignore' });
    const pid = stranger.pid ?? -1;
    const startTime = (await procStartTime(pid)) ?? 0;
    const stale = { pid, startTime: startTime - 1, binary: 'sleep', startedAt: '' };
    expect(await isAlive(stale)).toBe(false);
    expect(await terminate(stale, 100)).toBe('not-running');
    expect(await procStartTime(pid)).toBe(startTime);
    stranger.kill('SIGKILL');
  });

  it('kills a process that ignores SIGTERM after the grace period', async () => {
    const record = await spawnDetached({
      binary: '/bin/sh',
      args: ['-c', "trap '' TERM; echo ready; while true; do sleep 0.1; done"],
      logFile: path.join(dir, 'stubborn.log'),
      env: { PATH: '/usr/bin:/bin' },
      cwd: dir,
    });
    // Until the shell has set its trap, SIGTERM would still stop it.
    while (!(await fs.readFile(path.join(dir, 'stubborn.log'), 'utf8').catch(() => '')).includes('ready')) await new Promise((r) => setTimeout(r, 10));
    expect(await terminate(record, 300)).toBe('killed');
    expect(await isAlive(record)).toBe(false);
  });

  it('keeps the previous log beside the new one', async () => {
    const logFile = path.join(dir, 'twice.log');
    for (const word of ['first', 'second']) {
      const record = await spawnDetached({ binary: '/bin/sh', args: ['-c', `echo ${word}; exec sleep 30`], logFile, env: { PATH: '/usr/bin:/bin' }, cwd: dir });
      await expect.poll(() => tailFile(logFile)).toEqual([word]);
      await terminate(record, 1000);
    }
    expect(await tailFile(`${logFile}.1`)).toEqual(['first']);
    expect(await tailFile(path.join(dir, 'absent.log'))).toEqual([]);
  });
});

describe('ports', () => {
  it('tells a busy port from a free one and picks free ports', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const busy = typeof address === 'object' && address ? address.port : 0;
    expect(await isPortFree(busy)).toBe(false);
    server.close();
    const port = await freePort(new Set([busy]));
    expect(port).not.toBe(busy);
    expect(await isPortFree(port)).toBe(true);
  });
});
