import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ClusterStatus } from '../../server/cluster/local.ts';
import type { RecordingView, SandboxView } from '../../server/protocol.ts';
import { HIGH_WATER } from '../../server/terminal/session.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { runCliOk } from '../helpers/cli.ts';
import { eventually } from '../helpers/cluster.ts';
import { TerminalClient } from '../helpers/terminal.ts';
import { browser, type Browser } from '../helpers/http.ts';

/**
 * The browser terminal on the real cluster: a jailed shell per sandbox, reached over the real
 * socket.io transport. Escape attempts from inside must fail; bad clients must not hurt others.
 */

const exec = promisify(execFile);

let server: TestServer;
let ports: number[];
let apiPort: number;

interface Learner {
  cookie: string;
  send: Browser;
  sandbox: SandboxView;
}

async function learner(lesson = 'advanced-kubernetes-patterns'): Promise<Learner> {
  const send = browser(() => server.url);
  const response = await send('POST', '/api/sandboxes', { lesson });
  return { cookie: send.cookie(), send, sandbox: response.json as SandboxView };
}

async function terminal(who: Learner, options: { autoAck?: boolean } = {}): Promise<TerminalClient> {
  const client = new TerminalClient(server.url, who.cookie, options);
  const reply = await client.attach(who.sandbox.namespace);
  if (!reply.ok) throw new Error(reply.error);
  await client.run('true');
  return client;
}

let alice: Learner;
let bob: Learner;
let aliceTerm: TerminalClient;

beforeAll(async () => {
  server = await startTestServer({ kubeconfig: inject('kubeconfig'), terminalBackend: 'jail', terminalGrace: 30 });
  const status = JSON.parse((await runCliOk(['cluster', 'status', '--json', '--data-dir', inject('clusterDataDir')])).stdout) as ClusterStatus;
  ports = status.components.map((c) => c.port ?? 0).filter((p) => p > 0);
  apiPort = status.components.find((c) => c.id === 'kube-apiserver')?.port ?? 0;
  [alice, bob] = await Promise.all([learner(), learner()]);
  aliceTerm = await terminal(alice);
});

afterAll(async () => {
  aliceTerm.close();
  await server.close();
});

