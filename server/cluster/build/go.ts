import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { controlPlaneModulesDir } from '../paths.ts';

/** The Go toolchain, the disk a build needs, and running commands: the build's contact with the machine. */

const GiB = 1024 ** 3;

export type BuildErrorReason = 'no-go' | 'old-go' | 'disk' | 'build-failed' | 'inputs';

export const useOwnCluster =
  'Or skip the local build and use a cluster you already have: kubedojo serve --kubeconfig ~/.kube/config (or set KUBECONFIG).';

export class BuildError extends Error {
  readonly reason: BuildErrorReason;
  constructor(message: string, reason: BuildErrorReason) {
    super(message);
    this.name = 'BuildError';
    this.reason = reason;
  }
}

export interface RunResult {
  code: number | null;
  stderrTail: string[];
}

export function run(command: string, args: string[], options: { cwd: string; env: Record<string, string>; onLine?: (line: string) => void; stdoutLine?: (line: string) => void }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    child.on('error', reject);
    readline.createInterface({ input: child.stderr }).on('line', (line) => {
      tail.push(line);
      if (tail.length > 40) tail.shift();
      options.onLine?.(line);
    });
    readline.createInterface({ input: child.stdout }).on('line', (line) => options.stdoutLine?.(line));
    child.on('close', (code) => {
      resolve({ code, stderrTail: tail });
    });
  });
}

export interface GoInfo {
  version: string;
  buildCache: string;
  moduleCache: string;
}

const MIN_GO = [1, 26];

/** Finds the Go toolchain and its caches, or says plainly what is missing. */
export async function checkGo(go: string, env: Record<string, string>): Promise<GoInfo> {
  let out = '';
  let result: RunResult;
  try {
    result = await run(go, ['env', 'GOVERSION', 'GOCACHE', 'GOMODCACHE'], { cwd: controlPlaneModulesDir, env, stdoutLine: (l) => (out += `${l}\n`) });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new BuildError(
        `Go ${MIN_GO.join('.')} or newer is needed to build the local Kubernetes control plane, and "${go}" was not found on PATH. ` +
          `Install Go (https://go.dev/dl) or name it with --go / KUBEDOJO_GO. ${useOwnCluster}`,
        'no-go',
      );
    }
    throw error;
  }
  if (result.code !== 0) throw new BuildError(`"${go} env" failed: ${result.stderrTail.join('\n')}`, 'no-go');
  const [version = '', buildCache = '', moduleCache = ''] = out.trim().split('\n');
  const match = /^go(\d+)\.(\d+)/.exec(version);
  const [major, minor] = match ? [Number(match[1]), Number(match[2])] : [0, 0];
  if (major < (MIN_GO[0] ?? 0) || (major === MIN_GO[0] && minor < (MIN_GO[1] ?? 0))) {
    throw new BuildError(
      `Go ${MIN_GO.join('.')} or newer is needed to build the local control plane; "${go}" is ${version || 'of an unknown version'}. ${useOwnCluster}`,
      'old-go',
    );
  }
  return { version, buildCache, moduleCache };
}

async function existingAncestor(dir: string): Promise<string> {
  let current = path.resolve(dir);
  for (;;) {
    try {
      await fs.access(current);
      return current;
    } catch {
      const parent = path.dirname(current);
      if (parent === current) return current;
      current = parent;
    }
  }
}

/** Sums what the build will write per filesystem and compares it with what is free there. */
export async function checkDisk(needs: { dir: string; bytes: number; what: string }[]): Promise<void> {
  const byDevice = new Map<number, { free: number; need: number; dirs: string[] }>();
  for (const need of needs) {
    const dir = await existingAncestor(need.dir);
    const [stat, fsStat] = await Promise.all([fs.stat(dir), fs.statfs(dir)]);
    const entry = byDevice.get(stat.dev) ?? { free: fsStat.bavail * fsStat.bsize, need: 0, dirs: [] };
    entry.need += need.bytes;
    entry.dirs.push(`${need.what} (${need.dir})`);
    byDevice.set(stat.dev, entry);
  }
  for (const entry of byDevice.values()) {
    if (entry.free < entry.need) {
      const gib = (n: number) => `${(n / GiB).toFixed(1)} GiB`;
      throw new BuildError(
        `Not enough disk space to build the local control plane: it needs about ${gib(entry.need)} for ${entry.dirs.join(', ')}, ` +
          `and only ${gib(entry.free)} is free there. Free some space, or move the caches with --cache-dir, GOCACHE and GOMODCACHE. ${useOwnCluster}`,
        'disk',
      );
    }
  }
}
