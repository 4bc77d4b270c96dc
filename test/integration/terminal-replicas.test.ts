import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { CoreV1Api, Exec, type KubeConfig, type V1Status } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { call } from '../../server/cluster/api.ts';
import { silentLogger } from '../../server/logger.ts';
import type { SandboxView } from '../../server/protocol.ts';
import { TerminalManager } from '../../server/terminal/manager.ts';
import { TOOLBOX_POD } from '../../server/terminal/pod-backend.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { adminKubeConfig, eventually } from '../helpers/cluster.ts';
import { browser, type Browser } from '../helpers/http.ts';
import { TerminalClient } from '../helpers/terminal.ts';

/**
 * A learner's toolbox shell outlives the replica that opened it: the shell runs under dtach in
 * the toolbox Pod, an exec is only an attachment. Replica A opens it and closes (as a replica
 * that goes away); replica B, on the same cluster and database, attaches the learner to the
 * very same shell (same PID, variables, history). Ending a shell for real (idle, sandbox gone)
 * still leaves no dtach behind.
 */

let admin: KubeConfig;
let dataDir: string;
const servers: TestServer[] = [];

async function replica(): Promise<TestServer> {
  const server = await startTestServer({ kubeconfig: inject('kubeconfig'), dataDir, terminalBackend: 'pod', terminalGrace: 5 });
  servers.push(server);
  return server;
}

/** The processes of the toolbox Pod (as the platform's admin sees them), by command name. */
async function processes(namespace: string): Promise<string[]> {
  let out = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      out += chunk.toString('utf8');
      done();
    },
  });
  await new Promise<void>((resolve, reject) => {
    new Exec(admin).exec(namespace, TOOLBOX_POD, 'toolbox', ['ps', '-eo', 'comm='], sink, sink, null, false, (status: V1Status) => {
      if (status.status === 'Success') resolve();
      else reject(new Error(`ps in the toolbox: ${status.message ?? ''} ${out}`));
    }).catch(reject);
  });
  return out.split('\n').map((l) => l.trim()).filter((l) => l !== '');
}

async function learnerWithSandbox(via: TestServer): Promise<{ send: Browser; sandbox: SandboxView }> {
  const send = browser(() => via.url);
  const made = await send('POST', '/api/sandboxes', { lesson: 'kubernetes-fundamentals' });
  expect(made.status, made.text).toBe(201);
  return { send, sandbox: made.json as SandboxView };
}

async function attached(server: TestServer, cookie: string, namespace: string): Promise<TerminalClient> {
  const client = new TerminalClient(server.url, cookie);
  const reply = await client.attach(namespace);
  if (!reply.ok) throw new Error(reply.error);
  return client;
}

beforeAll(async () => {
  admin = adminKubeConfig(inject('kubeconfig'));
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-term-replicas-'));
}, 60_000);

afterAll(async () => {
  for (const s of servers) await s.close();
  await fs.rm(dataDir, { recursive: true, force: true });
});

