import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../../logger.ts';
import type { Progress } from '../../progress.ts';
import { appRecipe } from './app.ts';
import { ensureImage, type BuiltImage } from './builders.ts';
import { splitReference } from './oci.ts';
import { postgresRecipe } from './postgres.ts';
import type { DeployImageId, Recipe, RecipeContext } from './recipes.ts';
import { ImageBuildError, runTool } from './tools.ts';

/**
 * The images that run kubedojo on a cluster (deploy/helm/kubedojo): built on demand with the
 * offline images' machinery (recipe → root file system → reproducible OCI archive, cached by
 * its inputs), loaded into the embedded cluster's runtime like any offline image, and pushed to
 * a registry with Debian's skopeo, which copies the OCI archive as it is (same digest).
 */

export const DEPLOY_RECIPES: Readonly<Record<DeployImageId, Recipe>> = { app: appRecipe, postgres: postgresRecipe };

export interface DeployImageOptions {
  cacheDir: string;
  env: Readonly<Record<string, string>>;
  progress: Progress;
  logger: Logger;
  force?: boolean;
}

export async function ensureDeployImage(id: DeployImageId, options: DeployImageOptions): Promise<BuiltImage> {
  const ctx: RecipeContext = { env: options.env, go: '', kubectl: '', logger: options.logger.child({ component: 'images' }) };
  return ensureImage(DEPLOY_RECIPES[id], ctx, { ...options, go: '', kubectl: '' });
}

export interface PushOptions {
  /** The OCI archive (a built or imported image's). */
  archive: string;
  /** Where to: registry/repository:tag. */
  destination: string;
  /** false for a registry on plain http or with a self-signed certificate (tests, a lab registry). */
  tlsVerify: boolean;
  /** containers-auth.json with the registry's credentials (skopeo login writes one); skopeo's default otherwise. */
  authfile?: string | undefined;
  env: Readonly<Record<string, string>>;
}

/** Pushes an archive and returns the manifest digest the registry now serves under that tag. */
export async function pushImage(options: PushOptions): Promise<{ digest: string }> {
  splitReference(options.destination);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-push-'));
  const digestFile = path.join(dir, 'digest');
  try {
    const args = ['copy', '--quiet', '--preserve-digests', `--digestfile=${digestFile}`, `--dest-tls-verify=${String(options.tlsVerify)}`];
    if (options.authfile) args.push(`--authfile=${options.authfile}`);
    args.push(`oci-archive:${options.archive}`, `docker://${options.destination}`);
    const result = await runTool('skopeo', args, { env: options.env, installHint: "Debian's skopeo pushes images (apt-get install skopeo)" });
    if (result.code !== 0) throw new ImageBuildError(`skopeo could not push ${options.archive} to ${options.destination}:\n${result.stderrTail.join('\n')}`);
    return { digest: (await fs.readFile(digestFile, 'utf8')).trim() };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
