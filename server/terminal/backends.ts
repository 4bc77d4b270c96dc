import { PassThrough, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, Exec, type KubeConfig, type KubernetesObject, type V1Status } from '@kubernetes/client-node';
import pty from 'node-pty';
import { call } from '../cluster/api.ts';
import { rawClient } from '../cluster/apply.ts';
import { Unavailable } from '../errors.ts';
import { fillPlaceholders } from '../lessons/placeholders.ts';
import type { LabSetup, Sandbox } from '../sandboxes/service.ts';
import { prepareJail, removeJailFiles, type JailLimits } from './jail.ts';

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
}

export interface ShellBackend {
  readonly kind: 'jail' | 'pod';
  open(sandbox: Sandbox, kubeconfig: string, size: { cols: number; rows: number }): Promise<Shell>;
  /** Removes what a sandbox's terminals kept (its home) once the sandbox is gone. */
  forget(namespace: string): Promise<void>;
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

export const TOOLBOX_POD = 'kubedojo-toolbox';

/**
 * A cluster with a container runtime: a toolbox pod in the sandbox, running as the learner's
 * service account, with the terminal attached by exec (websocket channel protocol, resize).
 */
export class PodBackend implements ShellBackend {
  readonly kind = 'pod';
  private readonly kc: () => KubeConfig;
  private readonly image: string;

  constructor(options: { kubeConfig: () => KubeConfig; image: string }) {
    this.kc = options.kubeConfig;
    this.image = options.image;
  }

  private async ensureToolbox(kc: KubeConfig, namespace: string): Promise<void> {
    const core = kc.makeApiClient(CoreV1Api);
    const existing = await call(() => core.readNamespacedPod({ name: TOOLBOX_POD, namespace }));
    if (!existing.ok || existing.value.metadata?.deletionTimestamp) {
      const pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: TOOLBOX_POD, namespace, labels: { 'app.kubernetes.io/name': 'kubedojo-toolbox' } },
        spec: {
          serviceAccountName: 'kubedojo-learner',
          automountServiceAccountToken: true,
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: 'toolbox',
              image: this.image,
              command: ['sleep', 'infinity'],
              stdin: true,
              tty: true,
              resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '512Mi' } },
              securityContext: { allowPrivilegeEscalation: false, runAsNonRoot: true, runAsUser: 1000, capabilities: { drop: ['ALL'] } },
            },
          ],
        },
      } as KubernetesObject;
      const made = await rawClient(kc).create(pod);
      if (!made.ok && made.error.kind !== 'conflict') throw new Unavailable(`could not start the terminal's toolbox pod: ${made.error.message}`);
    }
    for (let i = 0; i < 600; i += 1) {
      const pod = await call(() => core.readNamespacedPod({ name: TOOLBOX_POD, namespace }));
      if (pod.ok && pod.value.status?.phase === 'Running') return;
      await sleep(200);
    }
    throw new Unavailable('the terminal toolbox pod did not start within two minutes');
  }

  forget(): Promise<void> {
    return Promise.resolve(); // the home lived in the toolbox pod, gone with the namespace
  }

  async open(sandbox: Sandbox, _kubeconfig: string, size: { cols: number; rows: number }): Promise<Shell> {
    const kc = this.kc();
    await this.ensureToolbox(kc, sandbox.namespace);
    const stdin = new PassThrough();
    const dataListeners: ((chunk: Buffer) => void)[] = [];
    const exitListeners: ((code: number | null) => void)[] = [];
    // client-node sends a resize whenever the stdout stream announces one.
    const stdout = Object.assign(
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          for (const listener of dataListeners) listener(chunk);
          done();
        },
      }),
      { columns: size.cols, rows: size.rows },
    );
    let exited = false;
    const finish = (code: number | null) => {
      if (exited) return;
      exited = true;
      for (const listener of exitListeners) listener(code);
    };
    const socket = await new Exec(kc).exec(sandbox.namespace, TOOLBOX_POD, 'toolbox', ['/bin/sh', '-c', 'exec bash -il 2>/dev/null || exec sh -i'], stdout, stdout, stdin, true, (status: V1Status) => {
      finish(status.status === 'Success' ? 0 : 1);
    });
    socket.on('close', () => {
      finish(null);
    });
    return {
      onData: (listener) => dataListeners.push(listener),
      onExit: (listener) => exitListeners.push(listener),
      write: (data) => stdin.write(data),
      resize: (cols, rows) => {
        stdout.columns = cols;
        stdout.rows = rows;
        stdout.emit('resize');
      },
      pause: () => {
        (socket as unknown as { pause?: () => void }).pause?.();
      },
      resume: () => {
        (socket as unknown as { resume?: () => void }).resume?.();
      },
      kill: async () => {
        socket.close();
        await call(() => kc.makeApiClient(CoreV1Api).deleteNamespacedPod({ name: TOOLBOX_POD, namespace: sandbox.namespace, gracePeriodSeconds: 0 }));
      },
      refreshCredentials: () => Promise.resolve(), // the pod's projected token is renewed by the kubelet
    };
  }
}
