import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { rawClient } from '../../server/cluster/apply.ts';
import type { ClusterStatus } from '../../server/cluster/local.ts';
import { loadLibrary } from '../../server/lessons/library.ts';
import { labsFromLibrary } from '../../server/sandboxes/labs.ts';
import type { SandboxAccess, SandboxService } from '../../server/sandboxes/service.ts';
import { projectRoot, runCliOk } from '../helpers/cli.ts';
import { adminKubeConfig, eventually } from '../helpers/cluster.ts';
import { kubectlFor, offlineImages, podOf, running, waitPod, type Kubectl } from '../helpers/real-node.ts';
import { sandboxService } from '../helpers/sandboxes.ts';

/**
 * The real node of the embedded cluster, used as a learner uses it: their sandbox's kubeconfig
 * and kubectl. Containers really run (logs, exec, port-forward, DNS, restarts, probes, exit
 * codes, OOM kills) and the walls hold for real traffic. Needs root, as the real node does.
 */

let service: SandboxService;
let admin: KubeConfig;
let status: ClusterStatus;
let alice: SandboxAccess;
let bob: SandboxAccess;
let ka: Kubectl;
let kb: Kubectl;
let busybox: string;

const sleeper = (name: string, extra: string[] = []) => ['run', name, `--image=${busybox}`, '--restart=Never', ...extra, '--', 'sleep', '3600'];

beforeAll(async () => {
  status = JSON.parse((await runCliOk(['cluster', 'status', '--json', '--data-dir', inject('clusterDataDir')])).stdout) as ClusterStatus;
  if (!status.realNode) throw new Error('the shared test cluster has no real node: these tests need root (the real node needs it), as CI runs them');
  admin = adminKubeConfig(inject('kubeconfig'));
  service = await sandboxService(inject('kubeconfig'));
  [alice, bob] = await Promise.all([
    service.create({ learnerId: 'alice-real', learnerName: 'Alice', lesson: 'kubernetes-fundamentals' }),
    service.create({ learnerId: 'bob-real', learnerName: 'Bob', lesson: 'kubernetes-fundamentals' }),
  ]);
  [ka, kb] = await Promise.all([kubectlFor(alice.kubeconfig), kubectlFor(bob.kubeconfig)]);
  busybox = (await offlineImages()).busybox;
});

afterAll(async () => {
  await Promise.all([alice, bob].filter(Boolean).map((s) => service.delete(s.sandbox.namespace, { wait: false })));
});

