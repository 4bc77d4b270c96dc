import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { projectRoot } from './cluster/paths.ts';
import { databaseUrlSchema, redactUrl, type DatabaseTarget } from './db/url.ts';
import { rateLimitsSchema, trustProxySchema, type RateLimitSettings, type TrustProxy } from './limits.ts';
import { CLUSTER_KINDS, SANDBOX_SIZES, type ClusterKind, type SandboxSize } from './vocabulary.ts';

/**
 * The one place that reads process.env. Every setting has a flag, an environment variable
 * and a default; a flag beats the environment, which beats the default. All problems are
 * reported at once, each naming the flag or variable it came from.
 */

const booleanWords: Record<string, boolean> = { '1': true, true: true, yes: true, on: true, '0': false, false: false, no: false, off: false };

const port = z.coerce
  .number({ error: 'must be a port number' })
  .int('must be a whole number')
  .min(0, 'must be between 0 and 65535')
  .max(65535, 'must be between 0 and 65535');

const bool = z.preprocess(
  (value) => (typeof value === 'string' ? booleanWords[value.trim().toLowerCase()] ?? value : value),
  z.boolean({ error: 'must be true or false (1/0, yes/no, on/off)' }),
);

const nonEmpty = z.string().trim().min(1, 'must not be empty');

const count = (max: number) => z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(0, 'must be 0 or more').max(max, `must be at most ${max}`);
const mebibytes = (min: number, max: number) => z.coerce.number({ error: 'must be a number of MiB' }).int('must be a whole number of MiB').min(min, `must be at least ${min} MiB`).max(max, `must be at most ${max} MiB`);

interface Field<T extends z.ZodType> {
  flag: string;
  env: readonly string[];
  schema: T;
  fallback: (env: Env) => unknown;
}

type Env = Readonly<Record<string, string | undefined>>;

const field = <T extends z.ZodType>(flag: string, env: readonly string[], schema: T, fallback: (env: Env) => unknown): Field<T> => ({
  flag,
  env,
  schema,
  fallback,
});

const home = (env: Env): string => env.HOME ?? os.homedir();

