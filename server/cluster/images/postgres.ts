import fs from 'node:fs/promises';
import path from 'node:path';
import { buildDebianRootfs, DPKG_OPTIONS, installedVersion, MIRRORS, mmdebstrapVersion, SUITE } from './debian.ts';
import { debianVersionTag, type Recipe, type RecipeContext } from './recipes.ts';
import { ImageBuildError, removeTree, runTool, sha256Text } from './tools.ts';

/**
 * kubedojo.dev/postgres:<upstream version>: Debian's own postgresql package (the one Debian's
 * security team patches) in a minbase root file system, for the database kubedojo's replicas
 * will share. The tag is the Debian package's upstream version, and the build installs exactly
 * the version the tag names (pkg=version), so the name never lies about its contents.
 */

export const POSTGRES_REPOSITORY = 'kubedojo.dev/postgres';
const RECIPE_VERSION = '4'; // 2: the cluster in pgdata/ below the volume; 3: PGHOST=/tmp for its tools; 4: no snakeoil key
/** Debian 12's PostgreSQL. */
export const POSTGRES_MAJOR = '15';
const PACKAGE = `postgresql-${POSTGRES_MAJOR}`;
const BIN = `/usr/lib/postgresql/${POSTGRES_MAJOR}/bin`;
/** The volume goes at /var/lib/postgresql/data; the cluster in a directory below it, which initdb makes and owns (it may not chmod a mount point it does not own). */
export const POSTGRES_VOLUME = '/var/lib/postgresql/data';
export const POSTGRES_DATA = `${POSTGRES_VOLUME}/pgdata`;

/**
 * First start: initdb with the password from POSTGRES_PASSWORD (never on a command line) and
 * the database POSTGRES_DB; then postgres in the foreground. Sockets go to /tmp, so the root
 * file system may be read-only.
 */
const entrypoint = `#!/bin/sh
set -eu
: "\${PGDATA:=${POSTGRES_DATA}}"
user=\${POSTGRES_USER:-kubedojo}
db=\${POSTGRES_DB:-kubedojo}
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "\${POSTGRES_PASSWORD:-}" ]; then echo "kubedojo postgres: POSTGRES_PASSWORD must be set for the first start" >&2; exit 2; fi
  pwfile=$(mktemp)
  printf '%s' "$POSTGRES_PASSWORD" > "$pwfile"
  ${BIN}/initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  if [ "$db" != postgres ]; then echo "CREATE DATABASE \\"$db\\" OWNER \\"$user\\";" | ${BIN}/postgres --single -D "$PGDATA" postgres >/dev/null; fi
fi
exec ${BIN}/postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/tmp "$@"
`;

/**
 * The newest postgresql-15 version Debian's own bookworm suites offer, from this machine's apt
 * lists (apt-cache madison); other repositories on the machine are ignored.
 */
export async function debianPostgresVersion(ctx: RecipeContext): Promise<string> {
  const result = await runTool('apt-cache', ['madison', PACKAGE], { env: ctx.env, installHint: "it comes with Debian's apt" });
  const versions = result.stdout
    .split('\n')
    .map((line) => line.split('|').map((part) => part.trim()))
    .filter(([name, , from]) => name === PACKAGE && from !== undefined && /deb\.debian\.org\/debian(-security)? bookworm/.test(from))
    .map(([, version]) => version ?? '');
  let best = '';
  for (const version of versions) {
    if (!best || (await runTool('dpkg', ['--compare-versions', version, 'gt', best], { env: ctx.env })).code === 0) best = version;
  }
  if (!best) throw new ImageBuildError(`apt knows no ${PACKAGE} from Debian's ${SUITE} mirrors on this machine: run apt-get update (with deb.debian.org ${SUITE}, ${SUITE}-updates and ${SUITE}-security in the sources)`);
  return best;
}

async function accountOf(rootfs: string, name: string): Promise<{ uid: number; gid: number }> {
  const line = (await fs.readFile(path.join(rootfs, 'etc/passwd'), 'utf8')).split('\n').find((l) => l.startsWith(`${name}:`));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) throw new ImageBuildError(`the ${PACKAGE} package made no ${name} account`);
  return { uid: Number(uid), gid: Number(gid) };
}

