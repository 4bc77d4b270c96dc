import type { SimpleCommand } from './commands.ts';
import { builtinType } from './kube-types.ts';
import { flag, has, parseArgs, refsOf, verbIndex, type Parsed, type Ref } from './kubectl-args.ts';
import type { Known, SandboxModel } from './runnable.ts';

/** One kubectl command of a block, judged against what the block has so far (runnable.ts). */

type Need = 'read' | 'write';

/** The kind a type name means, checked against what the learner may do; undefined when not usable. */
function kindOf(model: SandboxModel, type: string, need: Need, verb: string): string | undefined {
  if (type === 'all' && need === 'read') return 'all';
  const builtin = builtinType(type);
  if (builtin) {
    if (builtin.access === 'none' || (need === 'write' && builtin.access !== 'write')) {
      model.say(`kubectl ${verb} ${type}: a learner may ${builtin.access === 'read' ? 'read' : 'not use'} ${builtin.resource}${builtin.access === 'read' ? ' but not change them' : ''}`);
      return undefined;
    }
    return builtin.kind;
  }
  const custom = model.customType(type);
  if (custom?.crd) return custom.crd.kind;
  model.say(`kubectl ${verb} ${type}: this sandbox has no resource type "${type}" (no CRD for it in the block or the lab's setup)`);
  return undefined;
}

/** A named object the command needs: it must exist by then. */
function need(model: SandboxModel, ref: Ref, access: Need, verb: string): Known | undefined {
  const kind = kindOf(model, ref.type, access, verb);
  if (!kind || ref.name === undefined) return undefined;
  if (kind === 'Node') {
    if (!model.nodes.has(ref.name)) model.say(`names node ${ref.name}, which this cluster does not have (its nodes: ${[...model.nodes].join(', ')})`);
    return undefined;
  }
  if (ref.name.includes('$')) return undefined;
  const known = model.get(kind, ref.name);
  if (!known) model.say(`kubectl ${verb} ${ref.type}/${ref.name}: nothing in this block or the lab's setup makes ${kind} ${ref.name}`);
  return known;
}

/** logs, exec, attach: the Pod (or the workload's Pods) must be running for real. */
function needRunning(model: SandboxModel, known: Known | undefined, verb: string): void {
  if (!known) return;
  if (!known.real) {
    model.say(`kubectl ${verb} ${known.name}: its containers do not run (${known.simulatedBecause}), so there is nothing to ${verb === 'logs' ? 'read' : verb}`);
  } else if (!known.ready) {
    model.say(`kubectl ${verb} ${known.name} comes right after ${known.name} is made, when it may not be running yet; wait for it first (kubectl wait --for=condition=Ready pod/${known.name}, or kubectl rollout status)`);
  } else {
    model.needsRealNode = true;
  }
}

const SHELLS = /^(?:\/bin\/|\/usr\/bin\/)?(?:sh|bash|ash|zsh)$/;

const READ_VERBS = new Set(['get', 'describe']);
const NAMED_WRITE_VERBS = new Set(['patch', 'scale', 'label', 'annotate', 'autoscale', 'expose', 'edit']);
const HARMLESS = new Set(['version', 'api-resources', 'api-versions', 'completion', 'help', 'events']);