export const fields = {
  dataDir: field('--data-dir', ['KUBEDOJO_DATA_DIR'], nonEmpty, (env) =>
    path.join(env.XDG_DATA_HOME ?? path.join(home(env), '.local', 'share'), 'kubedojo'),
  ),
  databaseUrl: field('--database-url', ['KUBEDOJO_DATABASE_URL'], databaseUrlSchema, () => undefined),
  cacheDir: field('--cache-dir', ['KUBEDOJO_CACHE_DIR'], nonEmpty, (env) =>
    path.join(env.XDG_CACHE_HOME ?? path.join(home(env), '.cache'), 'kubedojo'),
  ),
  lessonsDir: field('--lessons-dir', ['KUBEDOJO_LESSONS_DIR'], nonEmpty, () => path.join(projectRoot, 'lessons')),
  host: field('--host', ['KUBEDOJO_HOST'], nonEmpty, () => '127.0.0.1'),
  port: field('--port', ['KUBEDOJO_PORT', 'PORT'], port, () => 8080),
  cluster: field(
    '--cluster',
    ['KUBEDOJO_CLUSTER'],
    z.enum(['auto', ...CLUSTER_KINDS], { error: `must be one of ${['auto', ...CLUSTER_KINDS].join(', ')}` }),
    () => 'auto',
  ),
  kubeconfig: field('--kubeconfig', ['KUBECONFIG'], nonEmpty.optional(), () => undefined),
  context: field('--context', ['KUBEDOJO_CONTEXT'], nonEmpty.optional(), () => undefined),
  clusterUp: field('--cluster-up', ['KUBEDOJO_CLUSTER_UP'], bool, () => true),
  apiPort: field('--api-port', ['KUBEDOJO_API_PORT'], port, () => 0),
  realNode: field(
    '--real-node',
    ['KUBEDOJO_REAL_NODE'],
    z.enum(['auto', 'on', 'off'], { error: 'must be auto, on or off' }),
    () => 'auto',
  ),
  clusterPolicies: field('--cluster-policies', ['KUBEDOJO_CLUSTER_POLICIES'], z.enum(['install', 'verify'], { error: 'must be install or verify' }), () => 'install'),
  etcdUnsafeNoFsync: field('--etcd-unsafe-no-fsync', ['KUBEDOJO_ETCD_UNSAFE_NO_FSYNC'], bool, () => false),
  sandboxTtl: field('--sandbox-ttl', ['KUBEDOJO_SANDBOX_TTL'], z.coerce.number({ error: 'must be a number of minutes' }).int('must be a whole number of minutes').min(10, 'must be at least 10 minutes').max(1440, 'must be at most 1440 minutes (a day)'), () => 120),
  sandboxIdle: field('--sandbox-idle', ['KUBEDOJO_SANDBOX_IDLE'], z.coerce.number({ error: 'must be a number of minutes' }).int('must be a whole number of minutes').min(5, 'must be at least 5 minutes').max(1440, 'must be at most 1440 minutes'), () => 60),
  sandboxesPerLearner: field('--sandboxes-per-learner', ['KUBEDOJO_SANDBOXES_PER_LEARNER'], z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').max(100, 'must be at most 100'), () => 3),
  sandboxCapacity: field('--sandbox-capacity', ['KUBEDOJO_SANDBOX_CAPACITY'], z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').max(100_000, 'must be at most 100000'), () => 300),
  warmPool: field('--warm-pool', ['KUBEDOJO_WARM_POOL'], z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(0, 'must be 0 or more').max(1000, 'must be at most 1000'), () => 0),
  warmPoolSize: field('--warm-pool-size', ['KUBEDOJO_WARM_POOL_SIZE'], z.enum(SANDBOX_SIZES, { error: 'must be small, medium or large' }), () => 'small'),
  reapInterval: field('--reap-interval', ['KUBEDOJO_REAP_INTERVAL'], z.coerce.number({ error: 'must be a number of seconds' }).int('must be a whole number of seconds').min(0, 'must be 0 (off) or more').max(3600, 'must be at most 3600 seconds'), () => 30),
  terminalIdle: field('--terminal-idle', ['KUBEDOJO_TERMINAL_IDLE'], z.coerce.number({ error: 'must be a number of minutes' }).int('must be a whole number of minutes').min(1, 'must be at least 1 minute').max(1440, 'must be at most 1440 minutes'), () => 30),
  terminalGrace: field('--terminal-grace', ['KUBEDOJO_TERMINAL_GRACE'], z.coerce.number({ error: 'must be a number of seconds' }).int('must be a whole number of seconds').min(5, 'must be at least 5 seconds').max(86_400, 'must be at most 86400 seconds'), () => 600),
  terminalBackend: field('--terminal-backend', ['KUBEDOJO_TERMINAL_BACKEND'], z.enum(['auto', 'jail', 'pod'], { error: 'must be auto, jail or pod' }), () => 'auto'),
  jailDir: field('--jail-dir', ['KUBEDOJO_JAIL_DIR'], nonEmpty.optional(), () => undefined),
  toolboxImage: field('--toolbox-image', ['KUBEDOJO_TOOLBOX_IMAGE'], nonEmpty.optional(), () => undefined),
  recordingRetention: field('--recording-retention', ['KUBEDOJO_RECORDING_RETENTION'], z.coerce.number({ error: 'must be a number of days' }).int('must be a whole number of days').min(1, 'must be at least 1 day').max(3650, 'must be at most 3650 days'), () => 30),
  sandboxDomain: field('--sandbox-domain', ['KUBEDOJO_SANDBOX_DOMAIN'], z.string().trim().toLowerCase().max(180, 'must be at most 180 characters').regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/, 'must be a DNS domain such as labs.example.com'), () => 'sandboxes.localhost'),
  learnerPriorityMax: field('--learner-priority-max', ['KUBEDOJO_LEARNER_PRIORITY_MAX'], count(1_000_000_000), () => 1_000_000),
  sandboxCrds: field('--sandbox-crds', ['KUBEDOJO_SANDBOX_CRDS'], count(1000), () => 10),
  sandboxPriorityClasses: field('--sandbox-priority-classes', ['KUBEDOJO_SANDBOX_PRIORITY_CLASSES'], count(1000), () => 5),
  sandboxLoadBalancers: field('--sandbox-load-balancers', ['KUBEDOJO_SANDBOX_LOAD_BALANCERS'], count(100), () => 0),
  recordingMax: field('--recording-max', ['KUBEDOJO_RECORDING_MAX'], mebibytes(1, 100_000), () => 20),
  jailPids: field('--jail-pids', ['KUBEDOJO_JAIL_PIDS'], count(100_000).min(16, 'must be at least 16'), () => 256),
  jailMemory: field('--jail-memory', ['KUBEDOJO_JAIL_MEMORY'], mebibytes(128, 1_000_000), () => 768),
  jailFileSize: field('--jail-file-size', ['KUBEDOJO_JAIL_FILE_SIZE'], mebibytes(1, 1_000_000), () => 512),
  trustProxy: field('--trust-proxy', ['KUBEDOJO_TRUST_PROXY'], trustProxySchema, () => 'loopback'),
  rateLimits: field('--rate-limits', ['KUBEDOJO_RATE_LIMITS'], rateLimitsSchema, () => ''),
  registration: field('--registration', ['KUBEDOJO_REGISTRATION'], z.enum(['open', 'closed'], { error: 'must be open or closed' }), () => 'open'),
  publicUrl: field('--public-url', ['KUBEDOJO_PUBLIC_URL'], z.url({ error: 'must be a URL such as https://kubedojo.example.com' }).optional(), () => undefined),
  ltiKeyRotation: field('--lti-key-rotation', ['KUBEDOJO_LTI_KEY_ROTATION'], z.coerce.number({ error: 'must be a number of days' }).int('must be a whole number of days').min(0, 'must be 0 (only on demand) or more').max(3650, 'must be at most 3650 days'), () => 90),
  ltiAllowHttp: field('--lti-allow-http', ['KUBEDOJO_LTI_ALLOW_HTTP'], bool, () => false),
  go: field('--go', ['KUBEDOJO_GO'], nonEmpty, () => 'go'),
  logLevel: field('--log-level', ['KUBEDOJO_LOG_LEVEL'], z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: 'must be one of fatal, error, warn, info, debug, trace, silent' }), () => 'info'),
  logFormat: field(
    '--log-format',
    ['KUBEDOJO_LOG_FORMAT'],
    z.enum(['pretty', 'json'], { error: 'must be pretty or json' }),
    (env) => (process.stderr.isTTY && !isCi(env) ? 'pretty' : 'json'),
  ),
} as const;

