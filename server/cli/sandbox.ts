import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { connectionFromConfig } from '../cluster/connection.ts';
import { loadLibrary } from '../lessons/library.ts';
import { sandboxServiceFromConfig } from '../sandboxes/from-config.ts';
import type { Sandbox, SandboxAccess, SandboxService } from '../sandboxes/service.ts';
import { SANDBOX_SIZES } from '../vocabulary.ts';
import { spawn } from 'node:child_process';
import { labsFromLibrary } from '../sandboxes/labs.ts';
import { homeFilesFor } from '../terminal/backends.ts';
import { checkJailTools, prepareJail } from '../terminal/jail.ts';
import { ensureControlPlane } from '../cluster/build.ts';
import { EXIT, UsageError, type CliContext } from './context.ts';
import { namespaceName } from '../fields.ts';

const createOptions = z.object({
  learner: z.string({ error: '--learner NAME is required' }).trim().min(1, '--learner must not be empty').max(256, '--learner must be at most 256 characters'),
  lesson: z.string({ error: '--lesson SLUG is required' }).trim().min(1, '--lesson must not be empty'),
  size: z.enum(SANDBOX_SIZES, { error: `--size must be one of ${SANDBOX_SIZES.join(', ')}` }).optional(),
  workshop: namespaceName('--workshop must be a DNS label').optional(),
  kubeconfigOut: z.string().min(1).optional(),
  json: z.boolean().optional(),
});

function parse<T extends z.ZodType>(schema: T, options: unknown): z.output<T> {
  const result = schema.safeParse(options);
  if (!result.success) throw new UsageError(result.error.issues.map((i) => i.message).join('; '));
  return result.data;
}

async function service(ctx: CliContext): Promise<{ sandboxes: SandboxService; lessons: string[]; library: Awaited<ReturnType<typeof loadLibrary>> }> {
  const library = await loadLibrary(ctx.config.lessonsDir);
  const cluster = connectionFromConfig(ctx.config);
  return { sandboxes: sandboxServiceFromConfig(ctx.config, cluster, library, ctx.logger), lessons: library.lessons.map((l) => l.slug), library };
}

function summary(access: SandboxAccess, kubeconfig: string) {
  return {
    namespace: access.sandbox.namespace,
    group: access.sandbox.group,
    priorityClassPrefix: access.sandbox.priorityClassPrefix,
    expiresAt: access.sandbox.expiresAt,
    kubeconfig,
  };
}

export async function sandboxCreate(ctx: CliContext, raw: unknown): Promise<number> {
  const options = parse(createOptions, raw);
  const { sandboxes, lessons } = await service(ctx);
  if (!lessons.includes(options.lesson)) {
    throw new UsageError(`--lesson: there is no lesson "${options.lesson}" in ${ctx.config.lessonsDir} (lessons: ${lessons.join(', ') || 'none'})`);
  }
  const access = await sandboxes.create({ learnerId: options.learner, learnerName: options.learner, lesson: options.lesson, size: options.size, workshop: options.workshop });
  let kubeconfig = access.kubeconfig;
  if (options.kubeconfigOut) {
    kubeconfig = path.resolve(options.kubeconfigOut);
    await fs.mkdir(path.dirname(kubeconfig), { recursive: true });
    await fs.copyFile(access.kubeconfig, kubeconfig);
    await fs.chmod(kubeconfig, 0o600);
  }
  const result = summary(access, kubeconfig);
  if (options.json) {
    ctx.out.write(`${JSON.stringify(result)}\n`);
    return EXIT.ok;
  }
  const how = access.created ? 'Created' : access.fromPool ? 'Claimed from the warm pool' : 'Found the existing';
  ctx.out.write(
    `${how} sandbox ${result.namespace} for ${options.learner} (lesson ${options.lesson}, ${access.sandbox.size}).\n` +
      `  API group for CRDs     ${result.group}\n  PriorityClass prefix   ${result.priorityClassPrefix}\n  expires                ${result.expiresAt}\n` +
      `  kubeconfig             ${kubeconfig}   (the learner's credential; export KUBECONFIG=… to act as them)\n`,
  );
  return EXIT.ok;
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

export async function sandboxList(ctx: CliContext, raw: unknown): Promise<number> {
  const { json } = parse(z.object({ json: z.boolean().optional() }), raw);
  const { sandboxes } = await service(ctx);
  const list: Sandbox[] = await sandboxes.list();
  if (json) {
    ctx.out.write(`${JSON.stringify(list, null, 2)}\n`);
    return EXIT.ok;
  }
  if (list.length === 0) {
    ctx.out.write('No sandboxes.\n');
    return EXIT.ok;
  }
  ctx.out.write(
    `${table([
      ['NAMESPACE', 'LEARNER', 'LESSON', 'SIZE', 'STATE', 'EXPIRES'],
      ...list.map((s) => [s.namespace, s.learnerName, s.lesson, s.size, s.state, s.expiresAt]),
    ])}\n`,
  );
  return EXIT.ok;
}

const namespaceArg = namespaceName('NAMESPACE must be a namespace name');

export async function sandboxReset(ctx: CliContext, namespace: string): Promise<number> {
  const name = parse(namespaceArg, namespace);
  const { sandboxes } = await service(ctx);
  const access = await sandboxes.reset(name);
  ctx.out.write(`Reset sandbox ${name}: recreated with the lab's setup; new kubeconfig ${access.kubeconfig}\n`);
  return EXIT.ok;
}

export async function sandboxDelete(ctx: CliContext, namespace: string): Promise<number> {
  const name = parse(namespaceArg, namespace);
  const { sandboxes } = await service(ctx);
  await sandboxes.delete(name);
  ctx.out.write(`Deleted sandbox ${name}, with the learner's CRDs and PriorityClasses.\n`);
  return EXIT.ok;
}

/**
 * The learner's jailed shell in your own terminal (authors and instructors trying a lab as a
 * learner would), or one command in it: `kubedojo sandbox shell NS -- kubectl get pods`.
 */
export async function sandboxShell(ctx: CliContext, namespace: string, command: string[]): Promise<number> {
  const name = parse(namespaceArg, namespace);
  const tools = await checkJailTools();
  if (!tools.ok) throw new UsageError(`the jailed shell needs these packages: ${tools.missing.join(', ')} (apt-get install ${tools.missing.join(' ')})`);
  const { sandboxes, library } = await service(ctx);
  const sandbox = await sandboxes.get(name);
  const kubeconfig = await sandboxes.kubeconfigFor(name);
  const controlPlane = await ensureControlPlane({ cacheDir: ctx.config.cacheDir, go: ctx.config.go, env: ctx.config.env, progress: ctx.progress, logger: ctx.logger });
  const lab = await labsFromLibrary(library)(sandbox.lesson);
  const jail = await prepareJail(
    {
      namespace: sandbox.namespace,
      group: sandbox.group,
      priorityClassPrefix: sandbox.priorityClassPrefix,
      jailDir: ctx.config.terminals.jailDir,
      kubeconfig,
      kubectl: controlPlane.binaries.kubectl,
      homeFiles: homeFilesFor(sandbox, lab),
    },
    command.length > 0 ? command : undefined,
  );
  try {
    return await new Promise<number>((resolve) => {
      const child = spawn(jail.file, jail.args, { stdio: 'inherit', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
      child.on('exit', (code, signal) => {
        resolve(code ?? (signal ? 128 + 1 : 1));
      });
    });
  } finally {
    await jail.close();
  }
}
