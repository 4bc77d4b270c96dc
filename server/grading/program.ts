import type { SandboxIdentity } from './scope.ts';

/**
 * How grading runs a submitted program (a learner's operator) while its checks run: a port the
 * terminal layer implements (server/terminal/program-runner.ts runs it in the sandbox's jail).
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