describe('the real node', () => {
  it('sits beside the simulated nodes, and every node says which it is', async () => {
    const nodes = await ka(['get', 'nodes', '-L', 'kubedojo.dev/node', '--no-headers']);
    expect(nodes.code, nodes.stderr).toBe(0);
    const lines = nodes.stdout.trim().split('\n');
    expect(lines.filter((l) => /^real-node\s+Ready\s+real\s.*\sreal$/.test(l))).toHaveLength(1);
    expect(lines.filter((l) => /\ssimulated\s.*\ssimulated$/.test(l))).toHaveLength(7);
    for (const id of ['containerd', 'kubelet', 'kube-proxy', 'coredns', 'kube-network-policies']) {
      expect(status.components.find((c) => c.id === id)?.state, id).toBe('running');
    }
  });

  it('runs a Pod: Running with its first log line, and exec answers', async () => {
    const made = await ka(['run', 'hello', `--image=${busybox}`, '--restart=Never', '--', 'sh', '-c', 'echo hello from a real container; sleep 3600']);
    expect(made.code, made.stderr).toBe(0);
    const pod = await waitPod(admin, alice.sandbox.namespace, 'hello', 'Running', running);
    expect(pod.spec?.nodeName).toBe('real-node');
    await eventually(async () => ((await ka(['logs', 'hello'])).stdout.includes('hello from a real container') ? true : undefined), 'the first log line');
    const echoed = await ka(['exec', 'hello', '--', 'sh', '-c', 'echo $((6 * 7))']);
    expect(echoed.stdout.trim()).toBe('42');
  });

  it('port-forwards to a page a Pod serves', async () => {
    await ka(['run', 'web', `--image=${busybox}`, '--restart=Never', '--labels=app=web', '--port=80', '--', 'sh', '-c', 'mkdir -p /www && echo "<h1>served by a real Pod</h1>" > /www/index.html && exec httpd -f -p 80 -h /www']);
    await waitPod(admin, alice.sandbox.namespace, 'web', 'Running', running);
    const forward = spawn(ka.path, [`--kubeconfig=${alice.kubeconfig}`, 'port-forward', 'pod/web', ':80']);
    try {
      const localPort = await new Promise<number>((resolve, reject) => {
        forward.stdout.setEncoding('utf8').on('data', (text: string) => {
          const match = /127\.0\.0\.1:(\d+) ->/.exec(text);
          if (match) resolve(Number(match[1]));
        });
        forward.once('exit', (code) => {
          reject(new Error(`port-forward exited with ${code}`));
        });
      });
      const page = await (await fetch(`http://127.0.0.1:${localPort}/`)).text();
      expect(page).toContain('served by a real Pod');
    } finally {
      forward.kill();
    }
  });

  it('reaches a Service by name through cluster DNS from another Pod', async () => {
    expect((await ka(['expose', 'pod', 'web', '--port=80'])).code).toBe(0);
    await ka(sleeper('client'));
    await waitPod(admin, alice.sandbox.namespace, 'client', 'Running', running);
    const short = await ka(['exec', 'client', '--', 'timeout', '10', 'wget', '-qO-', 'http://web']);
    expect(short.stdout, short.stderr).toContain('served by a real Pod');
    // A Service used the moment it exists: its first packet beats kube-proxy's rules, and the
    // retry must still reach it (it used to hang, stuck on a conntrack entry without DNAT).
    for (const name of ['web-now-1', 'web-now-2', 'web-now-3']) {
      expect((await ka(['expose', 'pod', 'web', '--port=80', `--name=${name}`])).code).toBe(0);
      const fresh = await ka(['exec', 'client', '--', 'timeout', '10', 'wget', '-qO-', `http://${name}`]);
      expect(fresh.stdout, `${name}: ${fresh.stderr}`).toContain('served by a real Pod');
    }
    const full = await ka(['exec', 'client', '--', 'timeout', '10', 'wget', '-qO-', `http://web.${alice.sandbox.namespace}.svc.cluster.local`]);
    expect(full.stdout, full.stderr).toContain('served by a real Pod');
  });

  it("shows a crashing container's restarts and its previous log", async () => {
    await ka(['run', 'crasher', `--image=${busybox}`, '--', 'sh', '-c', 'echo "attempt at $(date +%s%N)"; exit 1']);
    const pod = await waitPod(admin, alice.sandbox.namespace, 'crasher', 'a restart', (p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1, 90_000);
    expect(pod.status?.containerStatuses?.[0]?.lastState?.terminated?.exitCode).toBe(1);
    const previous = await ka(['logs', 'crasher', '--previous']);
    expect(previous.stdout).toMatch(/attempt at \d+/);
  });

  it('restarts a container whose liveness probe fails', async () => {
    const manifest = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'sickly' },
      spec: {
        // sleep, as process 1, ignores SIGTERM: do not wait the default 30 s to kill it.
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: 'app',
            image: busybox,
            command: ['sh', '-c', 'touch /tmp/healthy; sleep 2; rm /tmp/healthy; sleep 3600'],
            livenessProbe: { exec: { command: ['cat', '/tmp/healthy'] }, periodSeconds: 1, failureThreshold: 1 },
          },
        ],
      },
    };
    expect((await ka(['apply', '-f', '-'], { stdin: JSON.stringify(manifest) })).code).toBe(0);
    const pod = await waitPod(admin, alice.sandbox.namespace, 'sickly', 'a restart by its probe', (p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1, 90_000);
    expect(pod.status?.containerStatuses?.[0]?.lastState?.terminated?.exitCode).toBe(137);
    const events = await ka(['get', 'events', '--field-selector', 'involvedObject.name=sickly', '-o', 'jsonpath={.items[*].message}']);
    expect(events.stdout).toMatch(/Liveness probe failed/);
  });

  it("ends a Job's Pod with the program's real exit code", async () => {
    expect((await ka(['create', 'job', 'exit3', `--image=${busybox}`, '--', 'sh', '-c', 'echo failing on purpose; exit 3'])).code).toBe(0);
    const pods = await eventually(async () => {
      const listed = await ka(['get', 'pods', '-l', 'job-name=exit3', '-o', 'jsonpath={.items[*].metadata.name}']);
      return listed.stdout.trim() === '' ? undefined : listed.stdout.trim().split(' ');
    }, "the Job's Pod");
    const pod = await waitPod(admin, alice.sandbox.namespace, pods[0] ?? '', 'terminated', (p) => p.status?.containerStatuses?.[0]?.state?.terminated !== undefined, 60_000);
    expect(pod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(3);
    expect(pod.spec?.nodeName).toBe('real-node');
  });

  it('kills a container that goes over its memory limit (OOMKilled)', async () => {
    const manifest = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'hungry' },
      spec: {
        restartPolicy: 'Never',
        // tail keeps every "line" of /dev/zero in memory: it grows until the limit stops it.
        containers: [{ name: 'app', image: busybox, command: ['tail', '/dev/zero'], resources: { limits: { memory: '32Mi' }, requests: { memory: '32Mi' } } }],
      },
    };
    expect((await ka(['apply', '-f', '-'], { stdin: JSON.stringify(manifest) })).code).toBe(0);
    const pod = await waitPod(admin, alice.sandbox.namespace, 'hungry', 'terminated', (p) => p.status?.containerStatuses?.[0]?.state?.terminated !== undefined, 60_000);
    expect(pod.status?.containerStatuses?.[0]?.state?.terminated?.reason).toBe('OOMKilled');
  });
});

