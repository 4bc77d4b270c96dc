import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { apiServerOf, startApiProxy } from './api-proxy.ts';
import { createCgroup, type Cgroup } from './cgroup.ts';
import { ensureHome } from './home.ts';
import { bwrapArgs, DEFAULT_LIMITS, JAIL_GID, JAIL_UID, launchCommand, type JailLimits } from './jail-args.ts';
import { asRoot, copyKubeconfig, jailKubectl, jailPaths, rootLinks, writeRuntimeFiles } from './jail-files.ts';
import { seccompFilter } from './seccomp.ts';

export { DEFAULT_LIMITS, HOME, JAIL_GID, JAIL_UID, rlimitScript, type JailLimits, type JailPaths } from './jail-args.ts';
export { jailPaths, removeJailFiles, rootLinks } from './jail-files.ts';

/**
 * The embedded cluster's terminal: bash under bubblewrap, one jail per sandbox. Read-only system,
 * a private home that lives as long as the sandbox, a private /tmp of bounded size, its own PID,
 * IPC, UTS, user and network namespaces (and no further user namespaces inside), no
 * capabilities, an unprivileged host user, a deny-list seccomp program (seccomp.ts), cgroup
 * limits where cgroups can be written and rlimits always, and a network with only loopback,
 * where socat forwards the API server's port to a Unix socket that the platform connects to the
 * real API server (api-proxy.ts). The learner's kubeconfig inside holds only their token.
 * Its files are jail-files.ts; its command line, pure and tested, jail-args.ts.
 */

const run = promisify(execFile);

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

/** Prepares the home, runtime files, cgroup and API proxy of a sandbox's jail, and the command that enters it. */
export async function prepareJail(spec: JailSpec, command?: string[]): Promise<PreparedJail> {
  const paths = jailPaths(spec.jailDir, spec.namespace);
  await writeRuntimeFiles(spec.jailDir, paths, spec.namespace);
  await ensureHome(paths, spec.homeFiles ?? {});
  const refreshKubeconfig = () => copyKubeconfig(paths, spec.kubeconfig);
  await refreshKubeconfig();
  const apiServer = apiServerOf(await fs.readFile(spec.kubeconfig, 'utf8'));
  const proxy = await startApiProxy(path.join(paths.socketDir, 'api.sock'), apiServer);

  const limits = spec.limits ?? DEFAULT_LIMITS;
  const cgroup = await createCgroup(`sbx-${spec.namespace}-${Date.now().toString(36)}`, limits);
  const seccompFile = await seccompFilter(spec.jailDir);
  const kubectl = await jailKubectl(spec.jailDir, spec.kubectl);
  const bwrap = bwrapArgs({ namespace: spec.namespace, group: spec.group, priorityClassPrefix: spec.priorityClassPrefix, paths, kubectl, rootLinks: rootLinks(), limits, apiPort: apiServer.port, command });
  // As root, drop to the unprivileged jail user before bubblewrap; as anyone else, bubblewrap
  // runs as that user (which can read only what is bound into the jail).
  const launch = launchCommand({ bwrap, seccompFile, cgroupProcs: cgroup?.procsFiles ?? [], dropTo: asRoot() ? { uid: JAIL_UID, gid: JAIL_GID } : undefined });

  return {
    ...launch,
    cgroup,
    refreshKubeconfig,
    async close() {
      await cgroup?.kill();
      await cgroup?.remove();
      await proxy.close();
    },
  };
}
