import { parseCommand, splitCommands, type SimpleCommand } from './commands.ts';
import { typeOfKind, type KubeType } from './kube-types.ts';
import { judgeKubectl } from './runnable-kubectl.ts';
import { yamlDocuments } from './yaml-documents.ts';

/**
 * Whether a lesson's shell block runs as written in a fresh sandbox of its lab, decided from what
 * it references: files in the learner's home, objects the block or the lab's setup makes, node
 * names, resource types the learner may use, images the real node has offline, and commands
 * that never return (watches, follows, interactive shells). A block that is not runnable is
 * still shown (with Copy); `lessons check` lists why. The test suite runs every runnable block
 * of the curriculum in a fresh sandbox (test/integration/runnable-blocks.test.ts).
 */

export interface BlockContext {
  /** The lesson's lab, or null: without a lab there is no sandbox to run in. */
  lab: {
    /** Files the lab puts in the learner's home: path → text (placeholders as written). */
    files: ReadonlyMap<string, string>;
    /** Objects the lab's setup makes in every new sandbox. */
    setup: readonly unknown[];
    /** `simulated`: the lab keeps its Pods off the real node. */
    nodes: 'auto' | 'simulated';
  } | null;
  /** The embedded cluster's node names. */
  nodes: readonly string[];
}

export interface BlockVerdict {
  runnable: boolean;
  /** Why not, each at a line of the block (1-based, its first line is 1). */
  reasons: { line: number; message: string }[];
  /** It runs containers for real (logs, exec): only where the cluster has a real node. */
  needsRealNode: boolean;
}

/** An object the block can count on, and what it knows about it. */
export interface Known {
  kind: string;
  name: string;
  /** Its containers run (on the real node): they have logs and take exec. */
  real: boolean;
  /** Why they do not run, in words, when `real` is false. */
  simulatedBecause: string;
  /** Running already: made by the lab's setup, or waited for since the block made it. */
  ready: boolean;
  /** Deployment revisions, for `rollout undo`. */
  revisions: number;
  containers: string[];
  /** A CRD's names, so its custom resources are types the block may use. */
  crd?: { kind: string; plural: string; singular: string; shortNames: string[]; group: string; namespaced: boolean };
}

/** What the block has to work with as it goes, command by command. */
export class SandboxModel {
  readonly objects = new Map<string, Known>();
  readonly files = new Set<string>();
  readonly fileText = new Map<string, string>();
  readonly variables = new Set(['NAMESPACE', 'GROUP', 'PRIORITY_CLASS_PREFIX', 'HOME', 'USER', 'PATH', 'KUBECONFIG', 'PWD', 'SHELL', 'TERM', 'LANG']);
  readonly simulated: boolean;
  readonly nodes: ReadonlySet<string>;
  needsRealNode = false;
  line = 1;
  readonly reasons: { line: number; message: string }[] = [];

  constructor(context: BlockContext) {
    this.simulated = context.lab?.nodes === 'simulated';
    this.nodes = new Set(context.nodes);
    for (const [file, text] of context.lab?.files ?? []) {
      this.files.add(file);
      this.fileText.set(file, text);
    }
    // Every sandbox has these (sandboxes/templates/sandbox.yaml); the lab's setup adds its own.
    for (const [kind, name] of [['ServiceAccount', 'default'], ['ServiceAccount', 'kubedojo-learner'], ['ConfigMap', 'kube-root-ca.crt'], ['NetworkPolicy', 'kubedojo-isolation']] as const) {
      this.add({ kind, name, real: false, simulatedBecause: '', ready: true, revisions: 1, containers: [] });
    }
    for (const object of context.lab?.setup ?? []) {
      const known = this.fromManifest(object, 'the lab', true);
      if (known) this.add({ ...known, ready: true });
    }
  }

  say(message: string): void {
    if (!this.reasons.some((r) => r.line === this.line && r.message === message)) this.reasons.push({ line: this.line, message });
  }

  key(kind: string, name: string): string {
    return `${kind}/${name}`;
  }

  add(known: Known): void {
    this.objects.set(this.key(known.kind, known.name), known);
  }

  get(kind: string, name: string): Known | undefined {
    return this.objects.get(this.key(kind, name));
  }

