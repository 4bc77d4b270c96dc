import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { HOME, JAIL_GID, JAIL_UID, rootLinks, type JailPaths } from './jail.ts';

const run = promisify(execFile);

/** The learner's home in the jail backend: made once per sandbox and seeded with the lab's files. */

const asRoot = () => process.getuid?.() === 0;

/** Who owns the homes: the jail user as root, else the server's own user (bubblewrap runs as it). */
export function homeOwner(): { uid: number; gid: number } {
  return asRoot() ? { uid: JAIL_UID, gid: JAIL_GID } : { uid: process.getuid?.() ?? JAIL_UID, gid: process.getgid?.() ?? JAIL_GID };
}

/** Makes the home if it is new, with the lab's files; an existing home (the learner's work) is kept. */
export async function ensureHome(paths: JailPaths, homeFiles: Readonly<Record<string, string>>): Promise<void> {
  await fs.mkdir(path.dirname(paths.home), { recursive: true });
  try {
    await fs.mkdir(paths.home, { mode: 0o700 });
  } catch {
    return; // exists: the learner's files persist while the sandbox lives
  }
  for (const [relative, content] of Object.entries(homeFiles)) {
    const target = path.join(paths.home, relative);
    if (!target.startsWith(paths.home + path.sep)) continue; // lab paths were validated; be safe anyway
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.writeFile(target, content);
  }
  const { uid, gid } = homeOwner();
  await run('chown', ['-R', `${uid}:${gid}`, paths.home]);
}

/**
 * Writes a file into a learner's home as the learner would: from inside a minimal bubblewrap
 * jail that sees only that home, as the jail's user. The learner owns the home and may have put
 * symbolic links in it; written by the server on the host they could point anywhere, in here
 * they can only point into the jail's own read-only system or back into the home.
 */
export async function writeInHome(paths: JailPaths, relative: string, content: string, overwrite: boolean): Promise<'written' | 'exists'> {
  const script = 'set -e; if [ "$2" != overwrite ] && { [ -e "$1" ] || [ -L "$1" ]; }; then exit 17; fi; mkdir -p -- "$(dirname -- "$1")"; cat > "$1"';
  const bwrap = [
    'bwrap', '--unshare-all', '--unshare-user', '--disable-userns', '--die-with-parent',
    '--uid', '1000', '--gid', '1000',
    '--ro-bind', '/usr', '/usr', ...rootLinks(),
    '--proc', '/proc', '--dev', '/dev',
    '--bind', paths.home, HOME, '--chdir', HOME,
    '--clearenv', '--setenv', 'PATH', '/usr/bin:/bin', '--cap-drop', 'ALL',
    '--', '/bin/sh', '-c', script, 'sh', relative, overwrite ? 'overwrite' : 'keep',
  ];
  const { uid, gid } = homeOwner();
  const command = asRoot() ? ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', ...bwrap] : bwrap;
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(command[0] ?? 'bwrap', command.slice(1), { stdio: ['pipe', 'ignore', 'pipe'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (exit) => {
      if (exit !== 0 && exit !== 17) reject(new Error(`could not write ${relative} into the home: ${stderr.trim() || `exit ${exit ?? 'by signal'}`}`));
      else resolve(exit);
    });
    child.stdin.end(content);
  });
  return code === 17 ? 'exists' : 'written';
}
