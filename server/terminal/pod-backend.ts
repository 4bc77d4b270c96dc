import { randomUUID } from 'node:crypto';
import { PassThrough, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, Exec, type KubeConfig, type KubernetesObject, type V1Pod, type V1Status } from '@kubernetes/client-node';
import { call } from '../cluster/api.ts';
import { rawClient } from '../cluster/apply.ts';
import { Unavailable } from '../errors.ts';
import type { LabSetup, Sandbox } from '../sandboxes/service.ts';

const NODE_KIND_LABEL = 'kubedojo.dev/node';
import { homeFilesFor, type Shell, type ShellBackend } from './backends.ts';
import type { HomeWrite } from './home.ts';
import { AttachMarkReader, attachCommand, detachCommand, RUN_DIR, type Attachment } from './pod-attach.ts';

/**
 * A cluster with a container runtime (the embedded cluster's real node, or a cluster of your
 * own): the learner's shell runs in a toolbox Pod in their sandbox, as the sandbox's service
 * account, under dtach (pod-attach.ts): an exec (websocket channels, resize) is an attachment,
 * so the shell outlives the server replica that opened it and another replica joins it. The Pod
 * lives as long as the sandbox, so the home survives sessions like the jail's does; ending a
 * session kills every process the learner started in it, never the Pod's own.
 */

export const TOOLBOX_POD = 'kubedojo-toolbox';
/** The attachment the learner uses now (a TerminalSession's), on the toolbox Pod. */
export const ATTACHMENT_ANNOTATION = 'kubedojo.dev/terminal-attachment';
const ATTACH_TIMEOUT_MS = 30_000;
const KILL_ALL = 'for round in 1 2 3 4 5 6 7 8; do kill -9 -1 2>/dev/null || exit 0; sleep 0.1; done; exit 1';
const HOME = '/home/learner';
const START_TIMEOUT_MS = 120_000;

export interface PodBackendOptions {
  /** The platform's own client: it makes the Pod and execs into it. */
  kubeConfig: () => KubeConfig;
  image: () => Promise<string>;
  labs: (lesson: string) => Promise<LabSetup | undefined>;
  /**
   * The cluster's real node, if it is kubedojo's embedded cluster with one (reached directly or
   * through a kubeconfig): the toolbox must run there, simulated nodes run nothing.
   */
  realNode: () => Promise<string | null>;
}

/** The toolbox Pod: non-root, no privilege, Pod Security restricted-clean, bounded. */
export function toolboxPod(sandbox: Sandbox, image: string, realNode: string | null): KubernetesObject {
  const nodeSelector = realNode ? { [NODE_KIND_LABEL]: 'real' } : undefined;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: TOOLBOX_POD, namespace: sandbox.namespace, labels: { 'app.kubernetes.io/name': 'kubedojo-toolbox', 'app.kubernetes.io/managed-by': 'kubedojo' } },
    spec: {
      serviceAccountName: 'kubedojo-learner',
      automountServiceAccountToken: true,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: 1,
      ...(nodeSelector ? { nodeSelector } : {}),
      securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'toolbox',
          image,
          imagePullPolicy: 'IfNotPresent',
          // Process 1 reaps orphans and never ends: the learner cannot kill it from inside, and
          // what they started can always be killed and reaped (sleep would leave zombies).
          command: ['catatonit', '-P'],
          workingDir: HOME,
          env: [
            { name: 'NAMESPACE', value: sandbox.namespace },
            { name: 'GROUP', value: sandbox.group },
            { name: 'PRIORITY_CLASS_PREFIX', value: sandbox.priorityClassPrefix },
            { name: 'HOME', value: HOME },
            { name: 'TERM', value: 'xterm-256color' },
            { name: 'LANG', value: 'C.UTF-8' },
          ],
          resources: {
            requests: { cpu: '50m', memory: '64Mi', 'ephemeral-storage': '64Mi' },
            limits: { cpu: '500m', memory: '512Mi', 'ephemeral-storage': '1Gi' },
          },
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
          // The shell's dtach socket: memory, tiny, gone with the Pod.
          volumeMounts: [{ name: 'run', mountPath: RUN_DIR }],
        },
      ],
      volumes: [{ name: 'run', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } }],
    },
  } as KubernetesObject;
}

function describePod(pod: V1Pod): string {
  const waiting = pod.status?.containerStatuses?.find((c) => c.state?.waiting)?.state?.waiting;
  if (waiting) return `${waiting.reason ?? 'waiting'}${waiting.message ? `: ${waiting.message}` : ''}`;
  const unschedulable = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  if (unschedulable) return `not scheduled: ${unschedulable.message ?? unschedulable.reason ?? ''}`;
  return pod.status?.phase ?? 'pending';
}

/**
 * Runs a command in the toolbox and resolves with its exit status (no terminal); gives up after
 * `timeoutMs` (a toolbox whose process slots a fork bomb holds cannot start one).
 */
