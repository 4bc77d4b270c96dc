import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { SandboxView } from '../../server/protocol.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { cliPath, projectRoot } from '../helpers/cli.ts';
import { eventually } from '../helpers/cluster.ts';
import { browser } from '../helpers/http.ts';
import { TerminalClient } from '../helpers/terminal.ts';

/**
 * A hostile learner inside the jailed shell (issue 11), over the real socket.io transport on the
 * real cluster: no nested user namespaces, a deny-list seccomp profile, rlimits that hold with or
 * without cgroups, and output that stays bounded when nobody is watching.
 */

const exec = promisify(execFile);
const MiB = 1024 * 1024;
let server: TestServer;

async function open(url: string): Promise<{ term: TerminalClient; sandbox: SandboxView; cookie: string }> {
  const send = browser(() => url);
  const sandbox = (await send('POST', '/api/sandboxes', { lesson: 'kubernetes-fundamentals' })).json as SandboxView;
  const term = new TerminalClient(url, send.cookie());
  const reply = await term.attach(sandbox.namespace);
  if (!reply.ok) throw new Error(reply.error);
  await term.run('true', 60_000);
  return { term, sandbox, cookie: send.cookie() };
}

/** Processes of the jail user on this machine (every jail runs as uid 65534). */
async function jailProcesses(name?: string): Promise<number[]> {
  const { stdout } = await exec('ps', ['-u', '65534', '-o', 'pid=,comm=']).catch(() => ({ stdout: '' }));
  return stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([pid, comm]) => pid && (!name || comm === name))
    .map(([pid]) => Number(pid));
}

/** The jail user's processes by PID namespace (one per jail): the largest count. */
async function largestJail(): Promise<number> {
  const counts = new Map<string, number>();
  for (const pid of await jailProcesses()) {
    const ns = await fs.readlink(`/proc/${pid}/ns/pid`).catch(() => '');
    if (ns) counts.set(ns, (counts.get(ns) ?? 0) + 1);
  }
  return Math.max(0, ...counts.values());
}

async function cpuTicks(pid: number): Promise<number> {
  const fields = (await fs.readFile(`/proc/${pid}/stat`, 'utf8')).replace(/^.*\) /, '').split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}

beforeAll(async () => {
  server = await startTestServer({ kubeconfig: inject('kubeconfig'), terminalBackend: 'jail', terminalGrace: 60, recordingMax: '1', jailFileSize: '8', jailMemory: '512' });
});
afterAll(async () => {
  await server.close();
});

describe('inside the jail', () => {
  it('cannot make a user namespace (bwrap --disable-userns, and seccomp)', async () => {
    const { term } = await open(server.url);
    expect(await term.run('unshare -U true 2>&1; unshare -r id 2>&1')).toMatch(/unshare failed: Operation not permitted[\s\S]*unshare failed: Operation not permitted/);
    expect(await term.run(`python3 -c "import ctypes; print('clone', ctypes.CDLL(None, use_errno=True).unshare(0x10000000), ctypes.get_errno())"`)).toContain('clone -1 1');
    term.socket.emit('close');
    term.close();
  });

  it('refuses the system calls of the deny list with EPERM, and the tools still work', async () => {
    const { term } = await open(server.url);
    const script = [
      'import ctypes, platform, threading, subprocess',
      "nr = {'x86_64': dict(bpf=321, perf_event_open=298, keyctl=250, add_key=248, io_uring_setup=425, ptrace=101, setns=308, userfaultfd=323, mount=165, kexec_load=246, init_module=175, process_vm_readv=310),",
      "      'aarch64': dict(bpf=280, perf_event_open=241, keyctl=219, add_key=217, io_uring_setup=425, ptrace=117, setns=268, userfaultfd=282, mount=40, kexec_load=104, init_module=105, process_vm_readv=270)}[platform.machine()]",
      'libc = ctypes.CDLL(None, use_errno=True)',
      "for name, n in sorted(nr.items()): print('denied' if libc.syscall(n, 0, 0, 0, 0, 0) == -1 and ctypes.get_errno() == 1 else 'ALLOWED', name)",
      "t = threading.Thread(target=lambda: print('thread ok')); t.start(); t.join()",
      "print(subprocess.run(['echo', 'subprocess ok'], capture_output=True, text=True).stdout.strip())",
    ].join('\n');
    await term.run(`echo ${Buffer.from(script).toString('base64')} | base64 -d > /tmp/probe.py`);
    const out = await term.run('python3 /tmp/probe.py 2>&1');
    expect(out).not.toContain('ALLOWED');
    expect(out.match(/^denied /gm)).toHaveLength(12);
    expect(out).toContain('thread ok');
    expect(out).toContain('subprocess ok');
    expect(await term.run('kubectl auth can-i create pods')).toMatch(/\byes\b/);
    term.socket.emit('close');
    term.close();
  });

  it('holds rlimits the learner cannot raise (processes, data memory, file size) and a bounded /tmp', async () => {
    const { term } = await open(server.url);
    expect(await term.run('echo "u=$(ulimit -u) d=$(ulimit -d) f=$(ulimit -f)"')).toContain(`u=256 d=${512 * 1024} f=${8 * 1024}`);
    expect(await term.run('ulimit -u 100000 2>&1; ulimit -f unlimited 2>&1')).toMatch(/cannot modify limit: Operation not permitted[\s\S]*cannot modify limit: Operation not permitted/);
    expect(await term.run('head -c 16M /dev/zero > ~/big 2>&1; echo rc=$?; stat -c %s ~/big; rm -f ~/big')).toMatch(new RegExp(`rc=153[\\s\\S]*\\b${8 * MiB}\\b`));
    expect(await term.run(`python3 -c "bytearray(600 * 1024 * 1024)" 2>&1 | tail -1`)).toContain('MemoryError');
    // /tmp is memory (tmpfs): bounded at 256 MiB whatever the file size limit.
    const tmp = await term.run('for i in $(seq 45); do head -c 7M /dev/zero > /tmp/f$i 2>/dev/null || { echo "full at $i"; break; }; done; du -sm /tmp | cut -f1; rm -f /tmp/f*');
    expect(tmp).toMatch(/full at 3[67]/);
    expect(Number(/^(\d+)\s*$/m.exec(tmp)?.[1])).toBeLessThanOrEqual(256);
    term.socket.emit('close');
    term.close();
  });
});

