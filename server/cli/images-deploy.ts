import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { listBuiltImages, type BuiltImage } from '../cluster/images/builders.ts';
import { ensureDeployImage, pushImage } from '../cluster/images/deploy-images.ts';
import { splitReference } from '../cluster/images/oci.ts';
import { embeddedRuntime, ensureImported } from '../cluster/images/runtime.ts';
import { Invalid } from '../errors.ts';
import { EXIT, UsageError, type CliContext } from './context.ts';

/** `kubedojo images build|push`: kubedojo's own images, built offline, loaded or pushed. */

/** Validates a command's arguments and options; a problem is a usage error naming the field. */
export function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; '));
  return parsed.data;
}

const reference = z.string().refine((v) => {
  try {
    splitReference(v);
    return true;
  } catch {
    return false;
  }
}, 'must be an image name with a registry and a tag, such as registry.example.com/kubedojo:0.1.0');

const buildSchema = z.strictObject({
  image: z.enum(['app', 'postgres'], { error: '<image> must be app or postgres' }),
  force: z.boolean().optional(),
  load: z.boolean().optional(),
  json: z.boolean().optional(),
});

export async function imagesBuild(ctx: CliContext, image: string, options: Record<string, unknown>): Promise<number> {
  const input = parse(buildSchema, { image, ...options });
  const built = await ensureDeployImage(input.image, { cacheDir: ctx.config.cacheDir, env: ctx.config.env, progress: ctx.progress, logger: ctx.logger, force: input.force ?? false });
  let loaded: string | null = null;
  if (input.load) {
    const result = await ensureImported(embeddedRuntime(ctx.config.dataDir), [built], ctx.logger);
    loaded = result.imported.length > 0 ? 'loaded' : 'already loaded';
  }
  if (input.json) {
    ctx.out.write(`${JSON.stringify({ ...built, runtime: loaded }, null, 2)}\n`);
    return EXIT.ok;
  }
  ctx.out.write(`${built.name}  ${built.digest}\n  ${built.archive} (${(built.size / 1024 ** 2).toFixed(1)} MiB, ${built.built ? `built in ${built.buildSeconds.toFixed(0)} s` : 'cached'})\n`);
  if (loaded) ctx.out.write(`  ${loaded} into the embedded cluster's runtime\n`);
  return EXIT.ok;
}

const pushSchema = z.strictObject({
  source: z.string().min(1, '<image> must name a built image (kubedojo images list) or an OCI archive'),
  destination: reference,
  tlsVerify: z.boolean().optional(),
  authfile: z.string().min(1, '--authfile must not be empty').optional(),
});

/** The newest cached build of a name, or an archive on disk. */
async function sourceArchive(ctx: CliContext, source: string): Promise<string> {
  if (await fs.stat(source).then((s) => s.isFile(), () => false)) return path.resolve(source);
  const builds: BuiltImage[] = (await listBuiltImages(ctx.config.cacheDir)).filter((b) => b.name === source).sort((a, b) => b.builtAt.localeCompare(a.builtAt));
  const newest = builds[0];
  if (!newest) throw new Invalid(`${source} is neither a file nor an image built here (kubedojo images list; kubedojo images build app)`);
  return newest.archive;
}

export async function imagesPush(ctx: CliContext, source: string, destination: string, options: Record<string, unknown>): Promise<number> {
  const input = parse(pushSchema, { source, destination, ...options });
  const archive = await sourceArchive(ctx, input.source);
  const pushed = await pushImage({ archive, destination: input.destination, tlsVerify: input.tlsVerify ?? true, authfile: input.authfile, env: ctx.config.env });
  ctx.out.write(`Pushed ${archive} to ${input.destination} (${pushed.digest}).\n`);
  return EXIT.ok;
}
