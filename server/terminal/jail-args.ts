import path from 'node:path';
import type { Limits } from './cgroup.ts';

/**
 * The jail's command line, built without I/O (so it is tested as it is): bubblewrap's
 * arguments as an array, never a shell string; the jail's own small bash script, which sets its
 * limits and opens the API server's port inside the jail; and the launcher that joins the
 * cgroup and hands bubblewrap its seccomp program on fd 3 (node-pty passes no extra fds).
 */

/** The host user the jail runs as: no files of the platform are readable to it. */
export const JAIL_UID = 65534;
export const JAIL_GID = 65534;
export const HOME = '/home/learner';

/** Limits of one jail: `fileBytes` is the largest file it may write (RLIMIT_FSIZE). */
export type JailLimits = Limits & { fileBytes: number };

export const DEFAULT_LIMITS: JailLimits = { pids: 256, memoryBytes: 768 * 1024 * 1024, cpus: 1, fileBytes: 512 * 1024 * 1024 };
/** The jail's /tmp is a tmpfs (memory): without a cgroup nothing else would bound it, and with one
 * it must stay well inside the jail's memory, or filling it would leave the shell nothing to run in. */
export const TMP_BYTES = 256 * 1024 * 1024;

export interface JailPaths {
  runtime: string;
  home: string;
  socketDir: string;
  kubeDir: string;
}

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

/**
 * The script the jail's bash runs: limits, then socat making the API server's port exist inside
 * the empty network namespace (waited for, so the first kubectl never races it), then the
 * command given as its arguments ("$@", never quoted into the script) or the learner's shell.
 */
export function jailScript(limits: JailLimits, apiPort: number, withCommand: boolean): string {
  return (
    rlimitScript(limits) +
    `socat TCP-LISTEN:${apiPort},bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:/run/kubedojo/api/api.sock 2>/dev/null & ` +
    `for i in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/${apiPort}) 2>/dev/null && break; sleep 0.01; done; ` +
    (withCommand ? 'exec "$@"' : 'exec bash --noprofile --rcfile /run/kubedojo/bashrc -i')
  );
}

export interface BwrapSpec {
  namespace: string;
  group: string;
  priorityClassPrefix: string;
  paths: JailPaths;
  /** The host's copy of kubectl the jail may read. */
  kubectl: string;
  /** How /bin, /lib … appear on this host (rootLinks()): symlinks into /usr, or directories. */
  rootLinks: readonly string[];
  limits: JailLimits;
  /** The API server's port on the host's loopback, made to exist on the jail's. */
  apiPort: number;
  /** What runs instead of the learner's interactive shell (a submitted program, a CLI command). */
  command?: readonly string[] | undefined;
}

/** bubblewrap's arguments (without the program itself); it reads the seccomp program from fd 3. */
export function bwrapArgs(spec: BwrapSpec): string[] {
  const { paths } = spec;
  const command = spec.command ?? [];
  return [
    '--unshare-all',
    // Explicit, for --disable-userns: no nested user namespace, where a shell would hold capabilities.
    '--unshare-user',
    '--disable-userns',
    '--die-with-parent',
    '--uid', '1000',
    '--gid', '1000',
    '--hostname', 'sandbox',
    '--ro-bind', '/usr', '/usr',
    ...spec.rootLinks,
    '--ro-bind', '/etc', '/etc',
    '--ro-bind', path.join(paths.runtime, 'etc', 'passwd'), '/etc/passwd',
    '--ro-bind', path.join(paths.runtime, 'etc', 'group'), '/etc/group',
    '--proc', '/proc',
    '--dev', '/dev',
    // --size applies to the tmpfs that follows it.
    '--size', String(Math.min(TMP_BYTES, Math.floor(spec.limits.memoryBytes / 2))),
    '--tmpfs', '/tmp',
    '--tmpfs', '/run',
    '--bind', paths.home, HOME,
    '--bind', paths.socketDir, '/run/kubedojo/api',
    '--ro-bind', paths.kubeDir, '/run/kubedojo/kube',
    '--ro-bind', path.join(paths.runtime, 'bashrc'), '/run/kubedojo/bashrc',
    '--ro-bind', spec.kubectl, '/opt/kubedojo/bin/kubectl',
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
    jailScript(spec.limits, spec.apiPort, command.length > 0),
    // bash's $0, then the command as "$@".
    'kubedojo-jail',
    ...command,
  ];
}

/**
 * A fixed script, never built from data: writes its own pid into each cgroup file it is given
 * (so everything it becomes is limited from the first instruction), then execs the rest of its
 * arguments with the seccomp program open on fd 3. Arguments: seccomp file, count of cgroup
 * files, the files, the command.
 */
const LAUNCHER = 'filter=$1; n=$2; shift 2; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit; shift; n=$((n - 1)); done; exec "$@" 3< "$filter"';

export interface LaunchSpec {
  /** bubblewrap's arguments (bwrapArgs). */
  bwrap: readonly string[];
  seccompFile: string;
  /** cgroup.procs files to join first (none where cgroups cannot be written). */
  cgroupProcs: readonly string[];
  /** As root: the unprivileged host user to become before bubblewrap runs. */
  dropTo?: { uid: number; gid: number } | undefined;
}

/** The program and arguments that start a jail (for node-pty or spawn). */
export function launchCommand(spec: LaunchSpec): { file: string; args: string[] } {
  const drop = spec.dropTo
    ? ['setpriv', `--reuid=${spec.dropTo.uid}`, `--regid=${spec.dropTo.gid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs']
    : [];
  return { file: '/bin/sh', args: ['-c', LAUNCHER, 'kubedojo-launch', spec.seccompFile, String(spec.cgroupProcs.length), ...spec.cgroupProcs, ...drop, 'bwrap', ...spec.bwrap] };
}
