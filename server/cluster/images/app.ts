import fs from 'node:fs/promises';
import path from 'node:path';
import { projectRoot } from '../paths.ts';
import { CLIENT_PATHS, checkoutFiles, copyFiles, hashFiles, pinnedNodeDir, RUNTIME_PATHS, settle, walkAll } from './app-files.ts';
import { addAccount, buildDebianRootfs, DPKG_OPTIONS, installedVersion, MIRRORS, mmdebstrapVersion, SUITE } from './debian.ts';
import type { Recipe, RecipeContext } from './recipes.ts';
import { appVersion } from './toolbox.ts';
import { ImageBuildError, removeTree, runTool, runToolOk, sha256File } from './tools.ts';

/**
 * kubedojo's own image, kubedojo.dev/kubedojo:<package.json version>: a Debian root file system
 * with the pinned Node.js, the production npm dependencies (native addons built for that Node,
 * as with-node.sh builds them), the server's sources, the built web client, the cluster-side
 * assets and the default lessons, run by a non-root user. `node server/cli.ts serve` by default;
 * `kubedojo …` on PATH runs any other command (kubectl exec … -- kubedojo admin create …).
 */

export const APP_REPOSITORY = 'kubedojo.dev/kubedojo';
const RECIPE_VERSION = '1';
/**
 * ca-certificates: https to LMS platforms and registries. postgresql-client: pg_dump, for
 * `kubedojo db backup` on a PostgreSQL database. Node needs only libc and libstdc++ (in minbase).
 */
export const APP_PACKAGES = ['ca-certificates', 'postgresql-client'] as const;
export const APP_USER = { name: 'kubedojo', uid: 10001, gid: 10001, home: '/home/kubedojo' } as const;
export const APP_DIR = '/app';
export const APP_DATA_DIR = '/var/lib/kubedojo';
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const wrapper = `#!/bin/sh
# The kubedojo command inside the image (kubectl exec … -- kubedojo admin create --username you).
exec /usr/local/bin/node ${APP_DIR}/server/cli.ts "$@"
`;

interface NpmEnv {
  env: Record<string, string>;
  nodeDir: string;
}

