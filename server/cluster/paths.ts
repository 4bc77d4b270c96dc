import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository (or installed package) root: server/cluster/ is two levels below it. */
export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Cluster-side assets committed under sandboxes/. */
export const sandboxesDir = path.join(projectRoot, 'sandboxes');
export const controlPlaneModulesDir = path.join(sandboxesDir, 'controlplane');

/** Where the embedded cluster keeps its state, under the platform's data directory. */
export function clusterDirs(dataDir: string) {
  const root = path.join(dataDir, 'cluster');
  return {
    root,
    pki: path.join(root, 'pki'),
    etcdData: path.join(root, 'etcd'),
    logs: path.join(root, 'logs'),
    config: path.join(root, 'config'),
    state: path.join(root, 'state.json'),
    lock: path.join(root, 'cluster.lock'),
    adminKubeconfig: path.join(root, 'admin.kubeconfig'),
  };
}

export type ClusterDirs = ReturnType<typeof clusterDirs>;

/**
 * The real node's files, under the cluster's directory. Unix socket paths must stay under 108
 * bytes, so the runtime's socket sits at the top of node/.
 */
export function nodeDirs(dataDir: string) {
  const root = path.join(clusterDirs(dataDir).root, 'node');
  return {
    root,
    containerdConfig: path.join(root, 'containerd.toml'),
    containerdSocket: path.join(root, 'containerd.sock'),
    containerdRoot: path.join(root, 'containerd', 'root'),
    containerdState: path.join(root, 'containerd', 'state'),
    kubeletRoot: path.join(root, 'kubelet'),
    podLogs: path.join(root, 'pod-logs'),
    cniConf: path.join(root, 'cni', 'net.d'),
    cniIpam: path.join(root, 'cni', 'ipam'),
    /** Images an operator imported (kept so a wiped runtime can load them again) and their record. */
    images: path.join(root, 'images'),
    imagesRecord: path.join(root, 'images', 'images.json'),
  };
}

export type NodeDirs = ReturnType<typeof nodeDirs>;

/** Built binaries, cached by component, version and build inputs, outside the repository. */
export function controlPlaneCacheDir(cacheDir: string): string {
  return path.join(cacheDir, 'controlplane');
}
