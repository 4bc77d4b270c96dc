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

/** Built binaries, cached by component, version and build inputs, outside the repository. */
export function controlPlaneCacheDir(cacheDir: string): string {
  return path.join(cacheDir, 'controlplane');
}
