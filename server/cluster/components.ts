import path from 'node:path';
import type { Binaries } from './build.ts';
import type { ClusterDirs } from './paths.ts';
import { SERVICE_CIDR, type Pki } from './pki.ts';

/**
 * How each process of the embedded cluster is started: binary, flags, port and health check.
 * Every listener is bound to 127.0.0.1; every connection between components is mutual TLS.
 */

export const controlPlaneIds = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok', 'metrics-server'] as const;
/** The real node's processes (server/cluster/node/components.ts), in start order. */
export const nodeComponentIds = ['api-bridge', 'api-bridge-node', 'containerd', 'kube-network-policies', 'kubelet', 'kube-proxy', 'coredns'] as const;
export const componentIds = [...controlPlaneIds, ...nodeComponentIds] as const;
export type ComponentId = (typeof componentIds)[number];
export type ControlPlaneId = (typeof controlPlaneIds)[number];

export const portNames = ['etcd', 'etcdPeer', 'etcdMetrics', 'apiserver', 'controllerManager', 'scheduler', 'kwok', 'metricsServer'] as const;
export type PortName = (typeof portNames)[number];
export type Ports = Record<PortName, number>;

export interface HealthCheck {
  /** http(s): a GET answering 200; unix:/tcp: a connection that opens. */
  url: string;
  /** Client certificate to present (the apiserver refuses anonymous requests). */
  clientCert?: { cert: string; key: string };
  ca?: string;
}

export interface ComponentDefinition {
  id: ComponentId;
  binary: string;
  args: string[];
  /** The port shown by `status`. */
  port: number;
  /** Where it listens, when that is not 127.0.0.1:port (the real node's components). */
  where?: string;
  health: HealthCheck;
  startTimeoutMs: number;
  /** How long SIGTERM may take before SIGKILL (default 10 s). */
  stopGraceMs?: number;
  /** Stop its whole process group (a proxy's per-connection children). */
  group?: boolean;
  /** Its environment, when it needs more than the fixed minimal one. */
  env?: Record<string, string>;
  /** false: certificates renewing does not restart it (it reads none). */
  readsPki?: boolean;
  /** Files read at start: a change to one restarts the component, as a change of flags does. */
  configFiles?: readonly string[];
}

export interface ComponentContext {
  binaries: Binaries;
  pki: Pki;
  dirs: ClusterDirs;
  ports: Ports;
  etcdUnsafeNoFsync: boolean;
  /** kwok's --config files: Stages and the Metric that serves kubelet-style resource metrics. */
  kwokConfigFiles: readonly string[];
  /** The real node's address, when there is one: the API server is advertised there for Pods. */
  nodeIp: string | undefined;
}

/** How often metrics-server scrapes kwok: the lowest its validation accepts (10s). */
export const METRIC_RESOLUTION = '10s';

export function kubeconfigFor(dirs: ClusterDirs, name: 'controller-manager' | 'scheduler' | 'kwok' | 'metrics-server' | 'super-admin'): string {
  return path.join(dirs.config, `${name}.kubeconfig`);
}

export function schedulerConfigFile(dirs: ClusterDirs): string {
  return path.join(dirs.config, 'scheduler.yaml');
}

/**
 * The scheduler's configuration: upstream's profile plus kubedojo's plugin (see
 * sandboxes/controlplane/kubernetes/realnode), which sends Pods to the real node when it can run
 * them. Its score weighs more than the standard plugins together; Pods that state preferences
 * of their own get no score from it at all.
 */
export function schedulerConfig(dirs: ClusterDirs): string {
  return [
    'apiVersion: kubescheduler.config.k8s.io/v1',
    'kind: KubeSchedulerConfiguration',
    'clientConnection:',
    `  kubeconfig: ${JSON.stringify(kubeconfigFor(dirs, 'scheduler'))}`,
    '  qps: 200',
    '  burst: 400',
    'leaderElection:',
    '  leaderElect: false',
    'profiles:',
    '  - schedulerName: default-scheduler',
    '    plugins:',
    '      multiPoint:',
    '        enabled:',
    '          - name: KubedojoRealNode',
    '            weight: 10',
    '',
  ].join('\n');
}