async function removeSnakeoil(rootfs: string): Promise<void> {
  const certs = path.join(rootfs, 'etc/ssl/certs');
  for (const name of await fs.readdir(certs)) {
    const link = await fs.readlink(path.join(certs, name)).catch(() => '');
    if (link.endsWith('ssl-cert-snakeoil.pem')) await fs.rm(path.join(certs, name));
  }
  await fs.rm(path.join(certs, 'ssl-cert-snakeoil.pem'), { force: true });
  await fs.rm(path.join(rootfs, 'etc/ssl/private/ssl-cert-snakeoil.key'), { force: true });
}

export const postgresRecipe: Recipe = {
  id: 'postgres',
  async plan(ctx) {
    const version = await debianPostgresVersion(ctx);
    const tag = debianVersionTag(version);
    const mmdebstrap = await mmdebstrapVersion(ctx);
    return {
      id: 'postgres',
      name: `${POSTGRES_REPOSITORY}:${tag}`,
      tag,
      inputs: { recipe: RECIPE_VERSION, package: `${PACKAGE}=${version}`, suite: SUITE, mirrors: MIRRORS.join('; '), dpkg: DPKG_OPTIONS.join(','), mmdebstrap, entrypoint: sha256Text(entrypoint) },
      source: `Debian ${SUITE} (${mmdebstrap}, minbase) with ${PACKAGE} ${version}`,
    };
  },
  async build(ctx, plan, workDir, task) {
    const wanted = (plan.inputs.package ?? '').split('=')[1] ?? '';
    const { rootfs, epoch, mirrorDate } = await buildDebianRootfs(ctx, { workDir, packages: [`${PACKAGE}=${wanted}`], what: 'the postgres image', task });
    const installed = await installedVersion(ctx, rootfs, PACKAGE);
    if (installed !== wanted) throw new ImageBuildError(`asked Debian's mirror for ${PACKAGE} ${wanted} and got ${installed}`);
    const at = (rel: string) => path.join(rootfs, rel.replace(/^\//, ''));
    // The package's postinst made a "main" cluster with its own config: the image makes its own at first start.
    await removeTree(at(`var/lib/postgresql/${POSTGRES_MAJOR}`));
    await removeTree(at(`etc/postgresql/${POSTGRES_MAJOR}`));
    // ssl-cert's postinst made a random key and a certificate naming this machine: no two builds
    // would be alike, and the image serves no TLS of its own (mount a certificate to add it).
    await removeSnakeoil(rootfs);
    const postgres = await accountOf(rootfs, 'postgres');
    await fs.writeFile(at('usr/local/bin/kubedojo-postgres'), entrypoint, { mode: 0o755 });
    await fs.mkdir(at(POSTGRES_VOLUME), { recursive: true });
    await fs.chown(at(POSTGRES_VOLUME), postgres.uid, postgres.gid);
    await fs.chmod(at(POSTGRES_VOLUME), 0o700);
    const source = `${plan.source}; Debian mirror of ${mirrorDate}`;
    return {
      rootfs,
      config: {
        entrypoint: ['/usr/local/bin/kubedojo-postgres'],
        user: `${postgres.uid}:${postgres.gid}`,
        exposedPorts: ['5432'],
        // PGHOST: psql and pg_dump in the container find the server's socket in /tmp.
        env: [`PATH=${BIN}:/usr/local/bin:/usr/bin:/bin`, `PGDATA=${POSTGRES_DATA}`, 'PGHOST=/tmp', 'LANG=C.UTF-8'],
        labels: {
          'org.opencontainers.image.title': 'kubedojo postgres',
          'org.opencontainers.image.version': plan.tag,
          'org.opencontainers.image.description': source,
          'org.opencontainers.image.vendor': 'kubedojo (built locally)',
        },
      },
      mtime: { epoch, clamp: true },
      ownership: 'keep',
      source,
    };
  },
};
