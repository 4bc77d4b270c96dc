import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ClusterStatus } from '../../server/cluster/local.ts';
import { runCliOk } from '../helpers/cli.ts';
import { eventually } from '../helpers/cluster.ts';
import { terminalEnv, type Learner, type TerminalEnv } from '../helpers/terminal-env.ts';
import type { TerminalClient } from '../helpers/terminal.ts';

/**
 * Escape attempts from inside a learner's terminal, for each backend: every one must fail, and
 * the host must stay responsive. The jail is a bubblewrap sandbox on this machine; the toolbox
 * is a Pod on the real node, behind its namespace, cgroups and firewall.
 */

const exec = promisify(execFile);

let status: ClusterStatus;

beforeAll(async () => {
  status = JSON.parse((await runCliOk(['cluster', 'status', '--json', '--data-dir', inject('clusterDataDir')])).stdout) as ClusterStatus;
});

async function pair(env: TerminalEnv): Promise<[Learner, Learner, TerminalClient]> {
  const [a, b] = await Promise.all([env.learner(), env.learner()]);
  return [a, b, await env.terminal(a)];
}

const targetsOf = (paths: string[]) => paths.map((t) => `cat ${t} >/dev/null 2>&1 && echo "READ ${t}" || echo "denied ${t}"`).join('; ');

describe('the jail', () => {
  let env: TerminalEnv;
  let bob: Learner;
  let term: TerminalClient;

  beforeAll(async () => {
    env = await terminalEnv(inject('kubeconfig'), 'jail');
    [, bob, term] = await pair(env);
  }, 300_000);
  afterAll(async () => {
    term.close();
    await env.server.close();
  });

  it('cannot reach etcd, kwok, the controllers, the platform or any local port but the API server', async () => {
    const ports = status.components.map((c) => c.port ?? 0).filter((p) => p > 0 && p < 65536);
    const apiPort = status.components.find((c) => c.id === 'kube-apiserver')?.port ?? 0;
    const platformPort = Number(new URL(env.server.url).port);
    const probes = [...new Set([...ports.filter((p) => p !== apiPort), platformPort, 22, 80, 8080])];
    const out = await term.run(probes.map((p) => `(exec 3<>/dev/tcp/127.0.0.1/${p}) 2>/dev/null && echo "open ${p}" || echo "closed ${p}"`).join('; '));
    for (const p of probes) expect(out, `port ${p}`).toContain(`closed ${p}`);
    expect(await term.run(`(exec 3<>/dev/tcp/127.0.0.1/${apiPort}) && echo "api reachable"`)).toContain('api reachable');
    expect(await term.run('cat /proc/net/route | wc -l; ls /sys/class/net')).toMatch(/^\s*1\s*$|lo/m);
  });

  it("cannot read the platform's data, database, admin kubeconfig or another learner's home", async () => {
    const targets = [
      env.server.dataDir,
      path.join(env.server.dataDir, 'kubedojo.db'),
      path.join(inject('clusterDataDir'), 'cluster', 'admin.kubeconfig'),
      path.join(inject('clusterDataDir'), 'cluster', 'pki', 'ca.key'),
      `/var/lib/kubedojo/jails/homes/${bob.sandbox.namespace}`,
      '/root',
      '/etc/shadow',
    ];
    const out = await term.run(targetsOf(targets));
    for (const t of targets) expect(out, t).toContain(`denied ${t}`);
    expect(await term.run('grep -E "^(CapEff|NoNewPrivs)" /proc/self/status')).toMatch(/CapEff:\s+0+\s[\s\S]*NoNewPrivs:\s+1/);
    expect(await term.run('touch /usr/bin/x 2>&1; touch /etc/x 2>&1')).toMatch(/Read-only file system[\s\S]*Read-only file system/);
  });

  it("cannot see other learners' or the host's processes", async () => {
    const bobTerm = await env.terminal(bob);
    await bobTerm.run('sleep 4711 & disown');
    const seen = await term.run('ps -eo pid,comm,args --no-headers');
    expect(seen).not.toContain('sleep 4711');
    expect(seen).not.toMatch(/kube-apiserver|etcd|node /);
    expect(seen.split('\n').filter((l) => l.trim()).length).toBeLessThan(10);
    bobTerm.close();
  });

  it('refuses TIOCSTI keystroke injection', async () => {
    const out = await term.run(`python3 -c "import fcntl, termios; fcntl.ioctl(0, termios.TIOCSTI, b'x')" 2>&1 | tail -1`);
    expect(out).toContain('Operation not permitted');
  });

  it('contains a fork bomb, and the host stays responsive', async () => {
    const bomber = await env.learner('kubernetes-fundamentals');
    const bomb = await env.terminal(bomber);
    bomb.type('bomb() { bomb | bomb & }; bomb 2>/dev/null\n');
    await new Promise((r) => setTimeout(r, 3000));
    const started = performance.now();
    expect((await fetch(`${env.server.url}/healthz`)).status).toBe(200);
    expect(performance.now() - started).toBeLessThan(1000);
    const echoStarted = performance.now();
    await term.run('echo still here');
    expect(performance.now() - echoStarted).toBeLessThan(3000);
    // Closing the terminal kills every process of that jail.
    const { stdout: groups } = await exec('sh', ['-c', 'ls /sys/fs/cgroup/pids/kubedojo/ 2>/dev/null || ls /sys/fs/cgroup/kubedojo/ 2>/dev/null']);
    const group = groups.split('\n').find((g) => g.includes(bomber.sandbox.namespace)) ?? '';
    expect(group).not.toBe('');
    const procs = async () =>
      (await fs.readFile(`/sys/fs/cgroup/pids/kubedojo/${group}/cgroup.procs`, 'utf8').catch(async () => fs.readFile(`/sys/fs/cgroup/kubedojo/${group}/cgroup.procs`, 'utf8').catch(() => '')))
        .split('\n')
        .filter(Boolean).length;
    const during = await procs();
    expect(during).toBeGreaterThan(10);
    expect(during).toBeLessThanOrEqual(256);
    bomb.socket.emit('close');
    await eventually(async () => ((await procs()) === 0 ? true : undefined), 'every process of the jail to be killed');
    bomb.close();
  });

  it('forgets the jail home when the sandbox is deleted', async () => {
    const gone = await env.learner('kubernetes-fundamentals');
    const t = await env.terminal(gone);
    await gone.send('DELETE', `/api/sandboxes/${gone.sandbox.namespace}`);
    await eventually(() => fs.access(`/var/lib/kubedojo/jails/homes/${gone.sandbox.namespace}`).then(() => undefined, () => true), 'the jail home to be removed');
    t.close();
  });
});