async function run(kc: KubeConfig, namespace: string, command: string[], timeoutMs = 10_000): Promise<{ ok: boolean; output: string }> {
  let output = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (output.length < 4096) output += chunk.toString('utf8');
      done();
    },
  });
  let socket: { close(): void } | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise((resolve, reject) => {
      timer = setTimeout(() => {
        resolve({ ok: false, output: `no answer within ${timeoutMs / 1000} s` });
      }, timeoutMs);
      new Exec(kc)
        .exec(namespace, TOOLBOX_POD, 'toolbox', command, sink, sink, null, false, (status: V1Status) => {
          resolve({ ok: status.status === 'Success', output: output || (status.message ?? '') });
        })
        .then((ws) => {
          socket = ws;
        }, reject);
    });
  } finally {
    clearTimeout(timer);
    socket?.close();
  }
}

export class PodBackend implements ShellBackend {
  readonly kind = 'pod';
  private readonly options: PodBackendOptions;

  constructor(options: PodBackendOptions) {
    this.options = options;
  }

  /** Makes the toolbox if it is missing (with the lab's files in its home) and waits until it runs. */
  private async ensureToolbox(kc: KubeConfig, sandbox: Sandbox): Promise<void> {
    const core = kc.makeApiClient(CoreV1Api);
    const { namespace } = sandbox;
    const existing = await call(() => core.readNamespacedPod({ name: TOOLBOX_POD, namespace }));
    let fresh = false;
    if (!existing.ok || existing.value.metadata?.deletionTimestamp) {
      if (existing.ok) await this.waitGone(core, namespace);
      const made = await rawClient(kc).create(toolboxPod(sandbox, await this.options.image(), await this.options.realNode()));
      if (!made.ok && made.error.kind !== 'conflict') throw new Unavailable(`could not start the terminal's toolbox Pod: ${made.error.message}`);
      fresh = made.ok;
    }
    const started = Date.now();
    const deadline = started + START_TIMEOUT_MS;
    let last = 'pending';
    for (;;) {
      const pod = await call(() => core.readNamespacedPod({ name: TOOLBOX_POD, namespace }));
      if (pod.ok) {
        if (pod.value.status?.containerStatuses?.some((c) => c.state?.running)) break;
        last = describePod(pod.value);
        if (/ErrImagePull|ImagePullBackOff|InvalidImageName/.test(last)) throw new Unavailable(`the terminal's toolbox image cannot be pulled: ${last}`);
        // No node will take it (no real node, or it is full): say so rather than wait.
        if (last.startsWith('not scheduled') && Date.now() - started > 10_000) throw new Unavailable(`the terminal's toolbox Pod has no node to run on: ${last}`);
      }
      if (Date.now() > deadline) throw new Unavailable(`the terminal's toolbox Pod did not start within ${START_TIMEOUT_MS / 1000} s: ${last}`);
      await sleep(100);
    }
    if (fresh) await this.writeHome(kc, sandbox);
  }

  private async waitGone(core: CoreV1Api, namespace: string): Promise<void> {
    for (let i = 0; i < 300; i += 1) {
      if (!(await call(() => core.readNamespacedPod({ name: TOOLBOX_POD, namespace }))).ok) return;
      await sleep(100);
    }
  }

  /** The lab's starter files, once, into a new toolbox's home (as the learner, base64 in argv). */
  private async writeHome(kc: KubeConfig, sandbox: Sandbox): Promise<void> {
    const files = homeFilesFor(sandbox, await this.options.labs(sandbox.lesson));
    for (const [relative, content] of Object.entries(files)) {
      const script = 'mkdir -p "$(dirname "$1")" && printf %s "$2" | base64 -d > "$1"';
      const result = await run(kc, sandbox.namespace, ['sh', '-c', script, 'sh', `${HOME}/${relative}`, Buffer.from(content).toString('base64')]);
      if (!result.ok) throw new Unavailable(`could not put ${relative} into the toolbox's home: ${result.output.trim()}`);
    }
  }

  forget(): Promise<void> {
    return Promise.resolve(); // the home lives in the toolbox Pod, gone with the namespace
  }

  async writeFile(sandbox: Sandbox, relative: string, content: string, overwrite: boolean): Promise<HomeWrite> {
    const kc = this.options.kubeConfig();
    await this.ensureToolbox(kc, sandbox);
    // In the toolbox as its user: symbolic links the learner made resolve inside their own Pod.
    const script = 'cd ~ && if [ "$2" != overwrite ] && { [ -e "$1" ] || [ -L "$1" ]; }; then echo exists; exit 0; fi; mkdir -p "$(dirname "$1")" && printf %s "$3" | base64 -d > "$1" && echo written';
    const result = await run(kc, sandbox.namespace, ['sh', '-c', script, 'sh', relative, overwrite ? 'overwrite' : 'keep', Buffer.from(content).toString('base64')]);
    if (!result.ok) throw new Unavailable(`could not put ${relative} into the toolbox's home: ${result.output.trim()}`);
    return result.output.includes('exists') ? 'exists' : 'written';
  }