type Fields = typeof fields;
export type FieldName = keyof Fields;
type Values = { [K in FieldName]: z.output<Fields[K]['schema']> };

/** What a command line supplies: commander's parsed options (strings, booleans or numbers). */
export type FlagValues = Partial<Record<FieldName, string | number | boolean | undefined>>;

export interface Config {
  dataDir: string;
  /** --database-url: PostgreSQL (shared by replicas), else the SQLite file in the data directory. */
  database: DatabaseTarget;
  cacheDir: string;
  /** The lesson library: level folders of markdown lessons and their lab files. */
  lessonsDir: string;
  host: string;
  port: number;
  cluster: {
    mode: ClusterKind;
    /** Why this mode was chosen, for the first page and the logs. */
    modeReason: string;
    kubeconfig: string | undefined;
    context: string | undefined;
    /** Start (and build, on first run) the embedded cluster when serving. */
    autoStart: boolean;
    /** 0 picks a free port. */
    apiPort: number;
    etcdUnsafeNoFsync: boolean;
    /**
     * A real node (kubelet, containerd) beside the simulated ones: "auto" when running as root,
     * "on" insists (and fails with the reason), "off" keeps the simulated nodes only.
     */
    realNode: 'auto' | 'on' | 'off';
    /** The process runs as root, which a real node needs. */
    root: boolean;
    /** The API server as a pod sees it (KUBERNETES_SERVICE_HOST/PORT), when running in one. */
    inCluster: { host: string; port: string } | undefined;
  };
  sandboxes: {
    ttlMinutes: number;
    idleMinutes: number;
    maxPerLearner: number;
    capacity: number;
    warmPool: number;
    warmPoolSize: SandboxSize;
    reapIntervalSeconds: number;
    /** Ingress hosts of a sandbox are <namespace>.<domain> or names under it. */
    domain: string;
    learnerPriorityMax: number;
    /** CRDs and PriorityClasses one sandbox may own (counted by the admission webhook). */
    maxCrds: number;
    maxPriorityClasses: number;
    /** LoadBalancer Services per sandbox, whatever the size (they can cost money). */
    loadBalancers: number;
    /** Learner roles and admission policies: "install" them at start, or "verify" an operator did (the Helm chart: no right to write them needed). */
    policies: 'install' | 'verify';
  };
  /** What one visitor may consume at the HTTP and socket.io edge, and whom to believe about addresses. */
  http: { trustProxy: TrustProxy; rateLimits: RateLimitSettings };
  terminals: {
    idleMinutes: number;
    graceSeconds: number;
    backend: 'auto' | 'jail' | 'pod';
    /** Where jailed shells keep homes and runtime files. */
    jailDir: string;
    /** The pod backend's image; by default kubedojo's own toolbox (built offline for the embedded cluster). */
    toolboxImage: string | undefined;
    recordingRetentionDays: number;
    /** Bytes of recording one sandbox may keep; a recording stops with a note at the cap. */
    recordingMaxBytes: number;
    /** Limits of one jailed shell (cgroups where they can be written, rlimits always). */
    jail: { pids: number; memoryBytes: number; fileBytes: number };
  };
  /** Whether anyone may create a learner account (guests and workshop participants need none). */
  registration: boolean;
  /** How people reach this server (join links, the setup link); the listening address when unset. */
  publicUrl: string | undefined;
  lti: {
    /** Days before the tool's signing key is replaced (the old one stays published for two days). */
    keyRotationDays: number;
    /** Accept http:// LMS endpoints (local trials and tests); real platforms are https. */
    allowHttp: boolean;
  };
  go: string;
  log: { level: Values['logLevel']; format: Values['logFormat'] };
  /** A person is watching: progress may redraw one line. */
  interactive: boolean;
  ci: boolean;
  /** The environment handed to child processes that need it (the Go toolchain). */
  env: Readonly<Record<string, string>>;
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

function isCi(env: Env): boolean {
  const ci = env.CI?.toLowerCase();
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
}

function describeSource(name: FieldName, source: string): string {
  const spec = fields[name];
  return source === 'flag' ? spec.flag : source === 'default' ? `${spec.flag} (default)` : `${spec.flag} (from ${source})`;
}

/** `defaults` lets a command change a default (the CLI's cluster commands log less than `serve`). */
export function loadConfig(flags: FlagValues = {}, env: Env = process.env, defaults: FlagValues = {}): ConfigResult {
  const problems: string[] = [];
  const values: Partial<Record<FieldName, unknown>> = {};
  const sources: Partial<Record<FieldName, string>> = {};

  for (const name of Object.keys(fields) as FieldName[]) {
    const spec = fields[name];
    let raw: unknown;
    let source = 'default';
    if (flags[name] !== undefined) {
      raw = flags[name];
      source = 'flag';
    } else {
      const envName = spec.env.find((candidate) => env[candidate] !== undefined && env[candidate] !== '');
      if (envName !== undefined) {
        raw = env[envName];
        source = envName;
      } else {
        raw = defaults[name] ?? spec.fallback(env);
      }
    }
    sources[name] = source;
    const parsed = spec.schema.safeParse(raw);
    if (parsed.success) {
      values[name] = parsed.data;
    } else {
      // A database URL may carry a password: the message shows it redacted.
      const shown = typeof raw === 'string' ? JSON.stringify(name === 'databaseUrl' ? redactUrl(raw) : raw) : String(raw);
      for (const issue of parsed.error.issues) problems.push(`${describeSource(name, source)}: ${issue.message}, got ${shown}`);
    }
  }
  if (problems.length > 0) return { ok: false, problems };

  const v = values as Values;
  let mode: ClusterKind;
  let modeReason: string;
  const inCluster = env.KUBERNETES_SERVICE_HOST !== undefined && env.KUBERNETES_SERVICE_PORT !== undefined;
  if (v.cluster === 'auto') {
    if (v.kubeconfig !== undefined) {
      mode = 'kubeconfig';
      modeReason = `kubeconfig given by ${describeSource('kubeconfig', sources.kubeconfig ?? 'flag')}`;
    } else if (inCluster) {
      mode = 'in-cluster';
      modeReason = 'running inside a Kubernetes pod';
    } else {
      mode = 'embedded';
      modeReason = 'no kubeconfig given, so the embedded local cluster is used';
    }
  } else {
    mode = v.cluster;
    modeReason = `chosen by ${describeSource('cluster', sources.cluster ?? 'flag')}`;
  }
  if (mode === 'kubeconfig' && v.kubeconfig === undefined) {
    problems.push(`${describeSource('cluster', sources.cluster ?? 'flag')}: "kubeconfig" needs --kubeconfig or KUBECONFIG`);
  }
  if (mode === 'in-cluster' && !inCluster) {
    problems.push(`${describeSource('cluster', sources.cluster ?? 'flag')}: "in-cluster" needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT (set inside a pod)`);
  }
  if (problems.length > 0) return { ok: false, problems };

  const childEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined) childEnv[key] = value;
  const ci = isCi(env);

