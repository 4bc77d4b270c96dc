import { lstatSync, readlinkSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { HOME, JAIL_GID, JAIL_UID, type JailPaths } from './jail-args.ts';
import { PROMPT_MARK } from './runner.ts';

/**
 * A jail's files on the host: its runtime directory (passwd and group, the shell's rc file, the
 * copy of the learner's kubeconfig the jail may read, the API socket's directory), its home, and
 * the copy of kubectl its unprivileged user can reach.
 */

export function jailPaths(jailDir: string, namespace: string): JailPaths {
  const runtime = path.join(jailDir, 'run', namespace);
  return { runtime, home: path.join(jailDir, 'homes', namespace), socketDir: path.join(runtime, 'api'), kubeDir: path.join(runtime, 'kube') };
}

export const asRoot = (): boolean => process.getuid?.() === 0;

/** Who the jail's files belong to: the jail user as root, else the server's own user (bubblewrap runs as it). */
export function jailOwner(): { uid: number; gid: number } {
  return asRoot() ? { uid: JAIL_UID, gid: JAIL_GID } : { uid: process.getuid?.() ?? JAIL_UID, gid: process.getgid?.() ?? JAIL_GID };
}

/** How /bin, /lib … appear in the jail: merged-/usr systems link them into /usr; others have real directories. */
export function rootLinks(): string[] {
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

export function shellQuote(value: string): string {
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

/** Makes the runtime directories and writes passwd, group and the shell's rc file. */
export async function writeRuntimeFiles(jailDir: string, paths: JailPaths, namespace: string): Promise<void> {
  const { uid, gid } = jailOwner();
  await fs.mkdir(jailDir, { recursive: true, mode: 0o755 });
  await fs.chmod(jailDir, 0o755);
  for (const sub of ['run', 'homes']) await fs.mkdir(path.join(jailDir, sub), { recursive: true, mode: 0o711 });
  await fs.mkdir(path.join(paths.runtime, 'etc'), { recursive: true, mode: 0o755 });
  await fs.mkdir(paths.socketDir, { recursive: true, mode: 0o755 });
  await fs.mkdir(paths.kubeDir, { recursive: true, mode: 0o700 });
  await fs.chown(paths.kubeDir, uid, gid);
  await fs.chown(paths.socketDir, uid, gid);
  await fs.writeFile(
    path.join(paths.runtime, 'etc', 'passwd'),
    `root:x:0:0:root:/root:/usr/sbin/nologin\nlearner:x:1000:1000:kubedojo learner:${HOME}:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`,
  );
  await fs.writeFile(path.join(paths.runtime, 'etc', 'group'), 'root:x:0:\nlearner:x:1000:\nnogroup:x:65534:\n');
  await fs.writeFile(path.join(paths.runtime, 'bashrc'), bashrc(namespace));
}

/** Copies the learner's kubeconfig where the jail reads it (again after the sandbox is extended). */
export async function copyKubeconfig(paths: JailPaths, kubeconfig: string): Promise<void> {
  const { uid, gid } = jailOwner();
  const target = path.join(paths.kubeDir, 'kubeconfig');
  const text = await fs.readFile(kubeconfig, 'utf8');
  const tmp = `${target}.tmp`;
  await fs.writeFile(tmp, text, { mode: 0o600 });
  await fs.chown(tmp, uid, gid);
  await fs.rename(tmp, target);
}

/** The jail reads kubectl from a place its unprivileged user can reach (not root's cache). */
export async function jailKubectl(jailDir: string, kubectl: string): Promise<string> {
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

/** Removes a sandbox's home and runtime files (when the sandbox is deleted). */
export async function removeJailFiles(jailDir: string, namespace: string): Promise<void> {
  const paths = jailPaths(jailDir, namespace);
  await fs.rm(paths.runtime, { recursive: true, force: true });
  await fs.rm(paths.home, { recursive: true, force: true });
}