  async open(sandbox: Sandbox, _kubeconfig: string, size: { cols: number; rows: number }): Promise<Shell> {
    const kc = this.options.kubeConfig();
    const { namespace } = sandbox;
    await this.ensureToolbox(kc, sandbox);
    const stdin = new PassThrough();
    const dataListeners: ((chunk: Buffer) => void)[] = [];
    const exitListeners: ((code: number | null) => void)[] = [];
    const reader = new AttachMarkReader();
    let attached: (value: { attachment: Attachment } | { error: string }) => void = () => undefined;
    const attaching = new Promise<{ attachment: Attachment } | { error: string }>((resolve) => {
      attached = resolve;
    });
    let marked = false;
    // client-node sends a resize whenever the stdout stream announces one.
    const stdout = Object.assign(
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          let data: Buffer = chunk;
          if (!marked) {
            const read = reader.push(chunk);
            if (read) {
              marked = true;
              attached(read);
            }
            if (!read || 'error' in read) {
              done();
              return;
            }
            data = read.rest;
          }
          if (data.length > 0) for (const listener of dataListeners) listener(data);
          done();
        },
      }),
      { columns: size.cols, rows: size.rows },
    );
    let exited = false;
    const finish = (code: number | null) => {
      if (!marked) attached({ error: 'the terminal closed before the shell started' });
      if (exited) return;
      exited = true;
      for (const listener of exitListeners) listener(code);
    };
    const socket = await new Exec(kc).exec(namespace, TOOLBOX_POD, 'toolbox', attachCommand(), stdout, stdout, stdin, true, (status: V1Status) => {
      finish(status.status === 'Success' ? 0 : 1);
    });
    socket.on('close', () => {
      finish(null);
    });
    const timer = setTimeout(() => {
      attached({ error: `the shell did not start within ${ATTACH_TIMEOUT_MS / 1000} s` });
    }, ATTACH_TIMEOUT_MS);
    const result = await attaching;
    clearTimeout(timer);
    if ('error' in result) {
      socket.close();
      throw new Unavailable(`could not start the shell in the toolbox: ${result.error}`);
    }
    const { attachment } = result;
    const id = randomUUID();
    const pods = () => kc.makeApiClient(CoreV1Api);
    let killed = false;
    const kill = async () => {
      if (killed) return;
      killed = true;
      // First through the shell itself: its builtin kill needs no new process, so it works
      // even when a fork bomb holds every process slot of the Pod.
      stdin.write('\x03\x15 kill -9 -1\n');
      await sleep(300);
      socket.close();
      // Everything the learner started, background jobs and dtach included; the Pod's own
      // process 1 cannot be signalled from inside its namespace, so the toolbox and its home
      // stay. kill -1 fails once it finds nothing left to signal: that is the success. A fork
      // bomb may hold every process slot, so the exec that kills is retried; if it never gets
      // in, or the bomb outlives its rounds, the Pod goes (and its home with it).
      for (let attempt = 0; attempt < 5; attempt += 1) {
        const killedAll = await run(kc, namespace, ['sh', '-c', KILL_ALL], 5000).catch(() => undefined);
        if (killedAll?.ok) return;
        await sleep(250);
      }
      await call(() => pods().deleteNamespacedPod({ name: TOOLBOX_POD, namespace, gracePeriodSeconds: 0 }));
    };
    return {
      ...(attachment.kind === 'dtach' && attachment.joined ? { joined: attachment.joined } : {}),
      onData: (listener) => dataListeners.push(listener),
      onExit: (listener) => exitListeners.push(listener),
      write: (data) => stdin.write(data),
      resize: (cols, rows) => {
        stdout.columns = cols;
        stdout.rows = rows;
        stdout.emit('resize');
      },
      // Pausing the websocket stops reading it: TCP back-pressure reaches the process's pty.
      pause: () => {
        socket.pause();
      },
      resume: () => {
        socket.resume();
      },
      claim: async () => {
        const patched = await rawClient(kc).mergePatch({ apiVersion: 'v1', kind: 'Pod', metadata: { name: TOOLBOX_POD, namespace, annotations: { [ATTACHMENT_ANNOTATION]: id } } });
        if (!patched.ok) throw new Unavailable(`could not mark the terminal's attachment: ${patched.error.message}`);
      },
      claimedElsewhere: async () => {
        if (attachment.kind !== 'dtach') return false;
        const pod = await call(() => pods().readNamespacedPod({ name: TOOLBOX_POD, namespace }));
        const holder = pod.ok ? pod.value.metadata?.annotations?.[ATTACHMENT_ANNOTATION] : undefined;
        return holder !== undefined && holder !== id;
      },
      detach: async () => {
        // A plain shell (no dtach in the image) cannot outlive its exec: it ends as it always did.
        if (attachment.kind !== 'dtach') return kill();
        if (killed) return;
        killed = true;
        // This attachment's dtach client goes; the shell and other attachments stay.
        await run(kc, namespace, detachCommand(attachment.pid), 3000).catch(() => undefined);
        socket.close();
      },
      kill,
      refreshCredentials: () => Promise.resolve(), // the Pod's projected token is renewed by the kubelet
    };
  }
}