  /** A file the block reads: in the home (`~/x`, `./x`, `x`), or written earlier in it. */
  homePath(file: string): string {
    return file.replace(/^(?:~|\$HOME|\$\{HOME\}|\/home\/learner)\//, '').replace(/^\.\//, '');
  }

  hasFile(file: string): boolean {
    const relative = this.homePath(file).replace(/\/$/, '');
    return this.files.has(relative) || [...this.files].some((f) => f.startsWith(`${relative}/`));
  }

  /** A CRD the block or lab made, by any name kubectl accepts for its resources. */
  customType(name: string): Known | undefined {
    const lower = name.toLowerCase();
    return [...this.objects.values()].find((o) => o.crd && [o.crd.plural, o.crd.singular, o.crd.kind.toLowerCase(), ...o.crd.shortNames, `${o.crd.plural}.${o.crd.group}`].includes(lower));
  }

  /**
   * What applying a manifest makes, or why the learner may not make it (said as a reason).
   * `source` names where it comes from in messages ("hello-pod.yaml"); the lab's own setup is
   * `trusted`: the platform applies it, with rights the learner does not have.
   */
  fromManifest(value: unknown, source: string, trusted = false): Known | undefined {
    const say = (message: string) => {
      if (!trusted) this.say(message);
    };
    if (typeof value !== 'object' || value === null) return undefined;
    const object = value as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown; namespace?: unknown }; spec?: Record<string, unknown> };
    const kind = typeof object.kind === 'string' ? object.kind : '';
    const apiVersion = typeof object.apiVersion === 'string' ? object.apiVersion : '';
    const name = typeof object.metadata?.name === 'string' ? object.metadata.name : '';
    const namespace = object.metadata?.namespace;
    const type: KubeType | undefined = typeOfKind(apiVersion, kind);
    const custom = type ? undefined : [...this.objects.values()].find((o) => o.crd?.kind === kind && apiVersion.startsWith(`${o.crd.group}/`));
    if (!type && !custom) {
      say(`${source} makes a ${kind || 'document without a kind'} (${apiVersion}), a type this sandbox does not have (no CRD for it in the block or the lab's setup)`);
      return undefined;
    }
    if (typeof namespace === 'string' && namespace !== '${namespace}') say(`${source} puts ${kind} ${name} in namespace "${namespace}"; a learner works in their own namespace only`);
    if (type && type.access !== 'write') say(`${source} makes ${kind} ${name}; a learner ${type.access === 'read' ? `may read ${type.resource} but not make them` : `may not make ${type.resource}`}`);
    if (type?.kind === 'CustomResourceDefinition') {
      const group = typeof object.spec?.group === 'string' ? object.spec.group : '';
      if (!group.includes('${group}')) say(`${source} makes a CRD in group "${group}"; a learner's CRDs must be in their own group ($GROUP, \${group} in lab files)`);
    }
    if (type?.kind === 'PriorityClass' && !name.startsWith('${priorityClassPrefix}')) say(`${source} makes PriorityClass ${name}; a learner's PriorityClasses must start with their prefix ($PRIORITY_CLASS_PREFIX)`);
    const pod = podSpecOf(kind, object.spec);
    const images = (pod?.containers ?? []).map((c) => c.image ?? '');
    const offline = images.every((image) => image.startsWith('kubedojo.dev/'));
    const claims = kind === 'StatefulSet' && Array.isArray(object.spec?.volumeClaimTemplates) && object.spec.volumeClaimTemplates.length > 0;
    const real = pod !== undefined && !this.simulated && offline && !claims;
    const simulatedBecause = this.simulated
      ? 'this lab keeps its Pods on the simulated nodes'
      : !offline
        ? `it runs ${images.filter((i) => !i.startsWith('kubedojo.dev/')).join(', ')}, which the real node does not have offline (kubedojo images list), so it goes to a simulated node`
        : 'its volumes are simulated';
    const known: Known = { kind: type?.kind ?? kind, name, real, simulatedBecause, ready: false, revisions: 1, containers: (pod?.containers ?? []).map((c) => c.name ?? '') };
    if (type?.kind === 'CustomResourceDefinition') {
      const spec = object.spec as { group?: string; scope?: string; names?: { kind?: string; plural?: string; singular?: string; shortNames?: string[] } } | undefined;
      const names = spec?.names ?? {};
      known.crd = {
        kind: names.kind ?? '',
        plural: names.plural ?? '',
        singular: names.singular ?? (names.kind ?? '').toLowerCase(),
        shortNames: names.shortNames ?? [],
        group: spec?.group ?? '',
        namespaced: spec?.scope !== 'Cluster',
      };
    }
    return known;
  }

  /** Applies every document of a manifest text; false when it does not parse. */
  applyText(text: string, source: string, dryRun: boolean): boolean {
    const parsed = yamlDocuments(text);
    if (!parsed.ok) {
      this.say(`${source} is not valid YAML: ${parsed.message}`);
      return false;
    }
    for (const document of parsed.documents.filter((d) => d !== null && d !== undefined)) {
      const known = this.fromManifest(document, source);
      if (!known || dryRun) continue;
      const before = this.get(known.kind, known.name);
      this.add({ ...known, revisions: before ? before.revisions + 1 : 1, ready: false });
    }
    return true;
  }
}