export function judgeKubectl(command: SimpleCommand, model: SandboxModel): void {
  const words = command.words.slice(1);
  const at = verbIndex(words);
  const verb = words[at] ?? '';
  const args = parseArgs([...words.slice(0, at), ...words.slice(at + 1)], verb);
  const namespace = flag(args, 'namespace');
  if (namespace !== undefined && !/^\$\{?NAMESPACE\}?$/.test(namespace)) model.say(`works in namespace "${namespace}"; a learner's commands work in their own namespace only`);
  if (has(args, 'all-namespaces')) model.say('reads every namespace (-A); a learner may read their own only');
  if (has(args, 'watch') || has(args, 'watch-only')) model.say('watches (-w) and never returns by itself: the learner would press Ctrl+C');
  if (flag(args, 'context') !== undefined || flag(args, 'kubeconfig') !== undefined || flag(args, 'server') !== undefined) model.say('names another cluster or context; the sandbox has one');
  const dryRun = flag(args, 'dry-run');
  const files = args.flags.get('filename') ?? [];
  const readFiles = (apply: boolean): void => {
    for (const file of files) {
      if (/^https?:\/\//.test(file)) model.say(`fetches ${file}; the sandbox cannot reach the internet`);
      else if (file === '-') {
        if (command.heredoc !== undefined) model.applyText(command.heredoc, 'the here-document', !apply || dryRun !== undefined);
        else model.say('reads a manifest from its input (-f -) without a here-document');
      } else if (!model.hasFile(file)) {
        model.say(`names ${file}, which is not in the learner's home (the lab puts there: ${[...model.files].sort().join(', ') || 'nothing'})`);
      } else {
        const text = model.fileText.get(model.homePath(file));
        if (text !== undefined) model.applyText(text, model.homePath(file), !apply || dryRun !== undefined);
      }
    }
    if (flag(args, 'kustomize') !== undefined) model.say(`applies the kustomization ${flag(args, 'kustomize') ?? ''}, which is not in the learner's home`);
  };
  // Label, annotation and taint specs (`app=web`, `tier-`, `key=value:NoSchedule`) are not objects.
  const refs = () => refsOf(['label', 'annotate', 'taint'].includes(verb) ? args.positional.filter((p, i) => i === 0 || !/=|-$/.test(p)) : args.positional);

  switch (verb) {
    case 'get':
    case 'describe':
      if (verb === 'get' && args.positional.length === 0 && files.length > 0) readFiles(false);
      for (const ref of refs()) {
        if (ref.name === undefined) kindOf(model, ref.type, 'read', verb);
        else need(model, ref, 'read', verb);
      }
      return;
    case 'apply':
    case 'create':
    case 'replace':
      if (files.length > 0 || flag(args, 'kustomize') !== undefined) readFiles(true);
      else if (verb === 'create') createImperative(model, args, dryRun !== undefined);
      else model.say(`kubectl ${verb} without -f: nothing to apply`);
      return;
    case 'delete': {
      if (files.length > 0) {
        readFiles(false);
        return;
      }
      const list = refs();
      if (list.every((r) => r.name === undefined) && !has(args, 'all') && flag(args, 'selector') === undefined) model.say('kubectl delete names a type but no object (add a name, -l or --all)');
      for (const ref of list) {
        if (ref.name === undefined) kindOf(model, ref.type, 'write', verb);
        else {
          const known = need(model, ref, 'write', verb);
          if (known) model.objects.delete(model.key(known.kind, known.name));
        }
      }
      return;
    }
    case 'run': {
      const name = args.positional[0] ?? '';
      const image = flag(args, 'image') ?? '';
      const attached = has(args, 'stdin') || has(args, 'attach') || has(args, 'tty');
      const offline = image.startsWith('kubedojo.dev/');
      if (attached && args.command.length === 0) model.say(`kubectl run ${name} -it opens the image's own shell: an interactive session, not a command that returns`);
      else if (attached && !offline) model.say(`kubectl run ${name} waits for ${image} to run, but the real node does not have that image offline (kubedojo images list), so the Pod goes to a simulated node, where nothing runs`);
      else if (attached && model.simulated) model.say(`kubectl run ${name} waits for the Pod to run, but this lab keeps its Pods on the simulated nodes`);
      else if (attached) model.needsRealNode = true;
      if (dryRun === undefined && !has(args, 'rm')) {
        const real = offline && !model.simulated;
        model.add({ kind: 'Pod', name, real, simulatedBecause: real ? '' : model.simulated ? 'this lab keeps its Pods on the simulated nodes' : `${image} is not on the real node offline`, ready: attached, revisions: 1, containers: [name] });
      }
      return;
    }
    case 'logs':
    case 'exec':
    case 'attach':
    case 'cp': {
      if (verb === 'logs' && has(args, 'follow')) model.say('kubectl logs -f follows the log and never returns by itself');
      if (verb === 'attach') model.say('kubectl attach stays attached until the learner leaves');
      const target = verb === 'cp' ? args.positional.find((p) => p.includes(':'))?.split(':')[0] : args.positional[0];
      if (!target) return;
      const ref: Ref = target.includes('/') ? { type: target.split('/')[0] ?? '', name: target.split('/')[1] } : { type: 'pod', name: target };
      needRunning(model, need(model, ref, 'read', verb), verb);
      if (verb === 'exec' && (has(args, 'stdin') || has(args, 'tty')) && (args.command.length === 0 || (args.command.length === 1 && SHELLS.test(args.command[0] ?? '')))) {
        model.say(`kubectl exec -it ${target} opens an interactive shell, which waits for the learner`);
      }
      return;
    }
    case 'port-forward':
    case 'proxy':
      model.say(`kubectl ${verb} keeps running until the learner stops it`);
      return;
    case 'edit':
    case 'debug':
      model.say(`kubectl ${verb} is interactive (it opens ${verb === 'edit' ? 'an editor' : 'a debugging shell'})`);
      return;
    case 'diff':
      model.say('kubectl diff exits 1 when it finds differences, as it does in a fresh sandbox');
      return;
    case 'taint':
    case 'cordon':
    case 'uncordon':
    case 'drain':
      for (const ref of verb === 'taint' ? refs() : args.positional.map((name) => ({ type: 'node', name }))) {
        if (ref.name !== undefined && !model.nodes.has(ref.name)) model.say(`names node ${ref.name}, which this cluster does not have (its nodes: ${[...model.nodes].join(', ')})`);
      }
      model.say(`kubectl ${verb} changes nodes; a learner may only read them`);
      return;
    case 'rollout': {
      const action = args.positional[0] ?? '';
      for (const ref of refsOf(args.positional.slice(1))) {
        const known = need(model, ref, action === 'status' || action === 'history' ? 'read' : 'write', `rollout ${action}`);
        if (!known) continue;
        if (action === 'status') known.ready = true;
        if (action === 'restart') known.revisions += 1;
        if (action === 'undo') {
          const to = Number(flag(args, 'to-revision') ?? 0);
          if (known.revisions < 2 || to > known.revisions) model.say(`kubectl rollout undo ${known.name}: it has ${known.revisions} revision${known.revisions === 1 ? '' : 's'} by then`);
          known.revisions += 1;
        }
      }
      return;
    }
    case 'wait':
      if (flag(args, 'for')?.startsWith('delete')) return;
      for (const ref of refs()) {
        const known = need(model, ref, 'read', verb);
        if (known) known.ready = true;
      }
      return;
    case 'set': {
      const known = need(model, refsOf(args.positional.slice(1))[0] ?? { type: 'deployment', name: undefined }, 'write', `set ${args.positional[0] ?? ''}`);
      if (known && args.positional[0] === 'image') {
        for (const pair of args.positional.slice(2)) {
          const container = pair.split('=')[0] ?? '';
          if (container !== '*' && known.containers.length > 0 && !known.containers.includes(container)) model.say(`kubectl set image: ${known.kind} ${known.name} has no container "${container}" (it has ${known.containers.join(', ')})`);
        }
        known.revisions += 1;
      }
      return;
    }
    case 'top':
      if (!args.positional[0]?.startsWith('no')) {
        if ([...model.objects.values()].some((o) => o.kind === 'Pod' || o.containers.length > 0)) model.say('kubectl top pods fails until metrics arrive for new Pods (about 20 s after they start)');
      }
      return;
    case 'explain': {
      const type = (args.positional[0] ?? '').split('.')[0] ?? '';
      if (!builtinType(type) && !model.customType(type)) model.say(`kubectl explain ${type}: this sandbox has no resource type "${type}"`);
      return;
    }
    case 'config':
      if (!/^(?:view|get-contexts|current-context|get-clusters)$/.test(args.positional[0] ?? '')) model.say(`kubectl config ${args.positional[0] ?? ''} changes the kubeconfig, which the sandbox's shell keeps read-only (its namespace is already the default)`);
      return;
    case 'auth':
      return;
    case 'cluster-info':
      model.say('kubectl cluster-info reads kube-system, which a learner may not');
      return;
    default:
      if (NAMED_WRITE_VERBS.has(verb)) {
        const list = refs();
        for (const ref of list) {
          if (ref.type === 'node' || ref.type === 'nodes' || ref.type === 'no') {
            if (ref.name !== undefined && !model.nodes.has(ref.name)) model.say(`names node ${ref.name}, which this cluster does not have (its nodes: ${[...model.nodes].join(', ')})`);
            model.say(`kubectl ${verb} changes nodes; a learner may only read them`);
          } else if (ref.name !== undefined) {
            const known = need(model, ref, 'write', verb);
            if (known && verb === 'patch' && /template/.test(flag(args, 'patch') ?? '')) known.revisions += 1;
            if (known && verb === 'expose') model.add({ kind: 'Service', name: flag(args, 'name') ?? known.name, real: false, simulatedBecause: '', ready: true, revisions: 1, containers: [] });
          } else if (flag(args, 'selector') === undefined && !has(args, 'all')) {
            model.say(`kubectl ${verb} names a type but no object`);
          } else {
            kindOf(model, ref.type, 'write', verb);
          }
        }
        return;
      }
      if (!HARMLESS.has(verb) && !READ_VERBS.has(verb)) model.say(`kubectl ${verb || '(no command)'} is not a command this check knows to run in a sandbox`);
  }
}

/** `kubectl create deployment|job|service|configmap|… NAME`: what it makes. */
function createImperative(model: SandboxModel, args: Parsed, dryRun: boolean): void {
  const [what = '', ...rest] = args.positional;
  // `create secret generic NAME`, `create service clusterip NAME`: the second word is a flavour.
  if (what === 'secret' || what === 'service') rest.shift();
  const name = rest[0] ?? '';
  const type = builtinType(what);
  if (what === 'token') {
    if (!model.get('ServiceAccount', name)) model.say(`kubectl create token ${name}: there is no service account ${name}`);
    return;
  }
  if (!type) {
    model.say(`kubectl create ${what}: not a kind this check knows`);
    return;
  }
  if (type.access !== 'write') {
    model.say(`kubectl create ${what} ${name}: a learner may not make ${type.resource}`);
    return;
  }
  if (type.kind === 'PriorityClass' && !/^\$\{?PRIORITY_CLASS_PREFIX\}?/.test(name)) model.say(`makes PriorityClass ${name}; a learner's PriorityClasses must start with their prefix ($PRIORITY_CLASS_PREFIX)`);
  for (const file of args.flags.get('from-file') ?? []) {
    const path = file.includes('=') ? (file.split('=')[1] ?? '') : file;
    if (!model.hasFile(path)) model.say(`names ${path}, which is not in the learner's home`);
  }
  const from = flag(args, 'from');
  if (from !== undefined) need(model, { type: from.split('/')[0] ?? '', name: from.split('/')[1] }, 'read', 'create');
  if (dryRun) return;
  const image = flag(args, 'image') ?? '';
  const real = image !== '' && image.startsWith('kubedojo.dev/') && !model.simulated;
  const container = image.split('/').pop()?.split(':')[0] ?? '';
  model.add({ kind: type.kind, name, real, simulatedBecause: real ? '' : `${image || 'its image'} is not on the real node offline`, ready: false, revisions: 1, containers: image ? [container] : [] });
}
