import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Progress } from '../../progress.ts';
import { BuildError, run, useOwnCluster, type GoInfo } from './go.ts';
import { preparePatchedModule } from './patches.ts';
import type { ComponentSpec } from './specs.ts';

/** Compiles one component into its cache directory, with a manifest that later starts check. */

export const manifestSchema = z.object({
  component: z.string(),
  version: z.string(),
  key: z.string(),
  goVersion: z.string(),
  builtAt: z.string(),
  buildSeconds: z.number(),
  files: z.array(z.object({ name: z.string(), size: z.number().int().nonnegative(), sha256: z.string() })),
});
export type BuildManifest = z.infer<typeof manifestSchema>;

export async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export interface CompileOptions {
  go: string;
  env: Readonly<Record<string, string>>;
  progress: Progress;
}

export async function buildComponent(
  spec: ComponentSpec,
  version: string,
  finalDir: string,
  key: string,
  go: GoInfo,
  options: CompileOptions,
  modulesDir: string,
  reason: string,
): Promise<number> {
  const started = Date.now();
  const moduleDir = path.join(modulesDir, spec.module);
  const env: Record<string, string> = {
    ...options.env,
    CGO_ENABLED: '0',
    // Read-only modules: the committed go.sum decides every dependency.
    GOFLAGS: [options.env.GOFLAGS ?? '', '-mod=readonly', '-buildvcs=false'].join(' ').trim(),
  };
  const label = `${spec.name} ${version}`;
  const tmpDir = `${finalDir}.tmp-${process.pid}`;
  const patched = spec.patched
    ? await preparePatchedModule({ go: options.go, env, moduleDir, modulePath: spec.patched, workDir: `${tmpDir}-src` })
    : null;
  const modArgs = patched?.args ?? [];
  try {
    return await compile();
  } finally {
    await patched?.cleanup();
  }

  async function compile(): Promise<number> {

    const resolve = options.progress.begin(`fetching modules for ${label}`);
    let total = 0;
    const listed = await run(options.go, ['list', ...modArgs, '-deps', '-f', '{{.ImportPath}}', ...spec.packages], {
      cwd: moduleDir,
      env,
      stdoutLine: () => {
        total += 1;
      },
      onLine: (line) => {
        if (line.startsWith('go: downloading')) resolve.update(line.slice('go: downloading '.length));
      },
    });
    if (listed.code !== 0) {
      resolve.fail('failed');
      throw new BuildError(`Could not fetch the Go modules for ${label}:\n${listed.stderrTail.join('\n')}\n${useOwnCluster}`, 'build-failed');
    }
    resolve.done(`${total} packages`);

    await fs.rm(tmpDir, { recursive: true, force: true });
    await fs.mkdir(tmpDir, { recursive: true });
    const task = options.progress.begin(`building ${label} (${reason})`);
    let compiled = 0;
    const ldflags = ['-s', '-w', ...spec.ldflags(version)].join(' ');
    const out = spec.packages.length === 1 ? path.join(tmpDir, spec.binaries[0] ?? spec.name) : `${tmpDir}${path.sep}`;
    const result = await run(options.go, ['build', ...modArgs, '-v', '-trimpath', `-ldflags=${ldflags}`, '-o', out, ...spec.packages], {
      cwd: moduleDir,
      env,
      onLine: (line) => {
        // With -v, go prints each package as it compiles it: that is our progress.
        if (!line.startsWith('go:') && !line.startsWith('#') && !line.startsWith(' ')) {
          compiled += 1;
          task.update(`${Math.min(compiled, total)}/${total} packages`);
        }
      },
    });
    if (result.code !== 0) {
      task.fail(`go build exited with ${result.code}`);
      await fs.rm(tmpDir, { recursive: true, force: true });
      throw new BuildError(`Building ${label} failed:\n${result.stderrTail.join('\n')}\n${useOwnCluster}`, 'build-failed');
    }

    const files: BuildManifest['files'] = [];
    for (const name of spec.binaries) {
      const file = path.join(tmpDir, name);
      const stat = await fs.stat(file);
      files.push({ name, size: stat.size, sha256: await hashFile(file) });
    }
    const buildSeconds = (Date.now() - started) / 1000;
    const manifest: BuildManifest = { component: spec.name, version, key, goVersion: go.version, builtAt: new Date().toISOString(), buildSeconds, files };
    await fs.writeFile(path.join(tmpDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    // Replace any corrupt copy, then move the new one into place in one rename.
    await fs.rm(finalDir, { recursive: true, force: true });
    await fs.rename(tmpDir, finalDir);
    task.done(spec.binaries.join(', '));
    return buildSeconds;
  }
}
