import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.ts';

const home = { HOME: '/home/learner' };

function ok(...args: Parameters<typeof loadConfig>) {
  const result = loadConfig(...args);
  if (!result.ok) throw new Error(result.problems.join('\n'));
  return result.config;
}

describe('loadConfig', () => {
  it('has sane defaults: embedded cluster, loopback, XDG directories', () => {
    const config = ok({}, home);
    expect(config.host).toBe('127.0.0.1');
    expect(config.port).toBe(8080);
    expect(config.dataDir).toBe('/home/learner/.local/share/kubedojo');
    expect(config.cacheDir).toBe('/home/learner/.cache/kubedojo');
    expect(config.cluster.mode).toBe('embedded');
    expect(config.cluster.autoStart).toBe(true);
    expect(config.cluster.apiPort).toBe(0);
  });

  it('follows XDG variables, and flags beat the environment', () => {
    const config = ok({ port: '9000' }, { ...home, XDG_DATA_HOME: '/data', XDG_CACHE_HOME: '/cache', KUBEDOJO_PORT: '7000', KUBEDOJO_HOST: '0.0.0.0' });
    expect(config.dataDir).toBe('/data/kubedojo');
    expect(config.cacheDir).toBe('/cache/kubedojo');
    expect(config.port).toBe(9000);
    expect(config.host).toBe('0.0.0.0');
    expect(ok({}, { ...home, PORT: '7100' }).port).toBe(7100);
    expect(ok({}, { ...home, KUBEDOJO_PORT: '7000', PORT: '7100' }).port).toBe(7000);
  });

  it('resolves relative directories to absolute ones', () => {
    expect(ok({ dataDir: 'rel/dir' }, home).dataDir).toBe(path.resolve('rel/dir'));
  });

  it('uses a kubeconfig when one is given, and in-cluster config inside a pod', () => {
    const fromEnv = ok({}, { ...home, KUBECONFIG: '/k/one:/k/two' });
    expect(fromEnv.cluster.mode).toBe('kubeconfig');
    expect(fromEnv.cluster.kubeconfig).toBe('/k/one');
    expect(fromEnv.cluster.modeReason).toContain('KUBECONFIG');
    const flag = ok({ kubeconfig: '/k/flag' }, { ...home, KUBECONFIG: '/k/env' });
    expect(flag.cluster.kubeconfig).toBe('/k/flag');
    const pod = ok({}, { ...home, KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' });
    expect(pod.cluster.mode).toBe('in-cluster');
    expect(ok({ cluster: 'embedded' }, { ...home, KUBECONFIG: '/k' }).cluster.mode).toBe('embedded');
  });

  it('parses booleans from words and from flags', () => {
    expect(ok({}, { ...home, KUBEDOJO_CLUSTER_UP: 'no' }).cluster.autoStart).toBe(false);
    expect(ok({}, { ...home, KUBEDOJO_CLUSTER_UP: 'ON' }).cluster.autoStart).toBe(true);
    expect(ok({ clusterUp: false }, { ...home, KUBEDOJO_CLUSTER_UP: 'yes' }).cluster.autoStart).toBe(false);
  });

  it('reports every problem at once, naming the flag and where the value came from', () => {
    const result = loadConfig(
      { port: '80a', cluster: 'minikube' },
      { ...home, KUBEDOJO_API_PORT: '70000', KUBEDOJO_CLUSTER_UP: 'maybe', KUBEDOJO_LOG_FORMAT: 'xml', KUBEDOJO_DATA_DIR: '   ' },
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual([
      '--data-dir (from KUBEDOJO_DATA_DIR): must not be empty, got "   "',
      '--port: must be a port number, got "80a"',
      '--cluster: must be one of auto, embedded, kubeconfig, in-cluster, got "minikube"',
      '--cluster-up (from KUBEDOJO_CLUSTER_UP): must be true or false (1/0, yes/no, on/off), got "maybe"',
      '--api-port (from KUBEDOJO_API_PORT): must be between 0 and 65535, got "70000"',
      '--log-format (from KUBEDOJO_LOG_FORMAT): must be pretty or json, got "xml"',
    ]);
  });

  it('refuses a cluster mode that lacks what it needs', () => {
    const kube = loadConfig({ cluster: 'kubeconfig' }, home);
    expect(kube.ok ? [] : kube.problems).toEqual(['--cluster: "kubeconfig" needs --kubeconfig or KUBECONFIG']);
    const inCluster = loadConfig({}, { ...home, KUBEDOJO_CLUSTER: 'in-cluster' });
    expect(inCluster.ok ? [] : inCluster.problems[0]).toContain('--cluster (from KUBEDOJO_CLUSTER): "in-cluster" needs KUBERNETES_SERVICE_HOST');
  });

  it('lets a command change a default without hiding the environment', () => {
    expect(ok({}, home, { logLevel: 'warn' }).log.level).toBe('warn');
    expect(ok({}, { ...home, KUBEDOJO_LOG_LEVEL: 'debug' }, { logLevel: 'warn' }).log.level).toBe('debug');
  });

  it('keeps the database in SQLite unless a PostgreSQL URL is given, and never echoes its password', () => {
    expect(ok({}, home).database).toEqual({ dialect: 'sqlite', file: '/home/learner/.local/share/kubedojo/kubedojo.db' });
    const url = 'postgres://kubedojo:s3cret@db.example:5432/kubedojo';
    expect(ok({}, { ...home, KUBEDOJO_DATABASE_URL: url }).database).toEqual({ dialect: 'postgres', url });
    expect(ok({ databaseUrl: 'postgresql://u@db/k' }, home).database).toEqual({ dialect: 'postgres', url: 'postgresql://u@db/k' });
    for (const [value, message] of [
      ['mysql://root:hunter2@db/kubedojo', 'must be a postgres:// or postgresql:// URL'],
      ['postgres//root:hunter2@db/kubedojo', 'must be a URL such as postgres://'],
      ['postgres:///kubedojo?password=hunter2', 'must name the server'],
    ] as const) {
      const result = loadConfig({}, { ...home, KUBEDOJO_DATABASE_URL: value });
      const problems = result.ok ? [] : result.problems;
      expect(problems.join('\n')).toContain(`--database-url (from KUBEDOJO_DATABASE_URL): ${message}`);
      expect(problems.join('\n')).not.toContain('hunter2');
    }
  });
});