  return {
    ok: true,
    config: {
      dataDir: path.resolve(v.dataDir),
      database: v.databaseUrl === undefined ? { dialect: 'sqlite', file: path.join(path.resolve(v.dataDir), 'kubedojo.db') } : { dialect: 'postgres', url: v.databaseUrl },
      cacheDir: path.resolve(v.cacheDir),
      lessonsDir: path.resolve(v.lessonsDir),
      host: v.host,
      port: v.port,
      cluster: {
        mode,
        modeReason,
        // KUBECONFIG may list several files, as kubectl allows; the first one is used.
        kubeconfig: v.kubeconfig === undefined ? undefined : path.resolve(v.kubeconfig.split(path.delimiter).find((p) => p !== '') ?? v.kubeconfig),
        context: v.context,
        autoStart: v.clusterUp,
        apiPort: v.apiPort,
        etcdUnsafeNoFsync: v.etcdUnsafeNoFsync,
        realNode: v.realNode,
        root: process.getuid?.() === 0,
        inCluster: inCluster ? { host: env.KUBERNETES_SERVICE_HOST ?? '', port: env.KUBERNETES_SERVICE_PORT ?? '' } : undefined,
      },
      sandboxes: {
        ttlMinutes: v.sandboxTtl,
        idleMinutes: v.sandboxIdle,
        maxPerLearner: v.sandboxesPerLearner,
        capacity: v.sandboxCapacity,
        warmPool: v.warmPool,
        warmPoolSize: v.warmPoolSize,
        reapIntervalSeconds: v.reapInterval,
        domain: v.sandboxDomain,
        learnerPriorityMax: v.learnerPriorityMax,
        maxCrds: v.sandboxCrds,
        maxPriorityClasses: v.sandboxPriorityClasses,
        loadBalancers: v.sandboxLoadBalancers,
        policies: v.clusterPolicies,
      },
      http: { trustProxy: v.trustProxy, rateLimits: v.rateLimits },
      terminals: {
        idleMinutes: v.terminalIdle,
        graceSeconds: v.terminalGrace,
        backend: v.terminalBackend,
        jailDir: path.resolve(v.jailDir ?? (process.getuid?.() === 0 ? '/var/lib/kubedojo/jails' : path.join(v.dataDir, 'jails'))),
        toolboxImage: v.toolboxImage,
        recordingRetentionDays: v.recordingRetention,
        recordingMaxBytes: v.recordingMax * 1024 * 1024,
        jail: { pids: v.jailPids, memoryBytes: v.jailMemory * 1024 * 1024, fileBytes: v.jailFileSize * 1024 * 1024 },
      },
      registration: v.registration === 'open',
      publicUrl: v.publicUrl?.replace(/\/+$/, ''),
      lti: { keyRotationDays: v.ltiKeyRotation, allowHttp: v.ltiAllowHttp },
      go: v.go,
      log: { level: v.logLevel, format: v.logFormat },
      interactive: process.stderr.isTTY && !ci,
      ci,
      env: childEnv,
    },
  };
}