function npmEnv(ctx: RecipeContext, nodeDir: string): NpmEnv {
  // As with-node.sh: the pinned Node first on PATH, node-gyp compiles against its own headers.
  return { nodeDir, env: { ...ctx.env, PATH: `${path.join(nodeDir, 'bin')}:${ctx.env.PATH ?? PATH}`, npm_config_nodedir: nodeDir, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' } };
}

/**
 * The production dependencies from package-lock.json alone (npm ci --omit=dev), then what only
 * building needed goes: other platforms' prebuilt addons, C sources, node-gyp's intermediates.
 */
async function productionModules(npm: NpmEnv, dir: string, task: { update(detail: string): void }): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  for (const name of ['package.json', 'package-lock.json']) await fs.copyFile(path.join(projectRoot, name), path.join(dir, name));
  task.update('npm ci --omit=dev (native addons against the pinned Node)');
  const result = await runTool('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, env: npm.env, installHint: 'npm comes with Node.js (with-node.sh uses it the same way)' });
  if (result.code !== 0) throw new ImageBuildError(`npm ci --omit=dev failed for the app image (exit ${result.code ?? 'signal'}):\n${result.stderrTail.join('\n')}`);
  const modules = path.join(dir, 'node_modules');
  const keep = `linux-${process.arch}`;
  for (const pkg of await fs.readdir(modules)) {
    const root = path.join(modules, pkg);
    const prebuilds = path.join(root, 'prebuilds');
    for (const name of await fs.readdir(prebuilds).catch(() => [])) if (name !== keep && name !== `${keep}.node`) await removeTree(path.join(prebuilds, name));
    if (!(await fs.stat(path.join(root, 'binding.gyp')).then(() => true, () => false))) continue;
    for (const name of ['deps', 'src', 'third_party']) await removeTree(path.join(root, name));
    const build = path.join(root, 'build');
    for (const item of await walkAll(build).catch(() => [])) {
      const rel = path.relative(build, item);
      const needed = rel === '' || rel === 'Release' || (path.dirname(rel) === 'Release' && item.endsWith('.node'));
      if (!needed) await removeTree(item);
    }
  }
  await fs.rm(path.join(dir, 'package-lock.json'));
  await fs.rm(path.join(dir, 'package.json'));
}

/** The web client as `npm run build` makes it, into the image instead of the checkout. */
async function buildClient(npm: NpmEnv, outDir: string): Promise<void> {
  const vite = path.join(projectRoot, 'node_modules', 'vite', 'bin', 'vite.js');
  await runToolOk(path.join(npm.nodeDir, 'bin', 'node'), [vite, 'build', '--config', path.join(projectRoot, 'client', 'vite.config.ts'), '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], 'building the web client (vite)', {
    cwd: projectRoot,
    env: npm.env,
    installHint: 'the dev dependencies are needed to build the client: run through server/bin/with-node.sh',
  });
}

/** Addons compiled here run on the image's C library: it must be no older than this machine's. */
async function checkLibc(ctx: RecipeContext, rootfs: string): Promise<void> {
  const host = (await runToolOk('dpkg-query', ['-W', '-f=${Version}', 'libc6'], "asking dpkg for this machine's libc6", { env: ctx.env })).trim();
  const image = await installedVersion(ctx, rootfs, 'libc6');
  const older = await runTool('dpkg', ['--compare-versions', image, 'lt', host], { env: ctx.env });
  if (older.code === 0) throw new ImageBuildError(`the image's libc6 ${image} is older than this machine's ${host}: node-pty's addon, compiled here, would not load there. Build on a Debian ${SUITE} machine.`);
}

export const appRecipe: Recipe = {
  id: 'app',
  async plan(ctx) {
    const version = await appVersion();
    const node = await pinnedNodeDir();
    const mmdebstrap = await mmdebstrapVersion(ctx);
    const [runtimeFiles, clientFiles] = await Promise.all([checkoutFiles(RUNTIME_PATHS), checkoutFiles(CLIENT_PATHS)]);
    return {
      id: 'app',
      name: `${APP_REPOSITORY}:${version}`,
      tag: version,
      inputs: {
        recipe: RECIPE_VERSION,
        app: version,
        suite: SUITE,
        mirrors: MIRRORS.join('; '),
        packages: APP_PACKAGES.join(','),
        dpkg: DPKG_OPTIONS.join(','),
        mmdebstrap,
        node: node.version,
        nodeBinary: await sha256File(path.join(node.dir, 'bin', 'node')),
        sources: await hashFiles(runtimeFiles),
        client: await hashFiles(clientFiles),
      },
      source: `Debian ${SUITE} (${mmdebstrap}, minbase) with ${APP_PACKAGES.join(', ')}, Node.js ${node.version} and kubedojo ${version} (${runtimeFiles.length} files, npm ci --omit=dev, the built client)`,
    };
  },
  async build(ctx, plan, workDir, task) {
    const node = await pinnedNodeDir();
    const npm = npmEnv(ctx, node.dir);
    const { rootfs, epoch, mirrorDate } = await buildDebianRootfs(ctx, { workDir, packages: APP_PACKAGES, what: 'the app image', task });
    await checkLibc(ctx, rootfs);
    const at = (rel: string) => path.join(rootfs, rel.replace(/^\//, ''));
    task.update(`Node.js ${node.version}`);
    await fs.copyFile(path.join(node.dir, 'bin', 'node'), at('usr/local/bin/node'));
    await fs.chmod(at('usr/local/bin/node'), 0o755);
    await fs.mkdir(at('usr/local/share/doc/node'), { recursive: true });
    await fs.copyFile(path.join(node.dir, 'LICENSE'), at('usr/local/share/doc/node/LICENSE'));
    await fs.writeFile(at('usr/local/bin/kubedojo'), wrapper, { mode: 0o755 });
    const app = at(APP_DIR);
    await productionModules(npm, app, task);
    task.update('copying the sources');
    const files = await checkoutFiles(RUNTIME_PATHS);
    await copyFiles(files, app);
    task.update('building the web client');
    await buildClient(npm, path.join(app, 'client', 'dist'));
    await settle(app, epoch);
    await addAccount(rootfs, { ...APP_USER, gecos: 'kubedojo', shell: '/usr/sbin/nologin' });
    for (const dir of [APP_USER.home, APP_DATA_DIR]) {
      await fs.mkdir(at(dir), { recursive: true });
      await fs.chown(at(dir), APP_USER.uid, APP_USER.gid);
      await fs.chmod(at(dir), 0o750);
    }
    if (!(await fs.stat(path.join(app, 'client', 'dist', 'index.html')).then(() => true, () => false))) throw new ImageBuildError('the client build left no client/dist/index.html');
    const source = `${plan.source}; Debian mirror of ${mirrorDate}`;
    return {
      rootfs,
      config: {
        entrypoint: ['/usr/local/bin/node', `${APP_DIR}/server/cli.ts`],
        cmd: ['serve'],
        user: `${APP_USER.uid}:${APP_USER.gid}`,
        workingDir: APP_DIR,
        exposedPorts: ['8080'],
        env: [
          `PATH=${PATH}`,
          `HOME=${APP_USER.home}`,
          'LANG=C.UTF-8',
          'NODE_ENV=production',
          // In a container: listen on every address, keep state on the data volume, log JSON.
          'KUBEDOJO_HOST=0.0.0.0',
          `KUBEDOJO_DATA_DIR=${APP_DATA_DIR}`,
          'KUBEDOJO_CACHE_DIR=/tmp/kubedojo-cache',
          'KUBEDOJO_LOG_FORMAT=json',
        ],
        labels: {
          'org.opencontainers.image.title': 'kubedojo',
          'org.opencontainers.image.version': plan.tag,
          'org.opencontainers.image.description': source,
          'org.opencontainers.image.vendor': 'kubedojo (built locally)',
          'org.opencontainers.image.licenses': 'Apache-2.0',
        },
      },
      mtime: { epoch, clamp: true },
      ownership: 'keep',
      source,
    };
  },
};
