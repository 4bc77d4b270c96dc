import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bwrapArgs, HOME, jailScript, launchCommand, type BwrapSpec, type JailLimits } from '../../server/terminal/jail-args.ts';

const MiB = 1024 * 1024;
const paths = { runtime: '/j/run/kd-ana', home: '/j/homes/kd-ana', socketDir: '/j/run/kd-ana/api', kubeDir: '/j/run/kd-ana/kube' };
const spec: BwrapSpec = {
  namespace: 'kd-ana',
  group: 'kd-ana.labs.kubedojo.dev',
  priorityClassPrefix: 'kd-ana-',
  paths,
  kubectl: '/j/bin/kubectl',
  rootLinks: ['--symlink', 'usr/bin', '/bin'],
  limits: { pids: 64, memoryBytes: 768 * MiB, cpus: 1, fileBytes: 512 * MiB },
  apiPort: 6443,
};

/** The values that follow each occurrence of a flag taking `arity` values. */
function values(args: readonly string[], flag: string, arity: number): string[][] {
  const found: string[][] = [];
  args.forEach((a, i) => {
    if (a === flag) found.push(args.slice(i + 1, i + 1 + arity));
  });
  return found;
}

/** bubblewrap's own options: everything before the "--" that ends them. */
const options = (args: string[]) => args.slice(0, args.indexOf('--'));

describe('bwrapArgs', () => {
  it('isolates: every namespace, no nested user namespace, no capabilities, seccomp from fd 3, a cleared environment', () => {
    const args = options(bwrapArgs(spec));
    for (const flag of ['--unshare-all', '--unshare-user', '--disable-userns', '--die-with-parent', '--clearenv']) expect(args).toContain(flag);
    expect(values(args, '--cap-drop', 1)).toEqual([['ALL']]);
    expect(values(args, '--seccomp', 1)).toEqual([['3']]);
    expect(values(args, '--uid', 1)).toEqual([['1000']]);
    // Nothing of the server's environment: every variable is set after --clearenv.
    expect(args.indexOf('--clearenv')).toBeLessThan(args.indexOf('--setenv'));
    expect(Object.fromEntries(values(args, '--setenv', 2))).toEqual({
      HOME,
      USER: 'learner',
      LOGNAME: 'learner',
      SHELL: '/bin/bash',
      TERM: 'xterm-256color',
      LANG: 'C.UTF-8',
      PATH: '/opt/kubedojo/bin:/usr/local/bin:/usr/bin:/bin',
      KUBECONFIG: '/run/kubedojo/kube/kubeconfig',
      NAMESPACE: 'kd-ana',
      GROUP: 'kd-ana.labs.kubedojo.dev',
      PRIORITY_CLASS_PREFIX: 'kd-ana-',
    });
  });

  it('binds the system read-only and only the home and the API socket writable', () => {
    const args = options(bwrapArgs(spec));
    expect(values(args, '--bind', 2)).toEqual([
      [paths.home, HOME],
      [paths.socketDir, '/run/kubedojo/api'],
    ]);
    expect(values(args, '--ro-bind', 2)).toEqual([
      ['/usr', '/usr'],
      ['/etc', '/etc'],
      ['/j/run/kd-ana/etc/passwd', '/etc/passwd'],
      ['/j/run/kd-ana/etc/group', '/etc/group'],
      [paths.kubeDir, '/run/kubedojo/kube'],
      ['/j/run/kd-ana/bashrc', '/run/kubedojo/bashrc'],
      ['/j/bin/kubectl', '/opt/kubedojo/bin/kubectl'],
    ]);
    expect(values(args, '--symlink', 2)).toEqual([['usr/bin', '/bin']]);
  });

  it("bounds /tmp by half the jail's memory, at most 256 MiB (--size applies to the tmpfs after it)", () => {
    const tmpSize = (memoryBytes: number) => {
      const args = bwrapArgs({ ...spec, limits: { ...spec.limits, memoryBytes } });
      const at = args.indexOf('--size');
      expect(args.slice(at + 2, at + 4)).toEqual(['--tmpfs', '/tmp']);
      return Number(args[at + 1]);
    };
    expect(tmpSize(768 * MiB)).toBe(256 * MiB);
    expect(tmpSize(200 * MiB)).toBe(100 * MiB);
  });

  it('runs the learner shell, or a command passed as arguments, never quoted into a script', () => {
    const shell = bwrapArgs(spec);
    expect(shell.slice(shell.indexOf('--'))).toEqual(['--', '/bin/bash', '-c', jailScript(spec.limits, 6443, false), 'kubedojo-jail']);
    expect(jailScript(spec.limits, 6443, false)).toMatch(/exec bash --noprofile --rcfile \/run\/kubedojo\/bashrc -i$/);
    const command = ['bash', '-c', `echo "it's" $HOME; rm -rf ~`];
    const run = bwrapArgs({ ...spec, command });
    expect(run.slice(run.indexOf('--'))).toEqual(['--', '/bin/bash', '-c', jailScript(spec.limits, 6443, true), 'kubedojo-jail', ...command]);
    expect(jailScript(spec.limits, 6443, true)).toMatch(/exec "\$@"$/);
  });
});

