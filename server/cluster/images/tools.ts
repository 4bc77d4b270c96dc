import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { AppError } from '../../errors.ts';

/** Small helpers the image builders and the runtime side share: running tools, hashing, unmounting. */

/** Building an offline image failed; the message says which tool failed and its last lines. */
export class ImageBuildError extends AppError {
  readonly status = 500;
  readonly code = 'image_build_failed';
}

export interface ToolResult {
  code: number | null;
  stdout: string;
  /** The last 40 lines of stderr, for error messages. */
  stderrTail: string[];
}

export interface ToolOptions {
  cwd?: string;
  env?: Readonly<Record<string, string>>;
  /** Each stderr line as it comes (progress). */
  onLine?: (line: string) => void;
  /** Each stdout line as it comes, instead of collecting stdout. */
  onStdoutLine?: (line: string) => void;
  /** What to install when the tool is missing, for the error message. */
  installHint?: string;
  timeoutMs?: number;
}

/** Runs a tool without a shell. A missing tool is an ImageBuildError that says how to get it. */
export function runTool(command: string, args: readonly string[], options: ToolOptions = {}): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    let stdout = '';
    let timer: NodeJS.Timeout | undefined;
    if (options.timeoutMs) timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      if (error.code === 'ENOENT') {
        reject(new ImageBuildError(`${command} was not found${options.installHint ? `: ${options.installHint}` : ''}`));
      } else {
        reject(error);
      }
    });
    readline.createInterface({ input: child.stderr }).on('line', (line) => {
      tail.push(line);
      if (tail.length > 40) tail.shift();
      options.onLine?.(line);
    });
    if (options.onStdoutLine) {
      const onStdoutLine = options.onStdoutLine;
      readline.createInterface({ input: child.stdout }).on('line', (line) => {
        onStdoutLine(line);
      });
    } else {
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    }
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code, stdout, stderrTail: tail });
    });
  });
}

/** Runs a tool and returns its stdout, or throws with what it printed. */
export async function runToolOk(command: string, args: readonly string[], what: string, options: ToolOptions = {}): Promise<string> {
  const result = await runTool(command, args, options);
  if (result.code !== 0) {
    throw new ImageBuildError(`${what} failed (${command} exited with ${result.code ?? 'a signal'}):\n${result.stderrTail.join('\n')}`);
  }
  return result.stdout;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export const sha256Text = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * Removes a build directory, first unmounting anything left mounted inside it (a killed
 * mmdebstrap can leave /proc, /sys or /dev of its chroot mounted): removing through a mount
 * would delete the host's files.
 */
export async function removeTree(dir: string): Promise<void> {
  const root = path.resolve(dir);
  let mounts: string[] = [];
  try {
    const table = await fs.readFile('/proc/self/mounts', 'utf8');
    // Mount points are octal-escaped in /proc/self/mounts (a space is \040).
    mounts = table
      .split('\n')
      .map((line) => (line.split(' ')[1] ?? '').replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8))))
      .filter((point) => point === root || point.startsWith(`${root}/`))
      .sort((a, b) => b.length - a.length);
  } catch {
    // No /proc: nothing can be mounted by us either.
  }
  for (const point of mounts) {
    const result = await runTool('umount', ['-l', point]);
    if (result.code !== 0) throw new ImageBuildError(`cannot unmount ${point} (left by an interrupted build): ${result.stderrTail.join(' ')}; remove ${root} by hand`);
  }
  await fs.rm(root, { recursive: true, force: true });
}