describe('a toolbox shell across replicas', () => {
  it('survives the replica that opened it: another replica attaches to the same shell, variables and history', async () => {
    const a = await replica();
    const { send, sandbox } = await learnerWithSandbox(a);
    const first = await attached(a, send.cookie(), sandbox.namespace);
    await first.run('true', 120_000);
    const before = await first.run('export KD_MARK=42; echo "pid=$$"');
    const pid = /pid=(\d+)/.exec(before)?.[1];
    expect(pid).toBeDefined();
    // A prompt and errors reach the terminal (stderr is the shell's too).
    expect(await first.run('ls /no-such-dir')).toContain('No such file or directory');

    await a.close();
    servers.splice(servers.indexOf(a), 1);
    first.close();
    // The replica is gone; the shell is not.
    const left = await processes(sandbox.namespace);
    expect(left).toContain('dtach');
    expect(left).toContain('bash');

    const b = await replica();
    const second = await attached(b, send.cookie(), sandbox.namespace);
    await eventually(() => (second.notices.includes('reattached to your running shell') ? true : undefined), 'the reattach notice', 10_000, 50);
    expect(await second.run('echo "$KD_MARK pid=$$"')).toContain(`42 pid=${pid ?? ''}`);
    expect(await second.run('history | tail -n 5')).toContain('export KD_MARK=42');
    // It joined at the prompt: a block runs at once, command by command.
    const block = await second.runBlock('echo "block $((6 * 7))"\n', 30_000);
    expect(block.done).toMatchObject({ exitCodes: [0], stopped: null });
    expect(block.output).toContain('block 42');
    second.close();
  });

  it('keeps the shell when the page moves to another replica and the first one lets go after its grace', async () => {
    const [a, b] = servers.length >= 2 ? servers : [servers[0] ?? (await replica()), await replica()];
    if (!a || !b) throw new Error('two replicas');
    const { send, sandbox } = await learnerWithSandbox(a);
    const onA = await attached(a, send.cookie(), sandbox.namespace);
    const pid = /pid=(\d+)/.exec(await onA.run('echo "pid=$$"', 120_000))?.[1];
    // The page reloads onto B: A's session is left without a viewer.
    onA.close();
    const onB = await attached(b, send.cookie(), sandbox.namespace);
    expect(await onB.run('echo "pid=$$"')).toContain(`pid=${pid ?? ''}`);
    // A's grace (5 s) passes: it sees B holds the shell, and only lets go of its attachment.
    await eventually(() => (a.platform.terminals.get(sandbox.namespace) === undefined ? true : undefined), "A's session to end", 30_000, 200);
    expect(await onB.run('echo "still pid=$$"')).toContain(`still pid=${pid ?? ''}`);
    expect((await processes(sandbox.namespace)).filter((p) => p === 'dtach').length).toBeGreaterThanOrEqual(2);
    // Explicitly closed by the learner: the shell ends for real.
    onB.socket.emit('close');
    await eventually(async () => ((await processes(sandbox.namespace)).some((p) => p === 'dtach' || p === 'bash') ? undefined : true), 'no shell left', 30_000, 250);
    onB.close();
  });

  it('still ends a shell for real when it idles, and with its sandbox: no dtach left behind', async () => {
    const b = servers[servers.length - 1] ?? (await replica());
    const { send, sandbox } = await learnerWithSandbox(b);
    const { sandboxes, backend, recordings } = b.parts;
    const manager = new TerminalManager({ sandboxes, backend, recordings, settings: { idleMs: 3000, graceMs: 30_000, inputBytesPerSecond: 64 * 1024 }, logger: silentLogger() });
    const session = await manager.open(sandbox.namespace, { cols: 80, rows: 24 });
    expect((await processes(sandbox.namespace)).filter((p) => p === 'dtach').length).toBeGreaterThanOrEqual(1);
    const toolboxUid = async () => {
      const pod = await call(() => admin.makeApiClient(CoreV1Api).readNamespacedPod({ name: TOOLBOX_POD, namespace: sandbox.namespace }));
      return pod.ok ? pod.value.metadata?.uid : undefined;
    };
    const uid = await toolboxUid();
    const ended = await eventually(() => session.ended, 'the idle end', 60_000, 100);
    expect(ended.reason).toBe('idle');
    await session.closed;
    expect((await processes(sandbox.namespace)).filter((p) => p === 'dtach' || p === 'bash')).toEqual([]);
    // The learner's processes went, the toolbox Pod (and its home) stayed.
    expect(await toolboxUid()).toBe(uid);
    await manager.close();

    const term = await attached(b, send.cookie(), sandbox.namespace);
    await term.run('true', 120_000);
    expect(await send('DELETE', `/api/sandboxes/${sandbox.namespace}`)).toMatchObject({ status: 204 });
    await eventually(() => (term.ended ? true : undefined), 'the terminal to end', 60_000, 100);
    expect(term.ended?.reason).toBe('sandbox-deleted');
    const pod = await call(() => admin.makeApiClient(CoreV1Api).readNamespacedPod({ name: TOOLBOX_POD, namespace: sandbox.namespace }));
    expect(pod.ok && !pod.value.metadata?.deletionTimestamp).toBe(false);
    term.close();
  });
});
