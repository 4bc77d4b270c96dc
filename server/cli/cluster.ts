import fs from 'node:fs/promises';
import { ensureControlPlane } from '../cluster/build.ts';
import { localClusterFromConfig, type ClusterStatus, type LocalCluster } from '../cluster/local.ts';
import { formatDuration } from '../progress.ts';
import { ensureOfflineImages } from '../cluster/images/builders.ts';
import { wantsRealNode } from '../cluster/node/support.ts';
import { EXIT, type CliContext } from './context.ts';

export function localCluster(ctx: CliContext): LocalCluster {
  return localClusterFromConfig(ctx.config, ctx.logger, ctx.progress);
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

export async function clusterUp(ctx: CliContext, options: { json?: boolean }): Promise<number> {
  const report = await localCluster(ctx).up();
  if (options.json) {
    ctx.out.write(`${JSON.stringify(report, null, 2)}\n`);
    return EXIT.ok;
  }
  for (const note of report.notes) ctx.out.write(`note: ${note}\n`);
  const verb = report.alreadyRunning ? 'is already running' : `is ready (${formatDuration(report.durationMs)})`;
  ctx.out.write(`The local Kubernetes cluster ${verb}.\n  API server  ${report.server}\n  kubeconfig  ${report.kubeconfig}\n`);
  ctx.out.write(
    report.realNode
      ? `  real node   ${report.realNode.node} (${report.realNode.address}, registries ${report.realNode.registry}): Pods run there; the other nodes are simulated\n`
      : '  nodes       simulated only (no containers run)\n',
  );
  ctx.out.write(`Use it with: export KUBECONFIG=${report.kubeconfig}\n`);
  return EXIT.ok;
}

export async function clusterDown(ctx: CliContext, options: { json?: boolean }): Promise<number> {
  const report = await localCluster(ctx).down();
  if (options.json) {
    ctx.out.write(`${JSON.stringify(report, null, 2)}\n`);
    return EXIT.ok;
  }
  const stopped = report.stopped.filter((s) => s.result !== 'not-running');
  for (const left of report.leftovers) ctx.out.write(`warning: left behind: ${left}\n`);
  ctx.out.write(
    stopped.length === 0
      ? 'The local cluster was not running.\n'
      : `Stopped ${stopped.map((s) => (s.result === 'killed' ? `${s.id} (killed after the grace period)` : s.id)).join(', ')}. Data is kept; "kubedojo cluster up" starts it again.\n`,
  );
  return EXIT.ok;
}

export function renderStatus(status: ClusterStatus): string {
  const lines: string[] = [];
  const version = status.kubernetesVersion ? `Kubernetes ${status.kubernetesVersion}` : 'Kubernetes';
  lines.push(`${version} local cluster: ${status.state}`);
  if (status.server) lines.push(`  API server  ${status.server}`);
  lines.push(`  kubeconfig  ${status.kubeconfig}`);
  lines.push(status.realNode ? `  real node   ${status.realNode.name} at ${status.realNode.address}` : '  nodes       simulated only', '');
  lines.push(
    table([
      ['COMPONENT', 'STATE', 'PID', 'LISTENS', 'DETAIL'],
      ...status.components.map((c) => [c.id, c.state, c.pid?.toString() ?? '-', c.where ?? (c.port ? `127.0.0.1:${c.port}` : '-'), c.detail ?? '']),
    ]),
  );
  for (const c of status.components) {
    if (c.lastLines.length === 0) continue;
    lines.push('', `${c.id} is ${c.state}; last lines of ${c.log}:`, ...c.lastLines.map((l) => `  ${l}`));
  }
  if (status.state === 'degraded') lines.push('', 'Run "kubedojo cluster up" to restart what stopped.');
  if (status.state === 'stopped' || status.state === 'not-created') lines.push('', 'Run "kubedojo cluster up" to start it.');
  return `${lines.join('\n')}\n`;
}

export async function clusterStatus(ctx: CliContext, options: { json?: boolean }): Promise<number> {
  const status = await localCluster(ctx).status();
  ctx.out.write(options.json ? `${JSON.stringify(status, null, 2)}\n` : renderStatus(status));
  return status.state === 'running' ? EXIT.ok : EXIT.failed;
}

export async function clusterKubeconfig(ctx: CliContext): Promise<number> {
  const cluster = localCluster(ctx);
  try {
    await fs.access(cluster.kubeconfigPath);
  } catch {
    process.stderr.write(`No local cluster in ${ctx.config.dataDir} yet: run "kubedojo cluster up" first.\n`);
    return EXIT.failed;
  }
  ctx.out.write(`${cluster.kubeconfigPath}\n`);
  return EXIT.ok;
}

export async function clusterBuild(ctx: CliContext, options: { force?: boolean; verify?: boolean; json?: boolean }): Promise<number> {
  const started = Date.now();
  const result = await ensureControlPlane({
    cacheDir: ctx.config.cacheDir,
    go: ctx.config.go,
    env: ctx.config.env,
    progress: ctx.progress,
    logger: ctx.logger,
    force: options.force ?? false,
    deep: options.verify ?? false,
    withNode: wantsRealNode(ctx.config),
  });
  // The real node's offline images are part of the build: `up` then only loads them.
  const images = result.node
    ? await ensureOfflineImages({ cacheDir: ctx.config.cacheDir, env: ctx.config.env, go: ctx.config.go, kubectl: result.binaries.kubectl, progress: ctx.progress, logger: ctx.logger, force: options.force ?? false, deep: options.verify ?? false })
    : [];
  if (options.json) {
    ctx.out.write(`${JSON.stringify({ ...result, images, durationMs: Date.now() - started }, null, 2)}\n`);
    return EXIT.ok;
  }
  ctx.out.write(
    `${table([
      ['COMPONENT', 'VERSION', 'CACHE', 'BUILD TIME', 'DIRECTORY'],
      ...result.components.map((c) => [c.name, c.version, c.built ? 'built now' : 'cached', formatDuration(c.buildSeconds * 1000), c.dir]),
      ...images.map((i) => [`image ${i.id}`, i.name.split(':').pop() ?? '', i.built ? 'built now' : 'cached', formatDuration(i.buildSeconds * 1000), i.archive]),
    ])}\n`,
  );
  return EXIT.ok;
}