describe('output nobody is watching', () => {
  it('pauses `yes` after the tab closes, caps the recording with a note, and resumes on reattach', async () => {
    const { term, sandbox, cookie } = await open(server.url);
    term.type('yes\n');
    await eventually(() => Promise.resolve(term.bytes > 2 * MiB ? true : undefined), 'yes to print');
    // Closing the tab: the socket drops, the shell stays for the grace period.
    term.close();
    const [pid] = await eventually(async () => {
      const pids = await jailProcesses('yes');
      return pids.length === 1 ? pids : undefined;
    }, 'the yes process');
    if (pid === undefined) throw new Error('no yes');
    await new Promise((r) => setTimeout(r, 1500));
    const before = await cpuTicks(pid);
    await new Promise((r) => setTimeout(r, 2000));
    // Paused: blocked writing to the pty, it uses no CPU.
    expect((await cpuTicks(pid)) - before).toBeLessThanOrEqual(2);
    const dir = path.join(server.dataDir, 'recordings', sandbox.namespace);
    const [file] = await fs.readdir(dir);
    const cast = await fs.readFile(path.join(dir, file ?? ''), 'utf8');
    expect(cast.length).toBeLessThanOrEqual(1 * MiB);
    expect(cast.trim().split('\n').at(-1)).toContain("recording stopped: this sandbox's recordings reached their cap of 1 MiB");
    // Reattaching resumes the same shell.
    const again = new TerminalClient(server.url, cookie);
    expect((await again.attach(sandbox.namespace)).ok).toBe(true);
    again.type('\x03');
    expect(await again.run('echo back at the prompt')).toContain('back at the prompt');
    again.socket.emit('close');
    again.close();
  });
});

describe('a server that cannot write cgroups', () => {
  let child: ChildProcess | undefined;
  const log: string[] = [];
  afterAll(async () => {
    child?.kill('SIGTERM');
    if (child && child.exitCode === null) await new Promise((r) => child?.once('exit', r));
  });

  it('says once at start what it cannot enforce, and a fork bomb still stops at the process limit', async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-nocg-'));
    // A private mount namespace where /sys/fs/cgroup is an empty read-only tmpfs: no cgroups here.
    const serve = `mount -t tmpfs -o ro,size=4k tmpfs /sys/fs/cgroup && exec "${process.execPath}" "${cliPath}" serve --port 0 --log-format json --kubeconfig "${inject('kubeconfig')}" --data-dir "${dataDir}" --terminal-backend jail --reap-interval 0 --jail-pids 64`;
    child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', serve], { cwd: projectRoot, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, KUBECONFIG: '' } });
    const stderr = child.stderr;
    if (!stderr) throw new Error('no stderr');
    const url = await new Promise<string>((resolve, reject) => {
      readline.createInterface({ input: stderr }).on('line', (line) => {
        log.push(line);
        const match = /kubedojo is serving on (http:\/\/\S+?)"/.exec(line);
        if (match?.[1]) resolve(match[1]);
      });
      child?.once('exit', (code) => {
        reject(new Error(`serve exited ${code}: ${log.join('\n')}`));
      });
    });
    const warnings = log.filter((l) => l.includes('jailed shells run without cgroups'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('rlimits enforce at most 64 processes per jail');
    expect(warnings[0]).toContain("not enforced: a jail's total memory and its CPU share");

    const { term } = await open(url);
    expect(await term.run('echo "u=$(ulimit -u)"')).toContain('u=64');
    term.type('bomb() { bomb | bomb & }; bomb 2>/dev/null\n');
    await new Promise((r) => setTimeout(r, 3000));
    // This jail's processes stop at its limit (plus bwrap's own), counted on the host by PID namespace.
    const held = await largestJail();
    expect(held).toBeGreaterThan(32);
    expect(held).toBeLessThanOrEqual(64 + 2);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    term.socket.emit('close');
    await eventually(async () => ((await largestJail()) < 8 ? true : undefined), 'the jail and its fork bomb to be gone', 30_000);
    term.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  });
});
