#!/usr/bin/env node
import { Command, CommanderError, Option, type OptionValues } from 'commander';
import { BuildError } from './cluster/build.ts';
import { ClusterStartError } from './cluster/local.ts';
import { clusterBuild, clusterDown, clusterKubeconfig, clusterStatus, clusterUp } from './cli/cluster.ts';
import { contextFor, EXIT, UsageError, type CliContext } from './cli/context.ts';
import { grade } from './cli/grade.ts';
import { dbBackup } from './cli/db.ts';
import { deployManifests, helmCommand } from './cli/deploy.ts';
import { imagesBuild, imagesPush } from './cli/images-deploy.ts';
import { imagesImport, imagesList } from './cli/images.ts';
import { adminCreate } from './cli/admin.ts';
import { lessonsCheck, lessonsRender } from './cli/lessons.ts';
import { ltiAdd, ltiList, ltiRegisterUrl, ltiRemove, ltiRotateKey, ltiUrls } from './cli/lti.ts';
import { sandboxCreate, sandboxDelete, sandboxList, sandboxReset, sandboxShell } from './cli/sandbox.ts';
import { isAppError } from './errors.ts';
import { runServer } from './main.ts';

/** The `kubedojo` command. Output meant for people goes to stdout; logs and progress to stderr. */

type Handler<O extends OptionValues> = (ctx: CliContext, options: O) => Promise<number>;

function action<O extends OptionValues>(handler: Handler<O>, defaults: Parameters<typeof contextFor>[1] = { logLevel: 'warn' }) {
  return async function (this: Command): Promise<void> {
    const ctx = contextFor(this, defaults);
    process.exitCode = await handler(ctx, this.opts<O>());
  };
}

const clusterOptions = (cmd: Command) =>
  cmd
    .option('--api-port <port>', 'port for the API server on 127.0.0.1 (default: a free port, kept across restarts)')
    .option('--go <path>', 'the Go toolchain that builds the control plane', undefined)
    .option('--real-node <mode>', 'a real node that runs containers beside the simulated ones: auto (as root), on or off (env KUBEDOJO_REAL_NODE)')
    .addOption(new Option('--etcd-unsafe-no-fsync', 'skip fsync in etcd (tests only: data may be lost on power failure)').hideHelp());

