import fs from 'node:fs/promises';
import path from 'node:path';
import type { ProgressTask } from '../../progress.ts';
import type { RecipeContext } from './recipes.ts';
import { ImageBuildError, removeTree, runTool, runToolOk } from './tools.ts';

/**
 * Debian root file systems made by mmdebstrap from Debian's own mirrors (no Docker, no
 * registry): the base of the toolbox, app and postgres images. Shared here so every image
 * takes the same suite, mirrors and dpkg options.
 */

export const SUITE = 'bookworm';
/** Debian's own mirrors, never the host's other apt sources (third-party repositories). */
export const MIRRORS = [
  `deb http://deb.debian.org/debian ${SUITE} main`,
  `deb http://deb.debian.org/debian ${SUITE}-updates main`,
  `deb http://deb.debian.org/debian-security ${SUITE}-security main`,
];
/** No manuals, docs (copyright notices stay) or translations: images, not workstations. */
export const DPKG_OPTIONS = ['path-exclude=/usr/share/man/*', 'path-exclude=/usr/share/doc/*', 'path-include=/usr/share/doc/*/copyright', 'path-exclude=/usr/share/locale/*', 'path-exclude=/usr/share/info/*'];
/** merged /usr by symlinks, as debootstrap does, instead of the usrmerge package (which pulls in 50 MB of perl). */
const MERGED_USR_HOOKS = '/usr/share/mmdebstrap/hooks/merged-usr';
/** For maintainer scripts that honour it (useradd's dates, caches): a fixed time keeps their output stable. */
const SCRIPTS_EPOCH = '1704067200';

export async function mmdebstrapVersion(ctx: RecipeContext): Promise<string> {
  return (await runToolOk('mmdebstrap', ['--version'], 'asking mmdebstrap its version', { env: ctx.env, installHint: 'apt-get install mmdebstrap' })).trim();
}

/** The newest Date of the mirror's Release files: no package file is newer, so clamping to it keeps every .pyc valid. */
function mirrorEpoch(dates: string): number {
  const times = dates
    .split('\n')
    .map((d) => Date.parse(d.trim()))
    .filter((t) => Number.isFinite(t));
  if (times.length === 0) throw new ImageBuildError(`mmdebstrap left no Release date of the Debian mirror (read: ${JSON.stringify(dates.slice(0, 200))})`);
  return Math.floor(Math.max(...times) / 1000);
}

/** A line of mmdebstrap --verbose, as progress: the phase, and counts of apt's and dpkg's steps. */
function progressReader(update: (detail: string) => void): (line: string) => void {
  let phase = 'starting';
  const counts = { downloaded: 0, unpacked: 0, configured: 0 };
  return (line) => {
    let item = '';
    const info = /^I: (.*?)\.*$/.exec(line);
    const get = /^Get:\d+ \S+ \S+ \S+ (\S+)/.exec(line);
    const unpack = /^Unpacking (\S+)/.exec(line);
    const setup = /^Setting up (\S+)/.exec(line);
    if (info?.[1]) phase = info[1];
    else if (get?.[1]) [counts.downloaded, item] = [counts.downloaded + 1, get[1]];
    else if (unpack?.[1]) [counts.unpacked, item] = [counts.unpacked + 1, unpack[1]];
    else if (setup?.[1]) [counts.configured, item] = [counts.configured + 1, setup[1]];
    else return;
    update(`${phase}${item ? `: ${item}` : ''} (packages: ${counts.downloaded} downloaded, ${counts.unpacked} unpacked, ${counts.configured} set up)`);
  };
}

export interface DebianRootfs {
  rootfs: string;
  /** The mirror's newest Release date, seconds since the epoch: the images' mtime bound. */
  epoch: number;
  /** That date as YYYY-MM-DD, for the image's source line. */
  mirrorDate: string;
}

/**
 * A minbase Debian root file system with `packages` (each may pin a version, name=version) in
 * `<workDir>/rootfs`, without the host's /dev entries, resolver or hostname (the runtime gives
 * every container its own). Needs root: mmdebstrap's root mode mounts /proc in the chroot and
 * keeps every file's owner.
 */