describe('the jailed shell', () => {
  it('runs kubectl with exactly the learner’s rights', async () => {
    const ns = alice.sandbox.namespace;
    expect(await aliceTerm.run('kubectl auth whoami -o jsonpath="{.status.userInfo.username}"; echo')).toContain(`system:serviceaccount:${ns}:kubedojo-learner`);
    expect(await aliceTerm.run('kubectl get pods --no-headers | wc -l')).toMatch(/\b3\b/);
    expect(await aliceTerm.run('kubectl auth can-i create deployments')).toMatch(/\byes\b/);
    expect(await aliceTerm.run('kubectl auth can-i get secrets -n kube-system')).toMatch(/\bno\b/);
    expect(await aliceTerm.run(`kubectl get pods -n ${bob.sandbox.namespace} 2>&1`)).toContain('Forbidden');
    expect(await aliceTerm.run('kubectl get nodes --no-headers | wc -l')).toMatch(/\b7\b/);
  });

  it('has the tools of the lessons: bash, vim, nano, python3 with the kubernetes client', async () => {
    const out = await aliceTerm.run('command -v vim nano python3 bash; python3 -c "import kubernetes; print(\'k8s client\', kubernetes.__version__)"');
    expect(out).toContain('/usr/bin/vim');
    expect(out).toContain('/usr/bin/nano');
    expect(out).toMatch(/k8s client \d+\.\d+/);
    expect(await aliceTerm.run('ls ~/operator')).toContain('database_operator.py');
    expect(await aliceTerm.run('cat ~/operator/env.sh')).toContain(`NAMESPACE=${alice.sandbox.namespace}`);
  });

  it('cannot reach etcd, kwok, the controllers, the platform or any local port but the API server', async () => {
    const platformPort = Number(new URL(server.url).port);
    const probes = [...ports.filter((p) => p !== apiPort), platformPort, 22, 80, 8080];
    const script = probes.map((p) => `(exec 3<>/dev/tcp/127.0.0.1/${p}) 2>/dev/null && echo "open ${p}" || echo "closed ${p}"`).join('; ');
    const out = await aliceTerm.run(script);
    for (const p of probes) expect(out, `port ${p}`).toContain(`closed ${p}`);
    expect(await aliceTerm.run(`(exec 3<>/dev/tcp/127.0.0.1/${apiPort}) && echo "api reachable"`)).toContain('api reachable');
    expect(await aliceTerm.run('cat /proc/net/route | wc -l; ls /sys/class/net')).toMatch(/^\s*1\s*$|lo/m);
  });

  it("cannot read the platform's data, database, admin kubeconfig or another learner's home", async () => {
    const targets = [
      server.dataDir,
      path.join(server.dataDir, 'kubedojo.db'),
      path.join(inject('clusterDataDir'), 'cluster', 'admin.kubeconfig'),
      path.join(inject('clusterDataDir'), 'cluster', 'pki', 'ca.key'),
      `/var/lib/kubedojo/jails/homes/${bob.sandbox.namespace}`,
      '/root',
      '/etc/shadow',
    ];
    const out = await aliceTerm.run(targets.map((t) => `cat ${t} >/dev/null 2>&1 && echo "READ ${t}" || echo "denied ${t}"`).join('; '));
    for (const t of targets) expect(out, t).toContain(`denied ${t}`);
    expect(await aliceTerm.run('id -u; grep -c . /proc/self/status >/dev/null; grep -E "^(CapEff|NoNewPrivs)" /proc/self/status')).toMatch(/CapEff:\s+0+\s[\s\S]*NoNewPrivs:\s+1/);
    expect(await aliceTerm.run('touch /usr/bin/x 2>&1; touch /etc/x 2>&1')).toMatch(/Read-only file system[\s\S]*Read-only file system/);
  });

  it("cannot see other learners' or the host's processes", async () => {
    const bobTerm = await terminal(bob);
    await bobTerm.run('sleep 4711 & disown');
    const seen = await aliceTerm.run('ps -eo pid,comm,args --no-headers');
    expect(seen).not.toContain('sleep 4711');
    expect(seen).not.toMatch(/kube-apiserver|etcd|node /);
    expect(seen.split('\n').filter((l) => l.trim()).length).toBeLessThan(10);
    bobTerm.close();
  });

  it('refuses TIOCSTI keystroke injection', async () => {
    const out = await aliceTerm.run(`python3 -c "import fcntl, termios; fcntl.ioctl(0, termios.TIOCSTI, b'x')" 2>&1 | tail -1`);
    expect(out).toContain('Operation not permitted');
  });

  it('contains a fork bomb, and the host stays responsive', async () => {
    const bomber = await learner('kubernetes-fundamentals');
    const term = await terminal(bomber);
    term.type("bomb() { bomb | bomb & }; bomb 2>/dev/null\n");
    await new Promise((r) => setTimeout(r, 3000));
    const started = performance.now();
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(performance.now() - started).toBeLessThan(1000);
    // Another learner's shell still answers promptly.
    const echoStarted = performance.now();
    await aliceTerm.run('echo still here');
    expect(performance.now() - echoStarted).toBeLessThan(3000);
    // Closing the terminal kills every process of that jail.
    const { stdout: before } = await exec('sh', ['-c', 'ls /sys/fs/cgroup/pids/kubedojo/ 2>/dev/null || ls /sys/fs/cgroup/kubedojo/ 2>/dev/null']);
    const group = before.split('\n').find((g) => g.includes(bomber.sandbox.namespace)) ?? '';
    expect(group).not.toBe('');
    const procs = async () =>
      (await fs.readFile(`/sys/fs/cgroup/pids/kubedojo/${group}/cgroup.procs`, 'utf8').catch(async () => fs.readFile(`/sys/fs/cgroup/kubedojo/${group}/cgroup.procs`, 'utf8').catch(() => '')))
        .split('\n')
        .filter(Boolean).length;
    const during = await procs();
    expect(during).toBeGreaterThan(10);
    expect(during).toBeLessThanOrEqual(256);
    term.socket.emit('close');
    await eventually(async () => ((await procs()) === 0 ? true : undefined), 'every process of the jail to be killed');
    term.close();
  });
});

