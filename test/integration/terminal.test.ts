import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RecordingView } from '../../server/protocol.ts';
import { silentLogger } from '../../server/logger.ts';
import { TerminalManager } from '../../server/terminal/manager.ts';
import { HIGH_WATER } from '../../server/terminal/session.ts';
import { eventually } from '../helpers/cluster.ts';
import { BACKENDS, terminalEnv, type Learner, type TerminalEnv } from '../helpers/terminal-env.ts';
import { TerminalClient } from '../helpers/terminal.ts';

/**
 * The browser terminal on the real cluster, over the real socket.io transport, once per backend:
 * a jailed shell on this machine and a toolbox Pod on the real node must behave the same to a
 * learner (rights, tools, echo, resize, flow control, reattach, idle end, recording). The walls
 * each backend must hold are in terminal-walls.test.ts.
 */

/** Resolves once the terminal has printed nothing for a second. */
async function quiet(term: TerminalClient): Promise<void> {
  await eventually(async () => {
    const before = term.bytes;
    await new Promise((r) => setTimeout(r, 1000));
    return term.bytes === before ? true : undefined;
  }, 'the output to settle', 120_000, 0);
}

describe.each(BACKENDS)('the %s terminal', (backend) => {
  let env: TerminalEnv;
  let alice: Learner;
  let bob: Learner;
  let aliceTerm: TerminalClient;

  beforeAll(async () => {
    env = await terminalEnv(inject('kubeconfig'), backend);
    [alice, bob] = await Promise.all([env.learner(), env.learner()]);
    aliceTerm = await env.terminal(alice);
  }, 300_000);

  afterAll(async () => {
    aliceTerm.close();
    await env.server.close();
  });

  it('runs kubectl with exactly the learner’s rights', async () => {
    const ns = alice.sandbox.namespace;
    expect(await aliceTerm.run('kubectl auth whoami -o jsonpath="{.status.userInfo.username}"; echo')).toContain(`system:serviceaccount:${ns}:kubedojo-learner`);
    // The lab's three setup Pods, and in the pod backend the toolbox itself.
    const pods = backend === 'pod' ? 4 : 3;
    expect(await aliceTerm.run('kubectl get pods --no-headers | wc -l')).toMatch(new RegExp(`\\b${pods}\\b`));
    expect(await aliceTerm.run('kubectl auth can-i create deployments')).toMatch(/\byes\b/);
    expect(await aliceTerm.run('kubectl auth can-i get secrets -n kube-system')).toMatch(/\bno\b/);
    expect(await aliceTerm.run(`kubectl get pods -n ${bob.sandbox.namespace} 2>&1`)).toContain('Forbidden');
    // Seven simulated nodes and the real one.
    expect(await aliceTerm.run('kubectl get nodes --no-headers | wc -l')).toMatch(/\b8\b/);
  });

  it('runs a paste that arrives while the shell starts once its first prompt is there; a paste while a program reads goes to that program', async () => {
    const term = new TerminalClient(env.server.url, bob.cookie);
    try {
      expect((await term.attach(bob.sandbox.namespace)).ok).toBe(true);
      // At once, before the new shell has shown a prompt: run as commands, not typed into "a program".
      const pasted = await term.runBlock('echo "one $((1 + 1))"\necho "two $((2 + 1))"\n', 180_000, 'paste');
      expect(pasted.done).toMatchObject({ exitCodes: [0, 0], stopped: null });
      expect(pasted.output).toContain('one 2');
      expect(pasted.output).toContain('two 3');
      // A program that reads two lines. The paste waits until it says it is reading: typed ahead
      // of that, the text would arrive while the shell's line editor still held the terminal.
      const from = term.output.length;
      term.type("printf 'reading-%s\\n' lines; head -n 2 > pasted.txt\n");
      await eventually(() => (term.output.includes('reading-lines', from) ? true : undefined), 'the program to start reading', 60_000, 50);
      expect(await term.paste('alpha\nbeta\n')).toBe(true);
      expect(await term.run('cat pasted.txt')).toMatch(/alpha\r?\nbeta/);
    } finally {
      term.close();
    }
  });

  it('has the tools of the lessons: bash, vim, nano, python3 with the kubernetes client, the lab files', async () => {
    const out = await aliceTerm.run('command -v vim nano python3 bash; python3 -c "import kubernetes; print(\'k8s client\', kubernetes.__version__)"');
    expect(out).toMatch(/\/bin\/vim\b/);
    expect(out).toContain('/usr/bin/nano');
    expect(out).toMatch(/k8s client \d+\.\d+/);
    expect(await aliceTerm.run('ls ~/operator')).toContain('database_operator.py');
    expect(await aliceTerm.run('cat ~/operator/env.sh')).toContain(`NAMESPACE=${alice.sandbox.namespace}`);
    expect(await aliceTerm.run('echo "ns=$NAMESPACE"')).toContain(`ns=${alice.sandbox.namespace}`);
  });

  it('echoes what is typed, and follows a resize', async () => {
    expect(await aliceTerm.run('echo "typed: $((40 + 2))"')).toContain('typed: 42');
    expect(await aliceTerm.run('stty size')).toMatch(/\b32 120\b/);
    aliceTerm.socket.emit('resize', { cols: 90, rows: 20 });
    await eventually(async () => ((await aliceTerm.run('stty size')).includes('20 90') ? true : undefined), 'the new size in the shell', 10_000);
  });

  it('refuses a socket without a session and a sandbox that is not yours', async () => {
    const anonymous = new TerminalClient(env.server.url, '');
    await expect(anonymous.connected()).rejects.toThrow('sign in (open a lesson) before opening a terminal');
    anonymous.close();
    const intruder = new TerminalClient(env.server.url, bob.cookie);
    const reply = await intruder.attach(alice.sandbox.namespace);
    expect(reply).toEqual({ ok: false, error: `there is no sandbox ${alice.sandbox.namespace}` });
    intruder.close();
  });

  it('rejects malformed messages with a notice and keeps working', async () => {
    const client = new TerminalClient(env.server.url, alice.cookie);
    expect(await client.attach('Not A Namespace')).toEqual({ ok: false, error: 'namespace must be a namespace name' });
    expect(await client.socket.emitWithAck('attach', { namespace: alice.sandbox.namespace, cols: 0, rows: 'x' })).toMatchObject({ ok: false });
    expect((await client.attach(alice.sandbox.namespace)).ok).toBe(true);
    for (const bad of [{ cols: -1, rows: 10 }, { cols: 'wide', rows: 10 }, { cols: 100_000, rows: 10 }, null, 'resize']) client.socket.emit('resize', bad);
    client.socket.emit('input', { not: 'a string' });
    client.socket.emit('input', 'x'.repeat(9000));
    client.socket.emit('ack', { bytes: -5 });
    await eventually(() => Promise.resolve(client.notices.length >= 7 ? true : undefined), 'notices for every bad message');
    expect(client.notices.filter((n) => n.startsWith('resize ignored')).length).toBe(5);
    expect(client.notices).toContain('input ignored: input must be at most 8192 characters per message');
    expect(await client.run('echo ok after junk')).toContain('ok after junk');
    // A message over socket.io's size limit closes only that connection.
    client.socket.emit('input', 'y'.repeat(200_000));
    await eventually(() => Promise.resolve(client.socket.connected ? undefined : true), 'the oversized client to be disconnected');
    expect((await fetch(`${env.server.url}/healthz`)).status).toBe(200);
    client.close();
    aliceTerm = await env.terminal(alice);
  });

  it('drops a flood of input beyond the rate limit', async () => {
    const flood = 'echo flood >/dev/null\n'.repeat(360); // ~8 KB a message
    for (let i = 0; i < 60; i += 1) aliceTerm.type(flood.slice(0, 8000));
    await eventually(() => Promise.resolve(aliceTerm.notices.includes('input dropped: typing faster than the terminal accepts') ? true : undefined), 'the rate limit');
    // As a person would: wait until the shell has worked through what got in, interrupt, go on.
    await quiet(aliceTerm);
    aliceTerm.type('\x03');
    await quiet(aliceTerm);
    expect(await aliceTerm.run('echo calm again', 60_000)).toContain('calm again');
  });

  it('pauses a shell whose viewer never acknowledges, within the memory bound, and serves others meanwhile', async () => {
    const slow = await env.learner('kubernetes-fundamentals');
    const client = new TerminalClient(env.server.url, slow.cookie, { autoAck: false });
    expect((await client.attach(slow.sandbox.namespace)).ok).toBe(true);
    const rssBefore = process.memoryUsage().rss;
    client.type('head -c 30000000 /dev/zero | base64\n');
    await eventually(() => Promise.resolve(client.bytes > HIGH_WATER ? true : undefined), 'output to reach the high-water mark', 60_000);
    await new Promise((r) => setTimeout(r, 1500));
    const stalled = client.bytes;
    await new Promise((r) => setTimeout(r, 1500));
    // Paused: at most what was already on its way when the pause took effect (a pty read, or
    // what the exec stream's socket buffers held).
    expect(client.bytes - stalled).toBeLessThan(backend === 'pod' ? 1024 * 1024 : 256 * 1024);
    expect(client.bytes).toBeLessThan(HIGH_WATER + 4 * 1024 * 1024);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024);
    expect(await aliceTerm.run('echo others are served')).toContain('others are served');
    // Acknowledging resumes it.
    client.socket.emit('ack', { bytes: client.bytes });
    await eventually(() => Promise.resolve(client.bytes > stalled + HIGH_WATER ? true : undefined), 'output to resume');
    client.socket.emit('close');
    client.close();
  });

  it('reattaches a reload to the same shell with its screen', async () => {
    await aliceTerm.run('export KD_MARK=remembered; echo screen-before-reload');
    const before = await aliceTerm.attach(alice.sandbox.namespace);
    aliceTerm.close();
    const reloaded = new TerminalClient(env.server.url, alice.cookie);
    const reply = await reloaded.attach(alice.sandbox.namespace);
    expect(reply.ok).toBe(true);
    if (!reply.ok || !before.ok) return;
    expect(reply.sessionId).toBe(before.sessionId);
    expect(reply.screen).toContain('screen-before-reload');
    expect(await reloaded.run('echo $KD_MARK')).toContain('remembered');
    aliceTerm = reloaded;
  });

  it('records the session as asciicast v2, replayable by its owner only', async () => {
    await aliceTerm.run('echo recorded-line');
    const mine = (await (await fetch(`${env.server.url}/api/recordings`, { headers: { cookie: alice.cookie } })).json()) as { recordings: RecordingView[] };
    const recording = mine.recordings.find((r) => r.namespace === alice.sandbox.namespace);
    expect(recording).toBeDefined();
    const cast = await fetch(`${env.server.url}/api/recordings/${recording?.id ?? ''}/cast`, { headers: { cookie: alice.cookie } });
    expect(cast.status).toBe(200);
    const lines = (await cast.text()).trim().split('\n');
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ version: 2, width: 120, height: 32 });
    const events = lines.slice(1).map((l) => JSON.parse(l) as [number, string, string]);
    expect(events.some(([, type, data]) => type === 'o' && data.includes('recorded-line'))).toBe(true);
    expect(events.some(([, type]) => type === 'm')).toBe(true);
    expect(events.every(([t], i) => i === 0 || t >= (events[i - 1]?.[0] ?? 0))).toBe(true);
    const stolen = await fetch(`${env.server.url}/api/recordings/${recording?.id ?? ''}/cast`, { headers: { cookie: bob.cookie } });
    expect(stolen.status).toBe(404);
  });

  it('ends a shell nobody types into once its idle time passes', async () => {
    const idler = await env.learner('kubernetes-fundamentals');
    const { sandboxes, backend: shells, recordings } = env.server.parts;
    // The server's own setting is in minutes; a manager of the same parts with a short one.
    const manager = new TerminalManager({ sandboxes, backend: shells, recordings, settings: { idleMs: 2000, graceMs: 30_000, inputBytesPerSecond: 64 * 1024 }, logger: silentLogger() });
    const session = await manager.open(idler.sandbox.namespace, { cols: 80, rows: 24 });
    const ended = await eventually(() => Promise.resolve(session.ended), 'the idle end', 30_000);
    expect(ended.reason).toBe('idle');
    expect(manager.count).toBe(0);
  });

  it('ends the shell when the sandbox is deleted', async () => {
    const gone = await env.learner('kubernetes-fundamentals');
    const term = await env.terminal(gone);
    await gone.send('DELETE', `/api/sandboxes/${gone.sandbox.namespace}`);
    await eventually(() => Promise.resolve(term.ended ? true : undefined), 'the terminal to end');
    expect(term.ended?.reason).toBe('sandbox-deleted');
    term.close();
  });
});