describe('the toolbox Pod', () => {
  let env: TerminalEnv;
  let bob: Learner;
  let term: TerminalClient;

  beforeAll(async () => {
    env = await terminalEnv(inject('kubeconfig'), 'pod');
    [, bob, term] = await pair(env);
  }, 300_000);
  afterAll(async () => {
    term.close();
    await env.server.close();
  });

  it("cannot reach the host's services, the node's kubelet, etcd or the platform; the API only through its Service", async () => {
    const nodeIp = status.realNode?.address ?? '';
    const hostIp = nodeIp.replace(/\.2$/, '.1');
    const listener = net.createServer((s) => s.end('host secret\n')).listen(0, '0.0.0.0');
    await new Promise((r) => listener.once('listening', r));
    const port = (listener.address() as net.AddressInfo).port;
    try {
      const platformPort = Number(new URL(env.server.url).port);
      const etcd = status.components.find((c) => c.id === 'etcd')?.port ?? 0;
      const apiPort = status.components.find((c) => c.id === 'kube-apiserver')?.port ?? 0;
      const probes = [`${hostIp}/${port}`, `${hostIp}/${platformPort}`, `${hostIp}/${etcd}`, `${hostIp}/${apiPort}`, `${nodeIp}/10250`, `${nodeIp}/10248`, `127.0.0.1/${etcd}`, `127.0.0.1/${apiPort}`];
      const out = await term.run(probes.map((p) => `(timeout 3 bash -c 'exec 3<>/dev/tcp/${p}') 2>/dev/null && echo "open ${p}" || echo "closed ${p}"`).join('; '), 60_000);
      for (const p of probes) expect(out, p).toContain(`closed ${p}`);
      expect(await term.run('kubectl version -o json >/dev/null && echo "api reachable"')).toContain('api reachable');
    } finally {
      listener.close();
    }
  });

  it('runs unprivileged, as the learner, with nothing of the platform inside', async () => {
    const targets = [path.join(inject('clusterDataDir'), 'cluster', 'pki', 'ca.key'), env.server.dataDir, '/etc/shadow', '/root'];
    const out = await term.run(targetsOf(targets));
    for (const t of targets) expect(out, t).toContain(`denied ${t}`);
    expect(await term.run('id -u; grep --color=never -E "^(CapEff|NoNewPrivs)" /proc/self/status')).toMatch(/^\s*1000\s*$[\s\S]*CapEff:\s+0+\s[\s\S]*NoNewPrivs:\s+1/m);
    expect(await term.run('touch /usr/bin/x 2>&1; touch /etc/x 2>&1')).toMatch(/Permission denied[\s\S]*Permission denied/);
    expect(await term.run('ps -eo comm --no-headers | sort -u | tr "\\n" " "')).not.toMatch(/kube-apiserver|etcd|kubelet|containerd/);
  });

  it("cannot see or touch another learner's toolbox", async () => {
    expect(await term.run(`kubectl exec -n ${bob.sandbox.namespace} kubedojo-toolbox -- id 2>&1 | tail -1`)).toMatch(/Forbidden|forbidden/);
  });

  it('contains a fork bomb within its Pod, and closing the terminal ends every process the learner started', async () => {
    const bomber = await env.learner('kubernetes-fundamentals');
    const bomb = await env.terminal(bomber);
    bomb.type('bomb() { bomb | bomb & }; bomb 2>/dev/null\n');
    await new Promise((r) => setTimeout(r, 5000));
    const started = performance.now();
    expect((await fetch(`${env.server.url}/healthz`)).status).toBe(200);
    expect(performance.now() - started).toBeLessThan(1000);
    // Another learner's toolbox still answers: the bomb is held to its own Pod's process limit.
    expect(await term.run('echo still here', 20_000)).toContain('still here');
    bomb.socket.emit('close');
    await eventually(() => Promise.resolve(bomb.ended ? true : undefined), 'the session to end', 60_000);
    bomb.close();
    // The learner's next terminal works, and nothing of the bomb is left in it.
    const after = await env.terminal(bomber);
    const processes = await after.run('ps -e --no-headers | wc -l', 60_000);
    expect(Number(/(\d+)\s*$/.exec(processes.trim())?.[1] ?? 'NaN')).toBeLessThan(8);
    after.close();
  });
});
