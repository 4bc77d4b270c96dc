import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { HomeWrite } from '../sandboxes/home-write.ts';
import { HOME, type JailPaths } from './jail-args.ts';
import { asRoot, jailOwner, rootLinks } from './jail-files.ts';

export type { HomeWrite };

const run = promisify(execFile);

/** The learner's home in the jail backend: made once per sandbox and seeded with the lab's files. */

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
  const { uid, gid } = jailOwner();
  await run('chown', ['-R', `${uid}:${gid}`, paths.home]);
}

/**
 * In the jail: exit 17 when the file exists (unless overwriting); exit 18, printing the first
 * link on the way, when the path resolves outside the home. Names were validated (plain
 * segments, no glob characters), so splitting on "/" is safe.
 */
const WRITE_SCRIPT = [
  'set -e',
  'case "$(realpath -m -- "$1")" in "$HOME"/*) ;; *) p=; IFS=/; for part in $1; do p=${p:+$p/}$part; if [ -L "$p" ]; then printf %s "$p"; exit 18; fi; done; printf %s "$1"; exit 18 ;; esac',
  'if [ "$2" != overwrite ] && { [ -e "$1" ] || [ -L "$1" ]; }; then exit 17; fi',
  'mkdir -p -- "$(dirname -- "$1")"',
  'cat > "$1"',
].join('\n');

/**
 * Writes a file into a learner's home as the learner would: from inside a minimal bubblewrap
 * jail that sees only that home, as the jail's user. The learner owns the home and may have put
 * symbolic links in it; written by the server on the host they could point anywhere, in here
 * they can only point into the jail's own read-only system or back into the home, and a path
 * that leaves the home is refused with the link that leads out.
 */
export async function writeInHome(paths: JailPaths, relative: string, content: string, overwrite: boolean): Promise<HomeWrite> {
  const script = WRITE_SCRIPT;
  const bwrap = [
    'bwrap', '--unshare-all', '--unshare-user', '--disable-userns', '--die-with-parent',
    '--uid', '1000', '--gid', '1000',
    '--ro-bind', '/usr', '/usr', ...rootLinks(),
    '--proc', '/proc', '--dev', '/dev',
    '--bind', paths.home, HOME, '--chdir', HOME,
    '--clearenv', '--setenv', 'PATH', '/usr/bin:/bin', '--setenv', 'HOME', HOME, '--cap-drop', 'ALL',
    '--', '/bin/sh', '-c', script, 'sh', relative, overwrite ? 'overwrite' : 'keep',
  ];
  const { uid, gid } = jailOwner();
  const command = asRoot() ? ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', ...bwrap] : bwrap;
  const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
    const child = spawn(command[0] ?? 'bwrap', command.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (exit) => {
      if (exit !== 0 && exit !== 17 && exit !== 18) reject(new Error(`could not write ${relative} into the home: ${stderr.trim() || `exit ${exit ?? 'by signal'}`}`));
      else resolve({ code: exit, stdout });
    });
    child.stdin.end(content);
  });
  if (code === 18) return { linkOutside: stdout };
  return code === 17 ? 'exists' : 'written';
}