interface PodSpec {
  containers?: { name?: string; image?: string }[];
}

function podSpecOf(kind: string, spec: Record<string, unknown> | undefined): PodSpec | undefined {
  const template = (s: unknown) => (s as { template?: { spec?: PodSpec } } | undefined)?.template?.spec;
  if (kind === 'Pod') return spec;
  if (['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'ReplicationController'].includes(kind)) return template(spec);
  if (kind === 'CronJob') return template((spec?.jobTemplate as { spec?: unknown } | undefined)?.spec);
  return undefined;
}

/** Programs a block may run besides kubectl: text tools every sandbox's shell has. */
const TOOLS = new Set(['echo', 'printf', 'grep', 'egrep', 'head', 'tail', 'sort', 'uniq', 'wc', 'cut', 'tr', 'cat', 'sleep', 'true', 'base64', 'sed', 'awk', 'jq', 'column', 'ls', 'cd', 'mkdir', 'pwd', 'date', 'export', 'test', '[']);

function judgeSimple(command: SimpleCommand, model: SandboxModel): void {
  for (const [name] of Object.entries(command.assignments)) model.variables.add(name);
  for (const variable of command.variables) {
    if (!model.variables.has(variable)) model.say(`uses $${variable}, which nothing sets in the sandbox's shell`);
  }
  for (const redirect of command.redirects) {
    if (/^\d*(?:>|>>|&>|&>>|>\|)$/.test(redirect.op) && redirect.target !== '/dev/null') model.files.add(model.homePath(redirect.target));
    if (/^\d*<$/.test(redirect.op) && !model.hasFile(redirect.target)) model.say(`reads ${redirect.target}, which is not in the learner's home`);
  }
  const program = command.words[0] ?? '';
  if (program === 'kubectl' || program === 'k') {
    judgeKubectl(command, model);
    return;
  }
  if (program === 'export') {
    for (const word of command.words.slice(1)) model.variables.add(word.split('=')[0] ?? '');
    return;
  }
  if (!TOOLS.has(program)) model.say(`runs ${program}; a runnable block may run kubectl and shell text tools (echo, grep, head, …), which every sandbox has`);
  if (program === 'cat' || program === 'grep') {
    for (const file of command.words.slice(1).filter((w) => !w.startsWith('-') && /\.(ya?ml|json|txt|py|sh)$/.test(w))) {
      if (!model.hasFile(file)) model.say(`reads ${file}, which is not in the learner's home`);
    }
  }
}

/** Judges one shell block in a fresh sandbox of its lab. */
export function judgeBlock(source: string, context: BlockContext): BlockVerdict {
  const model = new SandboxModel(context);
  if (!context.lab) {
    return { runnable: false, reasons: [{ line: 1, message: 'the lesson has no lab, so there is no sandbox to run it in' }], needsRealNode: false };
  }
  for (const command of splitCommands(source)) {
    model.line = command.line;
    for (const simple of parseCommand(command.text)) judgeSimple(simple, model);
  }
  return { runnable: model.reasons.length === 0, reasons: model.reasons, needsRealNode: model.reasons.length === 0 && model.needsRealNode };
}