export function buildProgram(): Command {
  const program = new Command('kubedojo')
    .description('kubedojo: interactive Kubernetes lessons, sandboxes on a real cluster, browser terminals and graders')
    .version('0.1.0')
    .option('--data-dir <dir>', 'where kubedojo keeps its database and the local cluster (env KUBEDOJO_DATA_DIR)')
    .option('--database-url <url>', 'postgres://… for a PostgreSQL shared by replicas; unset: SQLite in the data dir (env KUBEDOJO_DATABASE_URL, which keeps the password out of ps)')
    .option('--cache-dir <dir>', 'where built control-plane binaries are cached (env KUBEDOJO_CACHE_DIR)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (env KUBEDOJO_LOG_LEVEL)')
    .option('--log-format <format>', 'pretty or json (env KUBEDOJO_LOG_FORMAT)')
    .showHelpAfterError()
    .exitOverride();

  const cluster = program.command('cluster').description('the embedded local Kubernetes cluster (real control plane, simulated nodes)');
  clusterOptions(cluster.command('up').description('start the local cluster (building it on first run) and wait until it is ready'))
    .option('--json', 'print the result as JSON')
    .action(action(clusterUp));
  cluster.command('down').description('stop the processes "up" started; data is kept').option('--json', 'print the result as JSON').action(action(clusterDown));
  cluster
    .command('status')
    .description('show each component with its pid, port and health (exit 1 unless all are running)')
    .option('--json', 'print the status as JSON')
    .action(action(clusterStatus));
  cluster.command('kubeconfig').description("print the path of the cluster's admin kubeconfig (for operators, never for learners)").action(action(clusterKubeconfig));
  cluster
    .command('build')
    .description('build the control plane from the Go module proxy into the cache (skipped when cached)')
    .option('--go <path>', 'the Go toolchain to use')
    .option('--real-node <mode>', "also build the real node's components: auto (as root), on or off")
    .option('--force', 'rebuild even when the cache is valid')
    .option('--verify', 'check cached binaries against their recorded checksums')
    .option('--json', 'print the result as JSON')
    .action(action(clusterBuild));

  const images = program.command('images').description('images the real node runs without a registry: built here, imported, or in the runtime');
  images.command('list').description('list the images available offline: name, size, where from, and whether the runtime has them').option('--json', 'print JSON').action(action(imagesList));
  images
    .command('import')
    .description('load an OCI or docker-save archive you brought along (kept, and loaded again at "cluster up" if the runtime loses it)')
    .argument('<file>', 'the image archive (.tar)')
    .action(async function (this: Command, file: string) {
      process.exitCode = await imagesImport(contextFor(this, { logLevel: 'warn' }), file);
    });
  images
    .command('build')
    .description("build kubedojo's own image (app: kubedojo.dev/kubedojo:<version>) or its database's (postgres), offline and reproducibly; cached")
    .argument('<image>', 'app or postgres')
    .option('--force', 'rebuild even when cached')
    .option('--load', "also load it into the embedded cluster's runtime")
    .option('--json', 'print the result as JSON')
    .action(async function (this: Command, image: string) {
      process.exitCode = await imagesBuild(contextFor(this, { logLevel: 'warn' }), image, this.opts());
    });
  images
    .command('push')
    .description('push a built image (by name) or an OCI archive to a registry with skopeo (credentials: skopeo login)')
    .argument('<image>', 'a name from "kubedojo images list", or an OCI archive file')
    .argument('<destination>', 'registry/repository:tag')
    .option('--no-tls-verify', 'plain http or a self-signed registry')
    .option('--authfile <file>', "the registry credentials (default: skopeo's)")
    .action(async function (this: Command, image: string, destination: string) {
      process.exitCode = await imagesPush(contextFor(this, { logLevel: 'warn' }), image, destination, this.opts());
    });

  program
    .command('helm')
    .description('run the pinned helm (built once from the Go module proxy into the cache), e.g. kubedojo helm -- install kubedojo deploy/helm/kubedojo')
    .argument('[args...]', "helm's arguments (after --)")
    .allowUnknownOption()
    .action(async function (this: Command, args: string[]) {
      process.exitCode = await helmCommand(contextFor(this, { logLevel: 'warn' }), args);
    });
  program
    .command('deploy')
    .description('Kubernetes deployment of kubedojo itself')
    .command('manifests')
    .description('render deploy/manifests/kubedojo.yaml from the chart (deploy/helm/kubedojo) with its default values')
    .option('--check', 'only say whether the file is current (exit 1 when not)')
    .action(action(deployManifests));

  program
    .command('grade')
    .description("check a sandbox, or grade a folder of submitted manifests in a throwaway sandbox (exit 0 all pass, 1 a check failed, 2 usage or a check could not run)")
    .requiredOption('--lesson <slug>', 'the lesson whose lab has the checks')
    .option('--exercise <id>', 'one exercise (default: every exercise of the lab)')
    .option('--namespace <ns>', 'a sandbox to check as it is')
    .option('--files <dir>', 'a folder of manifests (and the program an exercise runs) to grade')
    .option('--learner <name>', 'who submitted the folder, shown on the throwaway sandbox')
    .option('--format <format>', 'text, json or junit', 'text')
    .option('--kubeconfig <file>', 'use this cluster instead of the embedded one (env KUBECONFIG)')
    .option('--lessons-dir <dir>', 'the lesson library (env KUBEDOJO_LESSONS_DIR)')
    .action(action(grade));

  const admin = program.command('admin').description('accounts of this kubedojo');
  admin
    .command('create')
    .description('create an account (the first admin, or instructors); prints a generated password unless --password-stdin')
    .requiredOption('--username <name>', 'the sign-in name')
    .option('--role <role>', 'admin, instructor or learner', 'admin')
    .option('--display-name <name>', 'the name shown to others')
    .option('--password-stdin', 'read the password from standard input')
    .action(action(adminCreate));

  program
    .command('db')
    .description("kubedojo's database (SQLite, or PostgreSQL with --database-url)")
    .command('backup')
    .description('a consistent copy of the database while kubedojo serves (SQLite: online backup, integrity-checked; PostgreSQL: pg_dump custom format); - writes it to stdout')
    .argument('<file>', 'where the copy goes, or - for stdout')
    .action(async function (this: Command, file: string) {
      process.exitCode = await dbBackup(contextFor(this, { logLevel: 'warn' }), file);
    });

  const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];
  const lti = program
    .command('lti')
    .description('kubedojo inside learning management systems (LTI 1.3): platforms, registration links, URLs, keys')
    .option('--public-url <url>', 'where LMSs reach kubedojo (env KUBEDOJO_PUBLIC_URL)')
    .option('--lti-allow-http', 'accept http:// LMS endpoints (local trials only)');
  lti
    .command('add')
    .description('register an LMS (platform) by hand: its issuer, our client id there, deployments and endpoints')
    .requiredOption('--issuer <url>', "the platform's issuer (Moodle: the site URL; Canvas: https://canvas.instructure.com)")
    .requiredOption('--client-id <id>', 'the client id the LMS gave kubedojo')
    .requiredOption('--deployment-id <id>', 'a deployment id (repeat for several)', collect)
    .requiredOption('--auth-url <url>', 'the OIDC authentication request URL')
    .requiredOption('--token-url <url>', 'the OAuth 2 access token URL')
    .requiredOption('--jwks-url <url>', "the platform's public keyset URL")
    .option('--name <name>', 'a name to show (default: the issuer host)')
    .option('--token-audience <aud>', 'the aud of client assertions, when the LMS names one (default: the token URL)')
    .option('--frame-origin <origin>', 'another origin that frames kubedojo, e.g. https://school.instructure.com (repeatable)', collect)
    .option('--json', 'print the platform as JSON')
    .action(action(ltiAdd));
  lti.command('list').description('the registered platforms').option('--json', 'print JSON (with the tool URLs)').action(action(ltiList));
  lti
    .command('remove')
    .description('forget a platform (its courses keep their rooms)')
    .argument('<id>')
    .action(async function (this: Command, id: string) {
      process.exitCode = await ltiRemove(contextFor(this, { logLevel: 'warn' }), id);
    });
  lti.command('register-url').description('a one-time LTI Dynamic Registration URL to paste into Moodle or Canvas').action(action(ltiRegisterUrl));
  lti.command('rotate-key').description("replace the tool's signing key now (the old one stays published for two days)").action(action(ltiRotateKey));
  lti.command('urls').description('the URLs to paste into an LMS by hand').option('--json', 'print JSON').action(action(ltiUrls));

  const lessons = program.command('lessons').description("the course team's lesson library");
  lessons
    .command('check')
    .description('validate a lesson library (front matter, quizzes, links, prerequisites, lab files); exit 1 on errors')
    .argument('[dir]', 'the library folder (default: lessons/ of this checkout)')
    .option('--json', 'print one JSON object with every lesson (answers included: this is the author\'s view) and every error')
    .action(async function (this: Command, dir: string | undefined) {
      const ctx = contextFor(this, { logLevel: 'warn' });
      process.exitCode = await lessonsCheck(ctx, dir, this.opts<{ json?: boolean }>());
    });
  lessons
    .command('render')
    .description('print the learner-facing HTML of one lesson (no quiz answers)')
    .argument('<file>', 'the lesson markdown file')
    .action(async function (this: Command, file: string) {
      const ctx = contextFor(this, { logLevel: 'warn' });
      process.exitCode = await lessonsRender(ctx, file);
    });

  const sandbox = program.command('sandbox').description("learners' sandboxes: a namespace per learner and lesson").option('--kubeconfig <file>', 'use this cluster instead of the embedded one');
  sandbox
    .command('create')
    .description('create (or find) the sandbox of a learner for a lesson and write their kubeconfig')
    .option('--learner <name>', 'the learner (any text: it becomes a valid, collision-free name)')
    .option('--lesson <slug>', 'the lesson slug')
    .option('--size <size>', 'small, medium or large (default: what the lab asks for)')
    .option('--workshop <id>', 'the workshop the sandbox belongs to')
    .option('--kubeconfig-out <file>', "also write the learner's kubeconfig here (mode 0600)")
    .option('--json', 'print {namespace, group, priorityClassPrefix, expiresAt, kubeconfig}')
    .action(action(sandboxCreate));
  sandbox.command('list').description('every sandbox with its learner, lesson and expiry').option('--json', 'print JSON').action(action(sandboxList));
  sandbox
    .command('reset')
    .description("delete and recreate a sandbox, with the lab's setup applied again")
    .argument('<namespace>')
    .action(async function (this: Command, namespace: string) {
      process.exitCode = await sandboxReset(contextFor(this, { logLevel: 'warn' }), namespace);
    });
  sandbox
    .command('shell')
    .description("open the learner's jailed shell of a sandbox here (or run COMMAND in it), as the learner")
    .argument('<namespace>')
    .argument('[command...]', 'a command to run instead of an interactive shell (after --)')
    .action(async function (this: Command, namespace: string, command: string[]) {
      process.exitCode = await sandboxShell(contextFor(this, { logLevel: 'warn' }), namespace, command);
    });
  sandbox
    .command('delete')
    .description("delete a sandbox and the learner's CRDs and PriorityClasses; waits until it is gone")
    .argument('<namespace>')
    .action(async function (this: Command, namespace: string) {
      process.exitCode = await sandboxDelete(contextFor(this, { logLevel: 'warn' }), namespace);
    });

  program
    .command('serve')
    .description('serve the web app and API (starting the local cluster unless a kubeconfig is given)')
    .option('--host <host>', 'address to listen on (env KUBEDOJO_HOST, default 127.0.0.1)')
    .option('--port <port>', 'port to listen on, 0 for any (env KUBEDOJO_PORT, default 8080)')
    .option('--cluster <mode>', 'auto, embedded, kubeconfig or in-cluster (env KUBEDOJO_CLUSTER)')
    .option('--kubeconfig <file>', 'use an existing cluster through this kubeconfig (env KUBECONFIG)')
    .option('--context <name>', 'kubeconfig context to use')
    .option('--lessons-dir <dir>', 'the lesson library (env KUBEDOJO_LESSONS_DIR, default: lessons/ of this checkout)')
    .option('--no-cluster-up', 'do not start the embedded cluster; fail readiness until it runs')
    .option('--api-port <port>', 'API server port of the embedded cluster')
    .option('--go <path>', 'the Go toolchain that builds the control plane')
    .option('--real-node <mode>', 'a real node that runs containers beside the simulated ones: auto (as root), on or off')
    .option('--sandbox-ttl <minutes>', 'how long a sandbox lives before it is reaped (default 120)')
    .option('--sandbox-idle <minutes>', 'reap a sandbox idle this long (default 60)')
    .option('--sandboxes-per-learner <n>', 'sandboxes one learner may hold (default 3)')
    .option('--sandbox-capacity <n>', 'sandboxes the cluster may hold (default 300)')
    .option('--warm-pool <n>', 'pre-made sandboxes kept ready (default 0)')
    .option('--warm-pool-size <size>', 'size of the pool sandboxes: small, medium or large')
    .option('--reap-interval <seconds>', 'how often expired and idle sandboxes are reaped (default 30, 0 = never)')
    .option('--terminal-backend <kind>', 'auto, jail (local bubblewrap shells) or pod (toolbox pod and exec)')
    .option('--terminal-idle <minutes>', 'end a terminal after this long without input (default 30)')
    .option('--terminal-grace <seconds>', 'keep a terminal nobody is attached to this long (default 600)')
    .option('--jail-dir <dir>', 'where jailed shells keep homes (default /var/lib/kubedojo/jails as root)')
    .option('--toolbox-image <image>', 'the terminal image on clusters with a container runtime')
    .option('--recording-retention <days>', 'keep terminal recordings this long (default 30)')
    .option('--recording-max <mib>', "terminal recordings one sandbox may keep, in MiB; a recording stops with a note at the cap (default 20)")
    .option('--registration <mode>', 'open (anyone may sign up) or closed (env KUBEDOJO_REGISTRATION)')
    .option('--public-url <url>', 'how people and LMSs reach kubedojo, e.g. https://kubedojo.school.edu; https makes cookies Secure (env KUBEDOJO_PUBLIC_URL)')
    .option('--trust-proxy <hops|addresses>', 'which proxies may name the client in X-Forwarded-For: a number of hops, addresses/CIDRs, or none (default loopback)')
    .option('--rate-limits <limits>', 'change rate limits, e.g. guests=30/10m,sandboxes=10/1m (see README)')
    .option('--sandbox-domain <domain>', "the domain whose <namespace>.<domain> subdomains are a sandbox's Ingress hosts (default sandboxes.localhost)")
    .option('--learner-priority-max <value>', 'the highest PriorityClass value a learner may use (default 1000000)')
    .option('--sandbox-crds <n>', 'CustomResourceDefinitions one sandbox may own (default 10)')
    .option('--sandbox-priority-classes <n>', 'PriorityClasses one sandbox may own (default 5)')
    .option('--sandbox-load-balancers <n>', 'LoadBalancer Services per sandbox, any size (default 0)')
    .option('--jail-pids <n>', 'processes one jailed shell may run (default 256)')
    .option('--jail-memory <mib>', 'memory of one jailed shell in MiB: per jail with cgroups, per process without (default 768)')
    .option('--jail-file-size <mib>', 'the largest file a jailed shell may write, in MiB (default 512)')
    .option('--lti-key-rotation <days>', "replace the LTI tool's signing key after this many days (default 90, 0 = only by hand)")
    .option('--lti-allow-http', 'accept http:// LMS endpoints (local trials and tests; real LMSs are https)')
    .addOption(new Option('--etcd-unsafe-no-fsync', 'tests only').hideHelp())
    .action(
      action(async (ctx) => {
        await runServer(ctx.config, ctx.logger, ctx.progress);
        return EXIT.ok;
      }, {}),
    );

  return program;
}

function report(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  if (error instanceof UsageError) {
    process.stderr.write(`kubedojo: ${error.message}\n`);
    return EXIT.usage;
  }
  if (error instanceof BuildError) {
    process.stderr.write(`kubedojo: ${error.message}\n`);
    return error.reason === 'build-failed' ? EXIT.failed : EXIT.usage;
  }
  if (error instanceof ClusterStartError || isAppError(error)) {
    process.stderr.write(`kubedojo: ${error.message}\n`);
    return isAppError(error) && error.status === 409 ? EXIT.usage : EXIT.failed;
  }
  process.stderr.write(`kubedojo: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return EXIT.failed;
}

export async function runCli(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    return report(error);
  }
}

// Only when run as a program: importing this module (tests) has no side effects.
if (import.meta.main) {
  // `kubedojo lessons check --json | head` closes the pipe early: that is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  process.exitCode = await runCli(process.argv);
}
