import pty from 'node-pty';
import { fillPlaceholders } from '../lessons/placeholders.ts';
import type { LabSetup, Sandbox } from '../sandboxes/service.ts';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ensureHome, writeInHome, type HomeWrite } from './home.ts';
import { jailPaths, prepareJail, removeJailFiles, type JailLimits } from './jail.ts';

/** A shell attached to a terminal, whatever runs it. Output arrives as raw bytes. */
export interface Shell {
  onData(listener: (chunk: Buffer) => void): void;
  onExit(listener: (code: number | null) => void): void;
  write(data: string): void;
  resize(cols: number, rows: number): void;
  pause(): void;
  resume(): void;
  /** Ends the shell and every process it started. */
  kill(): Promise<void>;
  /** Called when the sandbox's credentials change (extend). */
  refreshCredentials(): Promise<void>;
  /**
   * A shell that outlives its attachment (the pod backend's, under dtach) and was running
   * already when this one attached (opened by another replica): at its prompt, or in a program.
   * Unset for a shell this attachment started.
   */
  readonly joined?: 'prompt' | 'busy';
  /** Marks this attachment as the one the learner uses now (several replicas may hold one each). */
  claim?(): Promise<void>;
  /** Whether another attachment was claimed after this one: then this one must not end the shell. */
  claimedElsewhere?(): Promise<boolean>;
  /** Closes this attachment only; the shell keeps running for the next one. */
  detach?(): Promise<void>;
}

export interface ShellBackend {
  readonly kind: 'jail' | 'pod';
  open(sandbox: Sandbox, kubeconfig: string, size: { cols: number; rows: number }): Promise<Shell>;
  /** Removes what a sandbox's terminals kept (its home) once the sandbox is gone. */
  forget(namespace: string): Promise<void>;
  /**
   * Puts a file into the sandbox's home as the learner would (the home is made, with the lab's
   * files, if no terminal has made it yet); 'exists' when it is there and `overwrite` is false.
   */
  writeFile(sandbox: Sandbox, relative: string, content: string, overwrite: boolean): Promise<HomeWrite>;
}

/** Lab starter files for a sandbox's home, with the learner's values filled in. */
export function homeFilesFor(sandbox: Sandbox, lab: LabSetup | undefined): Record<string, string> {
  const values = { namespace: sandbox.namespace, group: sandbox.group, priorityClassPrefix: sandbox.priorityClassPrefix };
  const files: Record<string, string> = {};
  for (const file of lab?.files ?? []) files[file.path] = fillPlaceholders(file.content, values);
  return files;
}

/** Embedded cluster: bash in a bubblewrap jail on this machine (see jail.ts). */
export class JailBackend implements ShellBackend {
  readonly kind = 'jail';
  private readonly jailDir: string;
  private readonly kubectl: () => Promise<string>;
  private readonly labs: (lesson: string) => Promise<LabSetup | undefined>;
  private readonly limits: JailLimits | undefined;

  constructor(options: { jailDir: string; kubectl: () => Promise<string>; labs: (lesson: string) => Promise<LabSetup | undefined>; limits?: JailLimits }) {
    this.jailDir = options.jailDir;
    this.kubectl = options.kubectl;
    this.labs = options.labs;
    this.limits = options.limits;
  }

  forget(namespace: string): Promise<void> {
    return removeJailFiles(this.jailDir, namespace);
  }

  async writeFile(sandbox: Sandbox, relative: string, content: string, overwrite: boolean): Promise<HomeWrite> {
    await fs.mkdir(path.join(this.jailDir, 'homes'), { recursive: true, mode: 0o711 });
    const paths = jailPaths(this.jailDir, sandbox.namespace);
    await ensureHome(paths, homeFilesFor(sandbox, await this.labs(sandbox.lesson)));
    return writeInHome(paths, relative, content, overwrite);
  }

  async open(sandbox: Sandbox, kubeconfig: string, size: { cols: number; rows: number }): Promise<Shell> {
    const jail = await prepareJail({
      namespace: sandbox.namespace,
      group: sandbox.group,
      priorityClassPrefix: sandbox.priorityClassPrefix,
      jailDir: this.jailDir,
      kubeconfig,
      kubectl: await this.kubectl(),
      homeFiles: homeFilesFor(sandbox, await this.labs(sandbox.lesson)),
      ...(this.limits ? { limits: this.limits } : {}),
    });
    // Raw bytes (encoding null): UTF-8 split across reads stays intact for the browser to join.
    const child = pty.spawn(jail.file, jail.args, { name: 'xterm-256color', cols: size.cols, rows: size.rows, cwd: '/', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, encoding: null });
    let closed = false;
    const kill = async () => {
      if (closed) return;
      closed = true;
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
      await jail.close();
    };
    return {
      onData: (listener) => {
        child.onData((data: string | Buffer) => {
          listener(typeof data === 'string' ? Buffer.from(data) : data);
        });
      },
      onExit: (listener) => {
        child.onExit(({ exitCode }) => {
          void kill().then(() => {
            listener(exitCode);
          });
        });
      },
      write: (data) => {
        child.write(data);
      },
      resize: (cols, rows) => {
        child.resize(cols, rows);
      },
      pause: () => {
        child.pause();
      },
      resume: () => {
        child.resume();
      },
      kill,
      refreshCredentials: () => jail.refreshKubeconfig(),
    };
  }
}
