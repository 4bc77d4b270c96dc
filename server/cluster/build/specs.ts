import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { controlPlaneModulesDir } from '../paths.ts';
import { BuildError } from './go.ts';

/**
 * What the embedded cluster builds from the Go module proxy, pinned in
 * sandboxes/controlplane/versions.json: one Go module per component under sandboxes/controlplane.
 * Components marked `node` belong to the real node and are built only when it is wanted.
 */

const semver = z.string().regex(/^v\d+\.\d+\.\d+$/);
const versionsSchema = z.object({
  kubernetes: z.string().regex(/^v1\.\d+\.\d+$/),
  etcd: z.string().regex(/^v3\.\d+\.\d+$/),
  kwok: semver,
  metricsServer: semver,
  coredns: semver,
  kubeNetworkPolicies: semver,
  criTools: semver,
});
export type Versions = z.infer<typeof versionsSchema>;

export async function readVersions(modulesDir = controlPlaneModulesDir): Promise<Versions> {
  const file = path.join(modulesDir, 'versions.json');
  const parsed = versionsSchema.safeParse(JSON.parse(await fs.readFile(file, 'utf8')));
  if (!parsed.success) throw new BuildError(`${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, 'inputs');
  return parsed.data;
}

/** `helm` is no part of the cluster: deploy/tools builds it with the same machinery (server/deploy/helm.ts). */
export type ComponentName = 'etcd' | 'kwok' | 'metrics-server' | 'kubernetes' | 'coredns' | 'kube-network-policies' | 'cri-tools' | 'helm';

export interface ComponentSpec {
  name: ComponentName;
  /** Directory under sandboxes/controlplane holding its go.mod (and patches/, if any). */
  module: string;
  version: (v: Versions) => string;
  packages: readonly string[];
  binaries: readonly string[];
  ldflags: (version: string) => string[];
  /** Part of the real node: built only when the real node is wanted. */
  node: boolean;
  /** The upstream module that patches/*.patch change (built from a patched copy of its source). */
  patched?: string;
  /** Rough disk needs in bytes for a cold build: Go build cache, module cache, binaries. */
  disk: { buildCache: number; moduleCache: number; output: number };
}

const GiB = 1024 ** 3;

const kubeVersionFlags = (version: string): string[] => {
  const [major, minor] = version.slice(1).split('.');
  const flags: string[] = [];
  // Both packages carry a copy of the version; tools (and kwokctl) parse `--version`.
  for (const pkg of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
    flags.push(`-X ${pkg}.gitVersion=${version}`, `-X ${pkg}.gitMajor=${major ?? ''}`, `-X ${pkg}.gitMinor=${minor ?? ''}`, `-X ${pkg}.gitTreeState=clean`);
  }
  return flags;
};

const small = { buildCache: 0.8 * GiB, moduleCache: 0.4 * GiB, output: 0.1 * GiB };

export const componentSpecs: readonly ComponentSpec[] = [
  {
    name: 'etcd',
    module: 'etcd',
    version: (v) => v.etcd,
    packages: ['.'],
    binaries: ['etcd'],
    ldflags: () => [],
    node: false,
    disk: { buildCache: 0.6 * GiB, moduleCache: 0.3 * GiB, output: 0.05 * GiB },
  },
  {
    name: 'kwok',
    module: 'kwok',
    version: (v) => v.kwok,
    packages: ['sigs.k8s.io/kwok/cmd/kwok'],
    binaries: ['kwok'],
    ldflags: () => [],
    node: false,
    patched: 'sigs.k8s.io/kwok',
    disk: small,
  },
  {
    name: 'metrics-server',
    module: 'metrics-server',
    version: (v) => v.metricsServer,
    packages: ['sigs.k8s.io/metrics-server/cmd/metrics-server'],
    binaries: ['metrics-server'],
    ldflags: (version) => [`-X k8s.io/client-go/pkg/version.gitVersion=${version}`],
    node: false,
    disk: small,
  },
  {
    name: 'kubernetes',
    module: 'kubernetes',
    version: (v) => v.kubernetes,
    // kube-scheduler is upstream's with kubedojo's real-node plugin registered (cmd/kube-scheduler).
    packages: [
      ...['kube-apiserver', 'kube-controller-manager', 'kubectl', 'kubelet', 'kube-proxy'].map((c) => `k8s.io/kubernetes/cmd/${c}`),
      'kubedojo.dev/controlplane/kubernetes/cmd/kube-scheduler',
    ],
    binaries: ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl', 'kubelet', 'kube-proxy'],
    ldflags: kubeVersionFlags,
    node: false,
    disk: { buildCache: 5.5 * GiB, moduleCache: 2.5 * GiB, output: 0.6 * GiB },
  },
  {
    name: 'coredns',
    module: 'coredns',
    version: (v) => v.coredns,
    packages: ['.'],
    binaries: ['coredns'],
    ldflags: () => [],
    node: true,
    disk: small,
  },
  {
    name: 'kube-network-policies',
    module: 'kube-network-policies',
    version: (v) => v.kubeNetworkPolicies,
    packages: ['sigs.k8s.io/kube-network-policies/cmd'],
    binaries: ['kube-network-policies'],
    ldflags: () => [],
    node: true,
    patched: 'sigs.k8s.io/kube-network-policies',
    disk: small,
  },
  {
    name: 'cri-tools',
    module: 'cri-tools',
    version: (v) => v.criTools,
    packages: ['sigs.k8s.io/cri-tools/cmd/crictl'],
    binaries: ['crictl'],
    ldflags: (version) => [`-X sigs.k8s.io/cri-tools/pkg/version.Version=${version}`],
    node: true,
    disk: small,
  },
];

export interface Binaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kubectl: string;
  kwok: string;
  metricsServer: string;
}

/** The real node's binaries built here (containerd, runc and the CNI plugins come from Debian). */
export interface NodeBinaries {
  kubelet: string;
  kubeProxy: string;
  coredns: string;
  kubeNetworkPolicies: string;
  crictl: string;
}