export function componentDefinitions(ctx: ComponentContext): ComponentDefinition[] {
  const { pki, ports, dirs } = ctx;
  const f = pki.file.bind(pki);
  const local = (port: number) => `127.0.0.1:${port}`;
  const superAdmin = { cert: f('super-admin.crt'), key: f('super-admin.key') };

  const etcd: ComponentDefinition = {
    id: 'etcd',
    binary: ctx.binaries.etcd,
    port: ports.etcd,
    startTimeoutMs: 30_000,
    args: [
      '--name=kubedojo',
      `--data-dir=${dirs.etcdData}`,
      `--listen-client-urls=https://${local(ports.etcd)}`,
      `--advertise-client-urls=https://${local(ports.etcd)}`,
      `--listen-peer-urls=http://${local(ports.etcdPeer)}`,
      `--initial-advertise-peer-urls=http://${local(ports.etcdPeer)}`,
      `--initial-cluster=kubedojo=http://${local(ports.etcdPeer)}`,
      // Health and metrics only, no data: plain HTTP on loopback is enough for them.
      `--listen-metrics-urls=http://${local(ports.etcdMetrics)}`,
      `--cert-file=${f('etcd-server.crt')}`,
      `--key-file=${f('etcd-server.key')}`,
      `--trusted-ca-file=${f('etcd-ca.crt')}`,
      '--client-cert-auth=true',
      '--auto-compaction-retention=1h',
      '--quota-backend-bytes=4294967296',
      '--log-level=warn',
      ...(ctx.etcdUnsafeNoFsync ? ['--unsafe-no-fsync=true'] : []),
    ],
    health: { url: `http://${local(ports.etcdMetrics)}/health` },
  };

  const apiserver: ComponentDefinition = {
    id: 'kube-apiserver',
    binary: ctx.binaries.kubeApiserver,
    port: ports.apiserver,
    startTimeoutMs: 120_000,
    args: [
      `--etcd-servers=https://${local(ports.etcd)}`,
      `--etcd-cafile=${f('etcd-ca.crt')}`,
      `--etcd-certfile=${f('apiserver-etcd-client.crt')}`,
      `--etcd-keyfile=${f('apiserver-etcd-client.key')}`,
      '--bind-address=127.0.0.1',
      // Pods reach the API at the kubernetes Service: its endpoint is the real node's side of
      // the API bridge. Without a real node nothing runs in Pods and loopback is kept.
      `--advertise-address=${ctx.nodeIp ?? '127.0.0.1'}`,
      `--secure-port=${ports.apiserver}`,
      `--tls-cert-file=${f('apiserver.crt')}`,
      `--tls-private-key-file=${f('apiserver.key')}`,
      `--client-ca-file=${f('ca.crt')}`,
      // Learners' shells reach this port: nothing is served to a request without credentials.
      '--anonymous-auth=false',
      '--authorization-mode=Node,RBAC',
      // DenyServiceExternalIPs: no Service may claim an outside address (CVE-2020-8554).
      '--enable-admission-plugins=NodeRestriction,ResourceQuota,LimitRanger,PodSecurity,ValidatingAdmissionPolicy,DenyServiceExternalIPs',
      '--allow-privileged=true',
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${f('sa.pub')}`,
      `--service-account-signing-key-file=${f('sa.key')}`,
      // Learners' tokens must expire when their sandbox does: no silent one-year extension.
      '--service-account-extend-token-expiration=false',
      '--service-account-max-token-expiration=48h',
      `--kubelet-client-certificate=${f('apiserver-kubelet-client.crt')}`,
      `--kubelet-client-key=${f('apiserver-kubelet-client.key')}`,
      `--kubelet-certificate-authority=${f('ca.crt')}`,
      // kwok's nodes answer at 127.0.0.1, the real node at its own address: never by name.
      '--kubelet-preferred-address-types=InternalIP',
      // The aggregation layer, for metrics-server's metrics.k8s.io.
      `--requestheader-client-ca-file=${f('front-proxy-ca.crt')}`,
      '--requestheader-allowed-names=front-proxy-client',
      '--requestheader-username-headers=X-Remote-User',
      '--requestheader-group-headers=X-Remote-Group',
      '--requestheader-extra-headers-prefix=X-Remote-Extra-',
      `--proxy-client-cert-file=${f('front-proxy-client.crt')}`,
      `--proxy-client-key-file=${f('front-proxy-client.key')}`,
      // No --enable-aggregator-routing: an EndpointSlice may not point at 127.0.0.1, so the
      // metrics.k8s.io APIService goes through an ExternalName Service to 127.0.0.1, as kwokctl does.
      '--profiling=false',
      // Room for a workshop's burst of sandboxes (the platform also queues its own requests).
      '--max-requests-inflight=800',
      '--max-mutating-requests-inflight=400',
      '--v=0',
    ],
    health: { url: `https://${local(ports.apiserver)}/readyz`, clientCert: superAdmin, ca: f('ca.crt') },
  };

  const controllerManager: ComponentDefinition = {
    id: 'kube-controller-manager',
    binary: ctx.binaries.kubeControllerManager,
    port: ports.controllerManager,
    startTimeoutMs: 60_000,
    args: [
      `--kubeconfig=${kubeconfigFor(dirs, 'controller-manager')}`,
      `--authentication-kubeconfig=${kubeconfigFor(dirs, 'controller-manager')}`,
      `--authorization-kubeconfig=${kubeconfigFor(dirs, 'controller-manager')}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${ports.controllerManager}`,
      `--tls-cert-file=${f('controller-manager-serving.crt')}`,
      `--tls-private-key-file=${f('controller-manager-serving.key')}`,
      `--client-ca-file=${f('ca.crt')}`,
      `--root-ca-file=${f('ca.crt')}`,
      `--service-account-private-key-file=${f('sa.key')}`,
      '--use-service-account-credentials=true',
      `--cluster-signing-cert-file=${f('ca.crt')}`,
      `--cluster-signing-key-file=${f('ca.key')}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--leader-elect=false',
      // Sandboxes come and go quickly: let the namespace, GC and quota controllers keep up.
      '--kube-api-qps=200',
      '--kube-api-burst=400',
      '--concurrent-namespace-syncs=20',
      '--concurrent-gc-syncs=40',
      '--concurrent-resource-quota-syncs=20',
      '--resource-quota-sync-period=30s',
      // The HPA acts on fresh metrics within seconds (metrics-server scrapes every 10s).
      '--horizontal-pod-autoscaler-sync-period=5s',
      '--profiling=false',
    ],
    health: { url: `https://${local(ports.controllerManager)}/healthz`, ca: f('ca.crt') },
  };

  const scheduler: ComponentDefinition = {
    id: 'kube-scheduler',
    binary: ctx.binaries.kubeScheduler,
    port: ports.scheduler,
    startTimeoutMs: 60_000,
    args: [
      // Client connection, rates and leader election are in the config file (with --config,
      // their flags would be ignored).
      `--config=${schedulerConfigFile(dirs)}`,
      `--authentication-kubeconfig=${kubeconfigFor(dirs, 'scheduler')}`,
      `--authorization-kubeconfig=${kubeconfigFor(dirs, 'scheduler')}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${ports.scheduler}`,
      `--tls-cert-file=${f('scheduler-serving.crt')}`,
      `--tls-private-key-file=${f('scheduler-serving.key')}`,
      `--client-ca-file=${f('ca.crt')}`,
      '--profiling=false',
    ],
    health: { url: `https://${local(ports.scheduler)}/healthz`, ca: f('ca.crt') },
    configFiles: [schedulerConfigFile(dirs)],
  };

  const kwok: ComponentDefinition = {
    id: 'kwok',
    binary: ctx.binaries.kwok,
    port: ports.kwok,
    startTimeoutMs: 60_000,
    args: [
      `--kubeconfig=${kubeconfigFor(dirs, 'kwok')}`,
      ...ctx.kwokConfigFiles.map((file) => `--config=${file}`),
      // Pod usage comes from ClusterResourceUsage objects the platform changes at run time
      // (server/cluster/usage.ts); Stages and the Metric are fixed and come from --config.
      '--enable-crds=ClusterResourceUsage',
      // Only the simulated nodes: the real node's kubelet is its own.
      '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
      '--cidr=10.244.0.0/16',
      // Every node's kubelet is this kwok: its address and port are where metrics-server
      // scrapes (a node's InternalIP, the kubelet port in its status).
      '--node-ip=127.0.0.1',
      `--node-port=${ports.kwok}`,
      '--node-lease-duration-seconds=40',
      `--server-address=${local(ports.kwok)}`,
      `--tls-cert-file=${f('kwok-serving.crt')}`,
      `--tls-private-key-file=${f('kwok-serving.key')}`,
      // Errors only: kwok logs every lease renewal, and for a node without pods a warning at
      // every metrics scrape (10 s); at INFO its log would grow by tens of MB a day.
      '--v=ERROR',
    ],
    health: { url: `https://${local(ports.kwok)}/healthz`, ca: f('ca.crt') },
    configFiles: ctx.kwokConfigFiles,
  };

  const metricsServer: ComponentDefinition = {
    id: 'metrics-server',
    binary: ctx.binaries.metricsServer,
    port: ports.metricsServer,
    startTimeoutMs: 60_000,
    args: [
      `--kubeconfig=${kubeconfigFor(dirs, 'metrics-server')}`,
      `--authentication-kubeconfig=${kubeconfigFor(dirs, 'metrics-server')}`,
      `--authorization-kubeconfig=${kubeconfigFor(dirs, 'metrics-server')}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${ports.metricsServer}`,
      `--tls-cert-file=${f('metrics-server-serving.crt')}`,
      `--tls-private-key-file=${f('metrics-server-serving.key')}`,
      `--client-ca-file=${f('ca.crt')}`,
      // Each node's kubelet at its InternalIP and the port in its status: kwok (127.0.0.1 and
      // kwok's port) for the simulated ones, the real kubelet for the real node. Both serving
      // certificates are checked against the cluster CA, no --kubelet-insecure-tls.
      '--kubelet-preferred-address-types=InternalIP',
      '--kubelet-use-node-status-port',
      `--kubelet-certificate-authority=${f('ca.crt')}`,
      // metrics-server's validation: resolution >= 10s, and above the request timeout / 0.9.
      `--metric-resolution=${METRIC_RESOLUTION}`,
      '--kubelet-request-timeout=5s',
      '--profiling=false',
    ],
    // /livez, not /readyz: readiness waits for two scrapes (20 s), which `up` need not.
    health: { url: `https://${local(ports.metricsServer)}/livez`, ca: f('ca.crt') },
  };

  return [etcd, apiserver, controllerManager, scheduler, kwok, metricsServer];
}