export async function buildDebianRootfs(ctx: RecipeContext, options: { workDir: string; packages: readonly string[]; what: string; task: ProgressTask }): Promise<DebianRootfs> {
  if (process.getuid?.() !== 0) throw new ImageBuildError(`building ${options.what} needs root (mmdebstrap --mode=root), as the real node does`);
  const rootfs = path.join(options.workDir, 'rootfs');
  const datesFile = path.join(options.workDir, 'release-dates');
  if (/['\s]/.test(datesFile)) throw new ImageBuildError(`the cache directory ${options.workDir} must not contain quotes or spaces (mmdebstrap hooks run in sh)`);
  const args = ['--verbose', '--mode=root', '--variant=minbase', '--format=directory', '--aptopt=Acquire::Retries "3"', `--include=${options.packages.join(',')}`];
  for (const option of DPKG_OPTIONS) args.push(`--dpkgopt=${option}`);
  if (await fs.stat(MERGED_USR_HOOKS).then(() => true, () => false)) args.push(`--hook-dir=${MERGED_USR_HOOKS}`);
  // Read the mirror's dates before mmdebstrap's cleanup deletes the package lists.
  args.push(`--customize-hook=for f in "$1"/var/lib/apt/lists/*Release; do sed -n 's/^Date: //p' "$f"; done > '${datesFile}'`);
  args.push(SUITE, rootfs, ...MIRRORS);
  const onLine = progressReader((detail) => {
    options.task.update(detail);
  });
  ctx.logger.info({ args }, 'running mmdebstrap');
  const result = await runTool('mmdebstrap', args, {
    env: { ...ctx.env, SOURCE_DATE_EPOCH: SCRIPTS_EPOCH, TMPDIR: options.workDir },
    onLine,
    onStdoutLine: onLine,
    installHint: 'apt-get install mmdebstrap',
  });
  if (result.code !== 0) {
    throw new ImageBuildError(
      `mmdebstrap could not make the Debian root file system of ${options.what} (exit ${result.code ?? 'signal'}); it needs Debian's mirror (deb.debian.org) reachable. ` +
        `Or bring the image along and load it with "kubedojo images import FILE.tar".\n${result.stderrTail.join('\n')}`,
    );
  }
  const epoch = mirrorEpoch(await fs.readFile(datesFile, 'utf8'));
  await fs.rm(datesFile);
  const at = (rel: string) => path.join(rootfs, rel);
  for (const name of await fs.readdir(at('dev'))) await removeTree(at(`dev/${name}`));
  for (const file of ['etc/resolv.conf', 'etc/hostname']) await fs.rm(at(file), { force: true });
  return { rootfs, epoch, mirrorDate: new Date(epoch * 1000).toISOString().slice(0, 10) };
}

/** The version dpkg has installed inside a root file system (dpkg-query --admindir). */
export async function installedVersion(ctx: RecipeContext, rootfs: string, pkg: string): Promise<string> {
  const out = await runToolOk('dpkg-query', [`--admindir=${path.join(rootfs, 'var/lib/dpkg')}`, '-W', '-f=${Version}', pkg], `asking dpkg for ${pkg} in the image`, { env: ctx.env });
  return out.trim();
}

/** A system account in the image's account files, with fixed content (useradd would date them). */
export async function addAccount(rootfs: string, account: { name: string; uid: number; gid: number; home: string; gecos: string; shell: string }): Promise<void> {
  const at = (rel: string) => path.join(rootfs, rel);
  const { name, uid, gid, home, gecos, shell } = account;
  await fs.appendFile(at('etc/passwd'), `${name}:x:${uid}:${gid}:${gecos}:${home}:${shell}\n`);
  await fs.appendFile(at('etc/group'), `${name}:x:${gid}:\n`);
  await fs.appendFile(at('etc/shadow'), `${name}:!::0:99999:7:::\n`);
  await fs.appendFile(at('etc/gshadow'), `${name}:!::\n`);
}
