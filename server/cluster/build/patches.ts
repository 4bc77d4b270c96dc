import fs from 'node:fs/promises';
import path from 'node:path';
import { applyPatch, parsePatch } from 'diff';
import { BuildError, run } from './go.ts';

/**
 * A few upstream modules are built with a small patch of kubedojo's (kept as unified diffs in
 * sandboxes/controlplane/<component>/patches/*.patch, each opening with a line saying why).
 * Go refuses to overlay files inside the module cache, so the module's source is copied, the
 * patches applied to the copy, and the build reads an alternate go.mod (-modfile) that replaces
 * the module with that copy. The committed go.mod and go.sum stay as they are.
 */

export interface PatchedBuild {
  /** Arguments for `go build`: -modfile pointing at the go.mod that replaces the module. */
  args: string[];
  /** Removes the copy and the alternate go.mod. */
  cleanup: () => Promise<void>;
}

export async function patchFiles(moduleDir: string): Promise<string[]> {
  const dir = path.join(moduleDir, 'patches');
  try {
    return (await fs.readdir(dir))
      .filter((n) => n.endsWith('.patch'))
      .sort()
      .map((n) => path.join(dir, n));
  } catch {
    return [];
  }
}

async function moduleSource(go: string, moduleDir: string, env: Record<string, string>, modulePath: string): Promise<string> {
  let out = '';
  const listed = await run(go, ['list', '-m', '-json', modulePath], { cwd: moduleDir, env, stdoutLine: (l) => (out += `${l}\n`) });
  const dir = listed.code === 0 ? (JSON.parse(out) as { Dir?: string }).Dir : undefined;
  if (!dir) throw new BuildError(`could not find the source of ${modulePath}:\n${listed.stderrTail.join('\n')}`, 'build-failed');
  return dir;
}

async function makeWritable(dir: string): Promise<void> {
  await fs.chmod(dir, 0o755);
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await makeWritable(full);
    else if (entry.isFile()) await fs.chmod(full, 0o644);
  }
}

/** Strips the a/ or b/ prefix of a diff's file name; null for /dev/null (a new file). */
function target(name: string | undefined): string | null {
  if (!name || name === '/dev/null') return null;
  return name.replace(/^[ab]\//, '');
}

/** Copies the module's source to `workDir`, applies every patch, and writes the alternate go.mod. */
export async function preparePatchedModule(options: {
  go: string;
  env: Record<string, string>;
  moduleDir: string;
  modulePath: string;
  workDir: string;
}): Promise<PatchedBuild | null> {
  const patches = await patchFiles(options.moduleDir);
  if (patches.length === 0) return null;
  const source = await moduleSource(options.go, options.moduleDir, options.env, options.modulePath);
  const copy = path.join(options.workDir, 'src');
  await fs.rm(options.workDir, { recursive: true, force: true });
  await fs.cp(source, copy, { recursive: true });
  // The module cache is read-only, and so is its copy: make it writable so patches apply and
  // the copy can be removed (by a user who is not root, too).
  await makeWritable(copy);
  for (const file of patches) {
    const diffs = parsePatch(await fs.readFile(file, 'utf8'));
    for (const diff of diffs) {
      const name = target(diff.newFileName) ?? target(diff.oldFileName);
      if (!name) continue;
      const dest = path.join(copy, name);
      if (!dest.startsWith(`${copy}${path.sep}`)) throw new BuildError(`${file}: the patch names a file outside the module: ${name}`, 'inputs');
      const isNew = target(diff.oldFileName) === null;
      const before = isNew ? '' : await fs.readFile(dest, 'utf8');
      const after = applyPatch(before, diff);
      if (after === false) {
        throw new BuildError(`${path.basename(file)} no longer applies to ${name} of ${options.modulePath}: update the patch for this version`, 'inputs');
      }
      await fs.mkdir(path.dirname(dest), { recursive: true });
      await fs.writeFile(dest, after);
    }
  }
  const gomod = await fs.readFile(path.join(options.moduleDir, 'go.mod'), 'utf8');
  const modfile = path.join(options.workDir, 'go.mod');
  await fs.writeFile(modfile, `${gomod}\nreplace ${options.modulePath} => ${copy}\n`);
  // -modfile reads go.sum from beside the alternate go.mod.
  await fs.copyFile(path.join(options.moduleDir, 'go.sum'), path.join(options.workDir, 'go.sum'));
  return {
    args: [`-modfile=${modfile}`],
    cleanup: () => fs.rm(options.workDir, { recursive: true, force: true }),
  };
}
