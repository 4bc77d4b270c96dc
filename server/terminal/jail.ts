import { execFile } from 'node:child_process';
import { lstatSync, readlinkSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { sandboxesDir } from '../cluster/paths.ts';
import { createCgroup, type Cgroup, type Limits } from './cgroup.ts';
import { startApiProxy } from './api-proxy.ts';
import { ensureHome } from './home.ts';
import { PROMPT_MARK } from './runner.ts';

/**
 * The embedded cluster's terminal: bash under bubblewrap, one jail per sandbox. Read-only system,
 * a private home that lives as long as the sandbox, a private /tmp of bounded size, its own PID,
 * IPC, UTS, user and network namespaces (and no further user namespaces inside), no
 * capabilities, an unprivileged host user, a deny-list seccomp program (sandboxes/terminal/),
 * cgroup limits where cgroups can be written and rlimits always, and a network with only
 * loopback, where socat forwards the API server's port to a Unix socket that the platform
 * connects to the real API server. The learner's kubeconfig inside holds only their token.
 */

const run = promisify(execFile);

/** The host user the jail runs as: no files of the platform are readable to it. */
export const JAIL_UID = 65534;
export const JAIL_GID = 65534;
export const HOME = '/home/learner';

/** Limits of one jail: `fileBytes` is the largest file it may write (RLIMIT_FSIZE). */
export type JailLimits = Limits & { fileBytes: number };

export const DEFAULT_LIMITS: JailLimits = { pids: 256, memoryBytes: 768 * 1024 * 1024, cpus: 1, fileBytes: 512 * 1024 * 1024 };
/** The jail's /tmp is a tmpfs (memory): without a cgroup nothing else would bound it, and with one
 * it must stay well inside the jail's memory, or filling it would leave the shell nothing to run in. */
const TMP_BYTES = 256 * 1024 * 1024;

/**
 * The rlimits the jail's own shell sets on itself before anything else runs (it cannot raise
 * them again). Set inside the jail's user namespace, RLIMIT_NPROC counts that jail's processes
 * alone (Linux ≥ 5.14 counts per user namespace). RLIMIT_DATA, not RLIMIT_AS: Go programs such
 * as kubectl reserve far more address space than they use, and DATA counts what is writable.
 */
export function rlimitScript(limits: JailLimits): string {
  const kib = (bytes: number) => Math.max(1, Math.floor(bytes / 1024));
  return (
    `ulimit -u ${limits.pids} && ulimit -d ${kib(limits.memoryBytes)} && ulimit -f ${kib(limits.fileBytes)} && ulimit -n 1024 && ulimit -c 0 ` +
    `|| { echo "kubedojo: the terminal's limits could not be set, so it does not start" >&2; exit 111; }; `
  );
}

export interface JailPaths {
  runtime: string;
  home: string;
  socketDir: string;
  kubeDir: string;
}

export function jailPaths(jailDir: string, namespace: string): JailPaths {
  const runtime = path.join(jailDir, 'run', namespace);
  return { runtime, home: path.join(jailDir, 'homes', namespace), socketDir: path.join(runtime, 'api'), kubeDir: path.join(runtime, 'kube') };
}

export interface JailSpec {
  namespace: string;
  group: string;
  priorityClassPrefix: string;
  jailDir: string;
  /** The learner's kubeconfig on the host (its server is https://127.0.0.1:PORT). */
  kubeconfig: string;
  kubectl: string;
  /** Files placed in a new home (lab starter files): path relative to the home → content. */
  homeFiles?: Record<string, string>;
  limits?: JailLimits;
}

export interface PreparedJail {
  /** The program node-pty (or a CLI) runs: a root shell that joins the cgroup, then drops to the jail. */
  file: string;
  args: string[];
  cgroup: Cgroup | undefined;
  /** Rewrites the jail's copy of the kubeconfig (after the sandbox is extended). */
  refreshKubeconfig(): Promise<void>;
  close(): Promise<void>;
}

export interface JailRequirement {
  ok: boolean;
  missing: string[];
}

/** Which of the jail's tools this machine lacks. */
export async function checkJailTools(): Promise<JailRequirement> {
  const missing: string[] = [];
  for (const [tool, pkg] of [
    ['bwrap', 'bubblewrap'],
    ['socat', 'socat'],
    ['setpriv', 'util-linux'],
  ] as const) {
    try {
      await run('sh', ['-c', `command -v ${tool}`]);
    } catch {
      missing.push(pkg);
    }
  }
  try {
    await run('/usr/bin/python3', ['-c', 'import seccomp']);
  } catch {
    missing.push('python3-seccomp');
  }
  return { ok: missing.length === 0, missing };
}

let filterFile: Promise<string> | undefined;

/** The seccomp program, generated once per process by libseccomp (see sandboxes/terminal/). */
function seccompFilter(jailDir: string): Promise<string> {
  filterFile ??= (async () => {
    const file = path.join(jailDir, 'seccomp.bpf');
    await fs.mkdir(path.dirname(file), { recursive: true });
    await run('/usr/bin/python3', [path.join(sandboxesDir, 'terminal', 'seccomp-filter.py'), file]);
    return file;
  })();
  return filterFile;
}

export function rootLinks(): string[] {
  // Merged-/usr systems link /bin, /lib … into /usr; others have real directories.
  const args: string[] = [];
  for (const name of ['bin', 'sbin', 'lib', 'lib64', 'lib32']) {
    const where = `/${name}`;
    try {
      const stat = lstatSync(where);
      if (stat.isSymbolicLink()) args.push('--symlink', readlinkSync(where), where);
      else if (stat.isDirectory()) args.push('--ro-bind', where, where);
    } catch {
      // not on this system
    }
  }
  return args;
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

const bashrc = (namespace: string) => `# kubedojo: the learner's shell
[ -f /etc/bash.bashrc ] && . /etc/bash.bashrc
export PS1='\\[\\e[1;34m\\]${namespace.slice(0, 40)}\\[\\e[0m\\] \\w \\$ '
# Marks each prompt with the last exit status (OSC 133), for "Run in my terminal".
PROMPT_COMMAND=${shellQuote(PROMPT_MARK)}
alias k=kubectl
source <(kubectl completion bash 2>/dev/null)
complete -o default -F __start_kubectl k
cd ~
`;

function serverOf(kubeconfigText: string): { host: string; port: number } {
  const match = /server:\s*(https?:\/\/[^\s]+)/.exec(kubeconfigText);
  if (!match?.[1]) throw new Error('the learner kubeconfig names no server');
  const url = new URL(match[1]);
  if (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost') {
    throw new Error(`the jailed terminal needs the embedded cluster's local API server, not ${url.hostname}`);
  }
  return { host: '127.0.0.1', port: Number(url.port || 443) };
}

/** Prepares the home, runtime files, cgroup and API proxy of a sandbox's jail. */
const asRoot = () => process.getuid?.() === 0;

/** The jail reads kubectl from a place its unprivileged user can reach (not root's cache). */
async function jailKubectl(jailDir: string, kubectl: string): Promise<string> {
  const target = path.join(jailDir, 'bin', 'kubectl');
  const [source, copy] = await Promise.all([fs.stat(kubectl), fs.stat(target).catch(() => undefined)]);
  if (!copy || copy.size !== source.size || copy.mtimeMs < source.mtimeMs) {
    await fs.mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
    const tmp = `${target}.tmp-${process.pid}`;
    await fs.copyFile(kubectl, tmp);
    await fs.chmod(tmp, 0o755);
    await fs.rename(tmp, target);
  }
  return target;
}

export async function prepareJail(spec: JailSpec, command?: string[]): Promise<PreparedJail> {
  await fs.mkdir(spec.jailDir, { recursive: true, mode: 0o755 });
  await fs.chmod(spec.jailDir, 0o755);
  for (const sub of ['run', 'homes']) await fs.mkdir(path.join(spec.jailDir, sub), { recursive: true, mode: 0o711 });
  const uid = asRoot() ? JAIL_UID : (process.getuid?.() ?? JAIL_UID);
  const gid = asRoot() ? JAIL_GID : (process.getgid?.() ?? JAIL_GID);
  const paths = jailPaths(spec.jailDir, spec.namespace);
  await fs.mkdir(path.join(paths.runtime, 'etc'), { recursive: true, mode: 0o755 });
  await fs.mkdir(paths.socketDir, { recursive: true, mode: 0o755 });
  await fs.mkdir(paths.kubeDir, { recursive: true, mode: 0o700 });
  await fs.chown(paths.kubeDir, uid, gid);
  await fs.chown(paths.socketDir, uid, gid);

  await ensureHome(paths, spec.homeFiles ?? {});

  await fs.writeFile(
    path.join(paths.runtime, 'etc', 'passwd'),
    `root:x:0:0:root:/root:/usr/sbin/nologin\nlearner:x:1000:1000:kubedojo learner:${HOME}:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`,
  );
  await fs.writeFile(path.join(paths.runtime, 'etc', 'group'), 'root:x:0:\nlearner:x:1000:\nnogroup:x:65534:\n');
  await fs.writeFile(path.join(paths.runtime, 'bashrc'), bashrc(spec.namespace));

  const kubeconfigCopy = path.join(paths.kubeDir, 'kubeconfig');
  const refreshKubeconfig = async () => {
    const text = await fs.readFile(spec.kubeconfig, 'utf8');
    const tmp = `${kubeconfigCopy}.tmp`;
    await fs.writeFile(tmp, text, { mode: 0o600 });
    await fs.chown(tmp, uid, gid);
    await fs.rename(tmp, kubeconfigCopy);
  };
  await refreshKubeconfig();
  const apiServer = serverOf(await fs.readFile(spec.kubeconfig, 'utf8'));
  const proxy = await startApiProxy(path.join(paths.socketDir, 'api.sock'), apiServer);

  const limits = spec.limits ?? DEFAULT_LIMITS;
  const cgroup = await createCgroup(`sbx-${spec.namespace}-${Date.now().toString(36)}`, limits);
  const filter = await seccompFilter(spec.jailDir);
  const kubectl = await jailKubectl(spec.jailDir, spec.kubectl);

  const bwrap = [
    'bwrap',
    '--unshare-all',
    // Explicit, for --disable-userns: no nested user namespace, where a shell would hold capabilities.
    '--unshare-user',
    '--disable-userns',
    '--die-with-parent',
    '--uid', '1000',
    '--gid', '1000',
    '--hostname', 'sandbox',
    '--ro-bind', '/usr', '/usr',
    ...rootLinks(),
    '--ro-bind', '/etc', '/etc',
    '--ro-bind', path.join(paths.runtime, 'etc', 'passwd'), '/etc/passwd',
    '--ro-bind', path.join(paths.runtime, 'etc', 'group'), '/etc/group',
    '--proc', '/proc',
    '--dev', '/dev',
    '--size', String(Math.min(TMP_BYTES, Math.floor(limits.memoryBytes / 2))),
    '--tmpfs', '/tmp',
    '--tmpfs', '/run',
    '--bind', paths.home, HOME,
    '--bind', paths.socketDir, '/run/kubedojo/api',
    '--ro-bind', paths.kubeDir, '/run/kubedojo/kube',
    '--ro-bind', path.join(paths.runtime, 'bashrc'), '/run/kubedojo/bashrc',
    '--ro-bind', kubectl, '/opt/kubedojo/bin/kubectl',
    '--clearenv',
    '--setenv', 'HOME', HOME,
    '--setenv', 'USER', 'learner',
    '--setenv', 'LOGNAME', 'learner',
    '--setenv', 'SHELL', '/bin/bash',
    '--setenv', 'TERM', 'xterm-256color',
    '--setenv', 'LANG', 'C.UTF-8',
    '--setenv', 'PATH', '/opt/kubedojo/bin:/usr/local/bin:/usr/bin:/bin',
    '--setenv', 'KUBECONFIG', '/run/kubedojo/kube/kubeconfig',
    '--setenv', 'NAMESPACE', spec.namespace,
    '--setenv', 'GROUP', spec.group,
    '--setenv', 'PRIORITY_CLASS_PREFIX', spec.priorityClassPrefix,
    '--chdir', HOME,
    '--cap-drop', 'ALL',
    '--seccomp', '3',
    '--',
    '/bin/bash',
    '-c',
    rlimitScript(limits) +
    // socat makes the API server's port exist inside the empty network namespace.
    `socat TCP-LISTEN:${apiServer.port},bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:/run/kubedojo/api/api.sock 2>/dev/null & ` +
      // Wait until it listens, so the first kubectl never races it.
      `for i in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/${apiServer.port}) 2>/dev/null && break; sleep 0.01; done; ` +
      (command && command.length > 0 ? `exec ${command.map(shellQuote).join(' ')}` : 'exec bash --noprofile --rcfile /run/kubedojo/bashrc -i'),
  ];
  const join = (cgroup?.procsFiles ?? []).map((f) => `echo $$ > ${shellQuote(f)} && `).join('');
  // As root, drop to the unprivileged jail user before bubblewrap; as anyone else, bubblewrap
  // runs as that user (which can read only what is bound into the jail).
  const drop = asRoot() ? `setpriv --reuid=${JAIL_UID} --regid=${JAIL_GID} --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs ` : '';
  const script = `${join}exec ${drop}${bwrap.map(shellQuote).join(' ')} 3< ${shellQuote(filter)}`;

  return {
    file: '/bin/sh',
    args: ['-c', script],
    cgroup,
    refreshKubeconfig,
    async close() {
      await cgroup?.kill();
      await cgroup?.remove();
      await proxy.close();
    },
  };
}

/** Removes a sandbox's home and runtime files (when the sandbox is deleted). */
export async function removeJailFiles(jailDir: string, namespace: string): Promise<void> {
  const paths = jailPaths(jailDir, namespace);
  await fs.rm(paths.runtime, { recursive: true, force: true });
  await fs.rm(paths.home, { recursive: true, force: true });
}
