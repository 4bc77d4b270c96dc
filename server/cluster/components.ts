import path from 'node:path';
import type { Binaries } from './build.ts';
import type { ClusterDirs } from './paths.ts';
import { SERVICE_CIDR, type Pki } from './pki.ts';

/**
 * How each process of the embedded cluster is started: binary, flags, port and health check.
 * Every listener is bound to 127.0.0.1; every connection between components is mutual TLS.
 */

export const componentIds = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'] as const;
export type ComponentId = (typeof componentIds)[number];

export const portNames = ['etcd', 'etcdPeer', 'etcdMetrics', 'apiserver', 'controllerManager', 'scheduler', 'kwok'] as const;
export type PortName = (typeof portNames)[number];
export type Ports = Record<PortName, number>;

export interface HealthCheck {
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
  health: HealthCheck;
  /** Components that must be healthy before this one starts. */
  after: ComponentId[];
}

export interface ComponentContext {
  binaries: Binaries;
  pki: Pki;
  dirs: ClusterDirs;
  ports: Ports;
  etcdUnsafeNoFsync: boolean;
  kwokStagesFile: string;
}

export function kubeconfigFor(dirs: ClusterDirs, name: 'controller-manager' | 'scheduler' | 'kwok' | 'super-admin'): string {
  return path.join(dirs.config, `${name}.kubeconfig`);
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
    after: [],
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
    after: ['etcd'],
    args: [
      `--etcd-servers=https://${local(ports.etcd)}`,
      `--etcd-cafile=${f('etcd-ca.crt')}`,
      `--etcd-certfile=${f('apiserver-etcd-client.crt')}`,
      `--etcd-keyfile=${f('apiserver-etcd-client.key')}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${ports.apiserver}`,
      `--tls-cert-file=${f('apiserver.crt')}`,
      `--tls-private-key-file=${f('apiserver.key')}`,
      `--client-ca-file=${f('ca.crt')}`,
      // Learners' shells reach this port: nothing is served to a request without credentials.
      '--anonymous-auth=false',
      '--authorization-mode=Node,RBAC',
      '--enable-admission-plugins=NodeRestriction,ResourceQuota,LimitRanger,PodSecurity,ValidatingAdmissionPolicy',
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
      // The aggregation layer, for metrics-server's metrics.k8s.io.
      `--requestheader-client-ca-file=${f('front-proxy-ca.crt')}`,
      '--requestheader-allowed-names=front-proxy-client',
      '--requestheader-username-headers=X-Remote-User',
      '--requestheader-group-headers=X-Remote-Group',
      '--requestheader-extra-headers-prefix=X-Remote-Extra-',
      `--proxy-client-cert-file=${f('front-proxy-client.crt')}`,
      `--proxy-client-key-file=${f('front-proxy-client.key')}`,
      '--enable-aggregator-routing=true',
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
    after: ['kube-apiserver'],
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
      '--horizontal-pod-autoscaler-sync-period=5s',
      '--profiling=false',
    ],
    health: { url: `https://${local(ports.controllerManager)}/healthz`, ca: f('ca.crt') },
  };

  const scheduler: ComponentDefinition = {
    id: 'kube-scheduler',
    binary: ctx.binaries.kubeScheduler,
    port: ports.scheduler,
    after: ['kube-apiserver'],
    args: [
      `--kubeconfig=${kubeconfigFor(dirs, 'scheduler')}`,
      `--authentication-kubeconfig=${kubeconfigFor(dirs, 'scheduler')}`,
      `--authorization-kubeconfig=${kubeconfigFor(dirs, 'scheduler')}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${ports.scheduler}`,
      `--tls-cert-file=${f('scheduler-serving.crt')}`,
      `--tls-private-key-file=${f('scheduler-serving.key')}`,
      `--client-ca-file=${f('ca.crt')}`,
      '--leader-elect=false',
      '--kube-api-qps=200',
      '--kube-api-burst=400',
      '--profiling=false',
    ],
    health: { url: `https://${local(ports.scheduler)}/healthz`, ca: f('ca.crt') },
  };

  const kwok: ComponentDefinition = {
    id: 'kwok',
    binary: ctx.binaries.kwok,
    port: ports.kwok,
    after: ['kube-apiserver'],
    args: [
      `--kubeconfig=${kubeconfigFor(dirs, 'kwok')}`,
      `--config=${ctx.kwokStagesFile}`,
      '--manage-all-nodes=true',
      '--cidr=10.244.0.0/16',
      '--node-ip=10.200.0.1',
      '--node-lease-duration-seconds=40',
      `--server-address=${local(ports.kwok)}`,
      `--tls-cert-file=${f('kwok-serving.crt')}`,
      `--tls-private-key-file=${f('kwok-serving.key')}`,
    ],
    health: { url: `https://${local(ports.kwok)}/healthz`, ca: f('ca.crt') },
  };

  return [etcd, apiserver, controllerManager, scheduler, kwok];
}