describe("the Fundamentals lesson's commands", () => {
  it('answer logs, exec and port-forward with the hello Pod its lab puts in the home', async () => {
    const library = await loadLibrary(path.join(projectRoot, 'lessons'));
    const lab = await labsFromLibrary(library)('kubernetes-fundamentals');
    const file = lab?.files.find((f) => f.path === 'hello-pod.yaml');
    expect(file, 'the lab gives the learner hello-pod.yaml').toBeDefined();
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-home-'));
    await fs.writeFile(path.join(dir, 'hello-pod.yaml'), file?.content ?? '');
    // The lesson's block, as written: apply, get, describe, logs, exec, delete.
    const applied = await kb(['apply', '-f', path.join(dir, 'hello-pod.yaml')]);
    expect(applied.code, applied.stderr).toBe(0);
    await waitPod(admin, bob.sandbox.namespace, 'hello', 'Ready', (p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true, 90_000);
    expect((await kb(['get', 'pod', 'hello', '-o', 'wide'])).stdout).toContain('real-node');
    expect((await kb(['describe', 'pod', 'hello'])).stdout).toMatch(/Events:[\s\S]*Started/);
    expect((await kb(['logs', 'hello'])).stdout).toContain('hello: serving http://localhost/');
    expect((await kb(['exec', 'hello', '--', 'wget', '-qO-', 'http://localhost/'])).stdout).toContain('hello from a real container');
    const forward = spawn(kb.path, [`--kubeconfig=${bob.kubeconfig}`, 'port-forward', 'pod/hello', ':80']);
    try {
      const localPort = await new Promise<number>((resolve, reject) => {
        forward.stdout.setEncoding('utf8').on('data', (text: string) => {
          const match = /127\.0\.0\.1:(\d+) ->/.exec(text);
          if (match) resolve(Number(match[1]));
        });
        forward.once('exit', (code) => {
          reject(new Error(`port-forward exited with ${code}`));
        });
      });
      expect(await (await fetch(`http://127.0.0.1:${localPort}/`)).text()).toContain('hello from a real container');
    } finally {
      forward.kill();
    }
    expect((await kb(['delete', 'pod', 'hello', '--wait=false'])).code).toBe(0);
    await fs.rm(dir, { recursive: true, force: true });
  });
});

describe('the walls, for real traffic', () => {
  it("keeps a learner's Pod from the host, the kubelet and the node's services, but not from the API or DNS", async () => {
    const nodeIp = status.realNode?.address ?? '';
    const hostIp = nodeIp.replace(/\.2$/, '.1');
    // A service on every address of the host, as a careless program would listen.
    const listener = net.createServer((socket) => socket.end('host secret\n')).listen(0, '0.0.0.0');
    await new Promise((resolve) => listener.once('listening', resolve));
    const port = (listener.address() as net.AddressInfo).port;
    const external = Object.values(os.networkInterfaces())
      .flat()
      .find((a) => a?.family === 'IPv4' && !a.internal && !a.address.startsWith('10.249.'))?.address;
    try {
      const probe = async (host: string, p: number) => (await ka(['exec', 'client', '--', 'sh', '-c', `echo | timeout 3 nc ${host} ${p} >/dev/null 2>&1 && echo open || echo closed`])).stdout.trim();
      const targets: [string, number][] = [
        [hostIp, port],
        [nodeIp, 10250],
        [nodeIp, 10248],
        [nodeIp, 10256],
        [nodeIp, 9080],
      ];
      if (external) targets.push([external, port]);
      for (const [host, p] of targets) expect(await probe(host, p), `${host}:${p}`).toBe('closed');
      expect(await probe('10.96.0.1', 443), 'the API through the kubernetes Service').toBe('open');
      expect(await probe('10.96.0.10', 53), 'cluster DNS').toBe('open');
    } finally {
      listener.close();
    }
  });

  it("keeps one sandbox's Pods out of another's (NetworkPolicy enforced on the node)", async () => {
    await kb(sleeper('intruder'));
    await waitPod(admin, bob.sandbox.namespace, 'intruder', 'Running', running);
    const webIp = (await podOf(admin, alice.sandbox.namespace, 'web'))?.status?.podIP ?? '';
    expect(webIp).toMatch(/^10\.250\./);
    const fromBob = await kb(['exec', 'intruder', '--', 'sh', '-c', `timeout 5 wget -qO- http://${webIp} || echo blocked`]);
    expect(fromBob.stdout).toContain('blocked');
    const fromAlice = await ka(['exec', 'client', '--', 'sh', '-c', `timeout 5 wget -qO- http://${webIp} || echo blocked`]);
    expect(fromAlice.stdout).toContain('served by a real Pod');
  });
});

describe('where Pods go', () => {
  it('sends what the real node cannot run to the simulated nodes, and says so on logs and exec', async () => {
    // As on these offline machines (and whatever this one can reach): the node has only the
    // images it was given. `cluster up` sets this from a probe of the registry.
    const offline = { metadata: { annotations: { 'kubedojo.dev/registry-access': 'offline' } } };
    expect((await rawClient(admin).request('PATCH', '/api/v1/nodes/real-node', offline, 'application/merge-patch+json')).ok).toBe(true);
    await ka(['run', 'nginx', '--image=nginx:1.27']);
    const pod = await waitPod(admin, alice.sandbox.namespace, 'nginx', 'scheduled', (p) => p.spec?.nodeName !== undefined);
    expect(pod.spec?.nodeName).not.toBe('real-node');
    const logs = await ka(['logs', 'nginx']);
    expect(logs.stderr).toContain('runs on a simulated node');
    const exec = await ka(['exec', 'nginx', '--', 'ls']);
    expect(exec.stderr).toContain('runs on a simulated node');
    // Pinned to the real node, it waits with the reason instead of failing to pull.
    await ka(['run', 'pinned', '--image=nginx:1.27', '--overrides={"spec":{"nodeSelector":{"kubedojo.dev/node":"real"}}}']);
    const why = await eventually(async () => {
      const events = await ka(['get', 'events', '--field-selector', 'involvedObject.name=pinned,reason=FailedScheduling', '-o', 'jsonpath={.items[*].message}']);
      return events.stdout.includes('do not have image nginx:1.27') ? events.stdout : undefined;
    }, 'the scheduling reason');
    expect(why).toContain('offline');
  });

  it('keeps a Pod with a PersistentVolumeClaim, and every Pod of a simulated lab, on simulated nodes', async () => {
    const claimPod = {
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
        { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'claimer' }, spec: { containers: [{ name: 'c', image: busybox, command: ['sleep', '3600'] }], volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'data' } }] } },
      ],
    };
    expect((await ka(['apply', '-f', '-'], { stdin: JSON.stringify(claimPod) })).code).toBe(0);
    const claimer = await waitPod(admin, alice.sandbox.namespace, 'claimer', 'scheduled', (p) => p.spec?.nodeName !== undefined);
    expect(claimer.spec?.nodeName).not.toBe('real-node');

    const advanced = await service.create({ learnerId: 'carol-real', learnerName: 'Carol', lesson: 'advanced-kubernetes-patterns' });
    try {
      const kc = await kubectlFor(advanced.kubeconfig);
      await kc(sleeper('local-image'));
      const pod = await waitPod(admin, advanced.sandbox.namespace, 'local-image', 'scheduled', (p) => p.spec?.nodeName !== undefined);
      expect(pod.spec?.nodeName).not.toBe('real-node');
    } finally {
      await service.delete(advanced.sandbox.namespace, { wait: false });
    }
  });
});