describe('the jail script and the launcher, run', () => {
  let dir: string;
  let api: net.Server;
  let apiPort: number;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-jail-args-'));
    // Stands for the API server's port, already listening: the script's wait ends at once.
    api = net.createServer((s) => s.destroy());
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    apiPort = (api.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((r) => api.close(r));
    await fs.rm(dir, { recursive: true, force: true });
  });

  function run(file: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; pid: number }> {
    return new Promise((resolve) => {
      const child = spawn(file, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('exit', (code) => {
        resolve({ code, out, pid: child.pid ?? 0 });
      });
    });
  }

  it('sets the limits on itself, then execs the command with its arguments intact', async () => {
    const hard = execFileSync('bash', ['-c', 'ulimit -Hu'], { encoding: 'utf8' }).trim();
    const limits: JailLimits = { pids: hard === 'unlimited' ? 100_000 : Number(hard), memoryBytes: 1024 * MiB, cpus: 1, fileBytes: 2 * MiB };
    const result = await run('/bin/bash', ['-c', jailScript(limits, apiPort, true), 'kubedojo-jail', 'bash', '-c', 'echo "$(ulimit -f) $(ulimit -d) $(ulimit -n) $(ulimit -c)"; printf "%s|" "$@"', 'x', 'a b', "it's", '$HOME']);
    expect(result.code).toBe(0);
    expect(result.out).toBe("2048 1048576 1024 0\na b|it's|$HOME|");
  });

  it('joins every cgroup file with its own pid, then execs bwrap with the seccomp program on fd 3', async () => {
    const bin = path.join(dir, 'bin');
    await fs.mkdir(bin, { recursive: true });
    // A stand-in bwrap: prints its arguments, one a line, and what fd 3 holds.
    await fs.writeFile(path.join(bin, 'bwrap'), '#!/bin/sh\nprintf "%s\\n" "$@"; cat <&3\n', { mode: 0o755 });
    const seccompFile = path.join(dir, 'seccomp.bpf');
    await fs.writeFile(seccompFile, 'BPF');
    const procs = [path.join(dir, 'pids.procs'), path.join(dir, 'memory procs')];
    const launch = launchCommand({ bwrap: ['--ro-bind', '/a b', "/it's"], seccompFile, cgroupProcs: procs });
    const result = await run(launch.file, launch.args, { PATH: `${bin}:${process.env.PATH ?? ''}` });
    expect(result.code).toBe(0);
    expect(result.out).toBe("--ro-bind\n/a b\n/it's\nBPF");
    for (const file of procs) expect((await fs.readFile(file, 'utf8')).trim()).toBe(String(result.pid));
  });

  it('never starts bwrap when a cgroup cannot be joined', async () => {
    const launch = launchCommand({ bwrap: [], seccompFile: '/dev/null', cgroupProcs: [path.join(dir, 'missing', 'cgroup.procs')] });
    const result = await run(launch.file, launch.args, { PATH: path.join(dir, 'bin') });
    expect(result.code).not.toBe(0);
    expect(result.out).toBe('');
  });

  it('as root, drops to the jail user with no capabilities before bwrap', () => {
    const { args } = launchCommand({ bwrap: ['--x'], seccompFile: '/s', cgroupProcs: [], dropTo: { uid: 65534, gid: 65534 } });
    expect(args.slice(args.indexOf('setpriv'))).toEqual(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', 'bwrap', '--x']);
  });
});
