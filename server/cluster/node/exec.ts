import { execFile } from 'node:child_process';

/** Runs the node's plumbing tools (ip, iptables, nsenter, crictl): argv only, never a shell. */

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function exec(command: string, args: readonly string[], options: { timeoutMs?: number; env?: Record<string, string> } = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: options.timeoutMs ?? 30_000, maxBuffer: 16 * 1024 * 1024, env: options.env ?? { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' } }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr: stderr || (error && typeof error.code !== 'number' ? error.message : '') });
    });
  });
}

export class NodeSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NodeSetupError';
  }
}

/** Runs a command that must succeed; the error quotes the tool's own message. */
export async function must(command: string, args: readonly string[], what: string): Promise<string> {
  const result = await exec(command, args);
  if (result.code !== 0) throw new NodeSetupError(`${what}: ${command} ${args.join(' ')} failed: ${result.stderr.trim() || `exit ${result.code}`}`);
  return result.stdout;
}
