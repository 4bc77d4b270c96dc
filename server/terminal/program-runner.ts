import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureControlPlane } from '../cluster/build.ts';
import type { ClusterConnection } from '../cluster/connection.ts';
import type { Config } from '../config.ts';
import type { ProgramRunner } from '../grading/program.ts';
import type { Logger } from '../logger.ts';
import { silentProgress } from '../progress.ts';
import { checkJailTools, prepareJail, removeJailFiles } from './jail.ts';

/**
 * Runs a submitted program (a learner's operator) the way the learner would: in the sandbox's
 * jailed shell, with only the learner's credentials and only the API server reachable, for as
 * long as the checks run.
 */

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

/** Submitted programs run in the jailed shell, which reaches only an API server on this machine. */
export function programRunnerFromConfig(config: Config, cluster: ClusterConnection, logger: Logger): ProgramRunner | undefined {
  const server = cluster.describe().server;
  const local = server !== null && ['127.0.0.1', 'localhost'].includes(new URL(server).hostname);
  if (!local) return undefined;
  let kubectl: Promise<string> | undefined;
  return jailProgramRunner({
    jailDir: config.terminals.jailDir,
    kubectl: () =>
      (kubectl ??= ensureControlPlane({ cacheDir: config.cacheDir, go: config.go, env: config.env, progress: silentProgress, logger }).then((cp) => cp.binaries.kubectl)),
  });
}
