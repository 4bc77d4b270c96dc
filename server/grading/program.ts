import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkJailTools, prepareJail, removeJailFiles } from '../terminal/jail.ts';
import type { SandboxIdentity } from './scope.ts';

/**
 * Runs a submitted program (a learner's operator) the way the learner would: in the sandbox's
 * jailed shell, with only the learner's credentials and only the API server reachable, for as
 * long as the checks run.
 */

export interface RunningProgram {
  /** The last output (stdout and stderr), for the report when checks fail. */
  output(): string;
  /** The exit code once it has ended, null while it runs. */
  exitCode(): number | null;
  stop(): Promise<void>;
}

export interface ProgramRunner {
  start(sandbox: SandboxIdentity, kubeconfig: string, files: Record<string, string>, command: readonly string[]): Promise<RunningProgram>;
}

const KEEP_OUTPUT = 16 * 1024;

function quote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function jailProgramRunner(options: { jailDir: string; kubectl: () => Promise<string> }): ProgramRunner {
  return {
    async start(sandbox, kubeconfig, files, command) {
      const tools = await checkJailTools();
      if (!tools.ok) throw new Error(`running a submitted program needs the jail's tools: apt-get install ${tools.missing.join(' ')}`);
      const homeFiles: Record<string, string> = {};
      for (const [file, content] of Object.entries(files)) homeFiles[`submission/${file}`] = content;
      const jail = await prepareJail(
        { ...sandbox, jailDir: options.jailDir, kubeconfig, kubectl: await options.kubectl(), homeFiles },
        ['bash', '-c', `cd ~/submission && exec ${command.map(quote).join(' ')}`],
      );
      const child = spawn(jail.file, jail.args, { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, detached: true });
      let output = '';
      const keep = (chunk: Buffer) => {
        output = (output + chunk.toString('utf8')).slice(-KEEP_OUTPUT);
      };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      let code: number | null = null;
      const exited = new Promise<void>((resolve) => {
        child.once('exit', (exitCode, signal) => {
          code = exitCode ?? (signal ? 128 : 1);
          resolve();
        });
      });
      return {
        output: () => output,
        exitCode: () => code,
        async stop() {
          if (code === null && child.pid !== undefined) {
            try {
              process.kill(-child.pid, 'SIGTERM');
            } catch {
              // already gone
            }
            await Promise.race([exited, sleep(3000)]);
          }
          await jail.close();
          if (code === null && child.pid !== undefined) {
            try {
              process.kill(-child.pid, 'SIGKILL');
            } catch {
              // already gone
            }
          }
          await removeJailFiles(options.jailDir, sandbox.namespace);
        },
      };
    },
  };
}