describe('the transport', () => {
  it('refuses a socket without a session and a sandbox that is not yours', async () => {
    const anonymous = new TerminalClient(server.url, '');
    await expect(anonymous.connected()).rejects.toThrow('sign in (open a lesson) before opening a terminal');
    anonymous.close();
    const intruder = new TerminalClient(server.url, bob.cookie);
    const reply = await intruder.attach(alice.sandbox.namespace);
    expect(reply).toEqual({ ok: false, error: `there is no sandbox ${alice.sandbox.namespace}` });
    intruder.close();
  });

  it('rejects malformed messages with a notice and keeps working', async () => {
    const client = new TerminalClient(server.url, alice.cookie);
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
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    client.close();
    aliceTerm = await terminal(alice);
  });

  it('drops a flood of input beyond the rate limit', async () => {
    const flood = 'echo flood >/dev/null\n'.repeat(360); // ~8 KB a message
    for (let i = 0; i < 60; i += 1) aliceTerm.type(flood.slice(0, 8000));
    await eventually(() => Promise.resolve(aliceTerm.notices.includes('input dropped: typing faster than the terminal accepts') ? true : undefined), 'the rate limit');
    await new Promise((r) => setTimeout(r, 2000));
    aliceTerm.type('\x03');
    expect(await aliceTerm.run('echo calm again')).toContain('calm again');
  });

  it('pauses a shell whose viewer never acknowledges, within the memory bound, and serves others meanwhile', async () => {
    const slow = await learner('kubernetes-fundamentals');
    const client = new TerminalClient(server.url, slow.cookie, { autoAck: false });
    expect((await client.attach(slow.sandbox.namespace)).ok).toBe(true);
    const rssBefore = process.memoryUsage().rss;
    client.type('head -c 30000000 /dev/zero | base64\n');
    await eventually(() => Promise.resolve(client.bytes > HIGH_WATER ? true : undefined), 'output to reach the high-water mark');
    await new Promise((r) => setTimeout(r, 1500));
    const stalled = client.bytes;
    await new Promise((r) => setTimeout(r, 1500));
    // Paused: at most one more pty read after the pause took effect.
    expect(client.bytes - stalled).toBeLessThan(256 * 1024);
    expect(client.bytes).toBeLessThan(HIGH_WATER + 1024 * 1024);
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
    const reloaded = new TerminalClient(server.url, alice.cookie);
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
    const mine = (await (await fetch(`${server.url}/api/recordings`, { headers: { cookie: alice.cookie } })).json()) as { recordings: RecordingView[] };
    const recording = mine.recordings.find((r) => r.namespace === alice.sandbox.namespace);
    expect(recording).toBeDefined();
    const cast = await fetch(`${server.url}/api/recordings/${recording?.id ?? ''}/cast`, { headers: { cookie: alice.cookie } });
    expect(cast.status).toBe(200);
    const lines = (await cast.text()).trim().split('\n');
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ version: 2, width: 120, height: 32 });
    const events = lines.slice(1).map((l) => JSON.parse(l) as [number, string, string]);
    expect(events.some(([, type, data]) => type === 'o' && data.includes('recorded-line'))).toBe(true);
    expect(events.some(([, type]) => type === 'm')).toBe(true);
    expect(events.every(([t], i) => i === 0 || t >= (events[i - 1]?.[0] ?? 0))).toBe(true);
    const stolen = await fetch(`${server.url}/api/recordings/${recording?.id ?? ''}/cast`, { headers: { cookie: bob.cookie } });
    expect(stolen.status).toBe(404);
  });

  it('ends the shell when the sandbox is deleted', async () => {
    const gone = await learner('kubernetes-fundamentals');
    const term = await terminal(gone);
    await gone.send('DELETE', `/api/sandboxes/${gone.sandbox.namespace}`);
    await eventually(() => Promise.resolve(term.ended ? true : undefined), 'the terminal to end');
    expect(term.ended?.reason).toBe('sandbox-deleted');
    await eventually(
      () => fs.access(`/var/lib/kubedojo/jails/homes/${gone.sandbox.namespace}`).then(() => undefined, () => true),
      'the jail home to be removed',
    );
    term.close();
  });
});
