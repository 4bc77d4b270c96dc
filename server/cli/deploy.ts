import { spawn } from 'node:child_process';
import { z } from 'zod';
import { renderManifests } from '../deploy/render.ts';
import { ensureHelm } from '../deploy/helm.ts';
import { parse } from './images-deploy.ts';
import { EXIT, type CliContext } from './context.ts';

/** `kubedojo helm …` (the pinned helm) and `kubedojo deploy manifests` (plain manifests rendered from the chart). */

/** Runs the pinned helm with the arguments as given; its output and exit code are the command's. */
export async function helmCommand(ctx: CliContext, args: readonly string[]): Promise<number> {
  const helm = await ensureHelm({ cacheDir: ctx.config.cacheDir, go: ctx.config.go, env: ctx.config.env, progress: ctx.progress, logger: ctx.logger });
  return new Promise((resolve, reject) => {
    const child = spawn(helm.path, args, { stdio: 'inherit', env: ctx.config.env });
    child.on('error', reject);
    child.on('close', (code) => {
      resolve(code ?? EXIT.failed);
    });
  });
}

const manifestsSchema = z.strictObject({ check: z.boolean().optional() });

/** Writes deploy/manifests/kubedojo.yaml from the chart, or with --check says whether it is current. */
export async function deployManifests(ctx: CliContext, options: Record<string, unknown>): Promise<number> {
  const input = parse(manifestsSchema, options);
  const helm = await ensureHelm({ cacheDir: ctx.config.cacheDir, go: ctx.config.go, env: ctx.config.env, progress: ctx.progress, logger: ctx.logger });
  const result = await renderManifests(helm.path, { check: input.check ?? false, env: ctx.config.env });
  if (result.current) ctx.out.write(`${result.file} is current (rendered by helm ${helm.version}).\n`);
  else if (input.check) {
    process.stderr.write(`kubedojo: ${result.file} is not what the chart renders; run "npx kubedojo deploy manifests" and commit it\n`);
    return EXIT.failed;
  } else ctx.out.write(`Wrote ${result.file} (rendered by helm ${helm.version}).\n`);
  return EXIT.ok;
}
