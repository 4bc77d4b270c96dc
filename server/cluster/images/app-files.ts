import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { projectRoot } from '../paths.ts';
import { ImageBuildError, runToolOk } from './tools.ts';

/**
 * What of the checkout goes into the app image, and what decides its bytes: the files git knows
 * (tracked, or new and not ignored) under the runtime's paths, and the pinned Node.js that
 * server/bin/with-node.sh installs.
 */

/** Read at run time: sources, cluster-side assets, the default lessons, the npm manifests. */
export const RUNTIME_PATHS = ['package.json', 'package-lock.json', 'README.md', 'server', 'sandboxes', 'lessons'] as const;
/** Built into client/dist by vite; only the output goes into the image. */
export const CLIENT_PATHS = ['client'] as const;

/** Relative paths of the files under `paths`, sorted by bytes, that exist in the working tree. */
export async function checkoutFiles(paths: readonly string[], root = projectRoot): Promise<string[]> {
  let out: string;
  try {
    out = await runToolOk('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', ...paths], 'listing the checkout with git', { cwd: root, installHint: 'the app image is built from a git checkout (apt-get install git)' });
  } catch (error) {
    throw new ImageBuildError(`the app image is built from a git checkout of kubedojo, and git could not list ${root}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const names = [...new Set(out.split('\0').filter((name) => name !== ''))].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const present: string[] = [];
  // A tracked file deleted in the working tree is not part of what would run.
  for (const name of names) if (await fs.lstat(path.join(root, name)).then((s) => s.isFile() || s.isSymbolicLink(), () => false)) present.push(name);
  return present;
}

/** One hash over names, modes and contents, so a rename or chmod counts as a change. */
export async function hashFiles(names: readonly string[], root = projectRoot): Promise<string> {
  const hash = createHash('sha256');
  for (const name of names) {
    const file = path.join(root, name);
    const stat = await fs.lstat(file);
    hash.update(`${name}\0${stat.mode & 0o111 ? 'x' : '-'}\0`);
    hash.update(stat.isSymbolicLink() ? await fs.readlink(file) : await fs.readFile(file));
    hash.update('\0');
  }
  return hash.digest('hex');
}

/** Copies the files into `dest`, keeping their relative paths and executable bits. */
export async function copyFiles(names: readonly string[], dest: string, root = projectRoot): Promise<void> {
  for (const name of names) {
    const from = path.join(root, name);
    const to = path.join(dest, name);
    await fs.mkdir(path.dirname(to), { recursive: true });
    const stat = await fs.lstat(from);
    if (stat.isSymbolicLink()) await fs.symlink(await fs.readlink(from), to);
    else {
      await fs.copyFile(from, to);
      await fs.chmod(to, stat.mode & 0o111 ? 0o755 : 0o644);
    }
  }
}

/** The Node.js version server/bin/with-node.sh pins (its NODE_VERSION line): one place says it. */
export async function pinnedNodeVersion(root = projectRoot): Promise<string> {
  const script = path.join(root, 'server', 'bin', 'with-node.sh');
  const version = /^NODE_VERSION=(\d+\.\d+\.\d+)\s*$/m.exec(await fs.readFile(script, 'utf8'))?.[1];
  if (!version) throw new ImageBuildError(`${script} has no NODE_VERSION=x.y.z line: cannot tell which Node.js the image carries`);
  return version;
}

/**
 * The pinned Node's install directory: the one running this process when it is the pinned one
 * (kubedojo always runs through with-node.sh), so nothing is downloaded twice.
 */
export async function pinnedNodeDir(): Promise<{ dir: string; version: string }> {
  const version = await pinnedNodeVersion();
  if (process.version !== `v${version}`) {
    throw new ImageBuildError(`the app image carries Node.js ${version} (server/bin/with-node.sh) and this is ${process.version}: run kubedojo through server/bin/kubedojo or npx kubedojo, which use the pinned Node`);
  }
  return { dir: path.dirname(path.dirname(process.execPath)), version };
}

/** Every path under `dir` (itself included), deepest first, for ownership and times. */
export async function walkAll(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const child = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walkAll(child)));
    else out.push(child);
  }
  out.push(dir);
  return out;
}

/** Root-owned with one time, so two builds of the same inputs pack the same bytes. */
export async function settle(dir: string, epoch: number, owner = { uid: 0, gid: 0 }): Promise<void> {
  for (const item of await walkAll(dir)) {
    await fs.lchown(item, owner.uid, owner.gid);
    await fs.lutimes(item, epoch, epoch);
  }
}
