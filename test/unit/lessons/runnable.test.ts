import fs from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseCommand, splitCommands } from '../../../server/lessons/commands.ts';
import { KUBE_TYPES } from '../../../server/lessons/kube-types.ts';
import { loadLibrary } from '../../../server/lessons/library.ts';
import { judgeBlock, type BlockContext } from '../../../server/lessons/runnable.ts';
import { projectRoot } from '../../helpers/cli.ts';
import { curriculum } from './temp-library.ts';

const hello = `apiVersion: v1
kind: Pod
metadata:
  name: hello
spec:
  containers:
    - name: web
      image: kubedojo.dev/busybox:1.35.0
`;
const nginx = hello.replace('kubedojo.dev/busybox:1.35.0', 'nginx:1.27-alpine');
const lab = (files: Record<string, string> = {}, nodes: 'auto' | 'simulated' = 'auto'): BlockContext => ({
  lab: { files: new Map(Object.entries(files)), setup: [], nodes },
  nodes: ['worker-a1', 'gpu-c1', 'real-node'],
});
const reasons = (source: string, context = lab()) => judgeBlock(source, context).reasons.map((r) => `${r.line}: ${r.message}`);

describe('splitting a block into the commands a person types', () => {
  it('keeps continuations, open quotes and here-documents with their command, and skips comments and prompts', () => {
    const block = [
      '# a comment nobody types',
      '$ kubectl get pods \\',
      '    -o wide',
      '',
      "kubectl get deploy web -o jsonpath='{.status.readyReplicas}",
      "{.spec.replicas}'",
      'kubectl apply -f - <<EOF',
      'kind: ConfigMap',
      '# not a comment: part of the document',
      'EOF',
      'kubectl get pods |',
      '  wc -l',
      'kubectl exec -it hello -- wget -qO- http://localhost/   # trailing comment',
    ].join('\n');
    expect(splitCommands(block)).toEqual([
      { line: 2, text: 'kubectl get pods \\\n    -o wide' },
      { line: 5, text: "kubectl get deploy web -o jsonpath='{.status.readyReplicas}\n{.spec.replicas}'" },
      { line: 7, text: 'kubectl apply -f - <<EOF\nkind: ConfigMap\n# not a comment: part of the document\nEOF' },
      { line: 11, text: 'kubectl get pods |\n  wc -l' },
      { line: 13, text: 'kubectl exec -it hello -- wget -qO- http://localhost/   # trailing comment' },
    ]);
  });

  it('splits a command into simple commands with words, redirections, here-documents and variables', () => {
    const [first, second] = parseCommand('X=1 kubectl get pods -n "$NAMESPACE" 2>&1 > out.txt && echo \'$NOT\' done');
    expect(first).toMatchObject({ words: ['kubectl', 'get', 'pods', '-n', '$NAMESPACE'], assignments: { X: '1' }, next: '&&', variables: ['NAMESPACE'] });
    expect(first?.redirects).toEqual([{ op: '2>&', target: '1' }, { op: '>', target: 'out.txt' }]);
    expect(second).toMatchObject({ words: ['echo', '$NOT', 'done'], variables: [] });
    expect(parseCommand('kubectl apply -f - <<EOF\nkind: ConfigMap\nEOF')[0]?.heredoc).toBe('kind: ConfigMap');
  });
});

describe('judging whether a block runs as written in a fresh sandbox', () => {
  it('runs a block that uses only the lab’s home and what it makes itself, and says when it needs the real node', () => {
    const source = 'kubectl apply -f hello-pod.yaml\nkubectl wait --for=condition=Ready pod/hello\nkubectl logs hello\nkubectl exec -it hello -- wget -qO- http://localhost/\nkubectl delete pod hello';
    expect(judgeBlock(source, lab({ 'hello-pod.yaml': hello }))).toEqual({ runnable: true, reasons: [], needsRealNode: true });
    expect(judgeBlock('kubectl get pods -l app=web\nkubectl get nodes -L accelerator', lab())).toEqual({ runnable: true, reasons: [], needsRealNode: false });
  });

  it('names the file the learner does not have, the node that does not exist and the watch that never returns', () => {
    expect(reasons('kubectl apply -f web-placement.yaml', lab({ 'web.yaml': hello }))).toEqual(["1: names web-placement.yaml, which is not in the learner's home (the lab puts there: web.yaml)"]);
    expect(reasons('kubectl describe node worker-7')).toEqual(['1: names node worker-7, which this cluster does not have (its nodes: worker-a1, gpu-c1, real-node)']);
    expect(reasons('kubectl taint nodes gpu-c1 dedicated=batch:NoSchedule')).toEqual(['1: kubectl taint changes nodes; a learner may only read them']);
    expect(reasons('kubectl get pods -w')).toEqual(['1: watches (-w) and never returns by itself: the learner would press Ctrl+C']);
    expect(reasons('kubectl logs -f hello', lab({ 'h.yaml': hello }))).toContain('1: kubectl logs -f follows the log and never returns by itself');
  });

  it('knows which Pods really run: logs of a Pod whose image is not offline, or in a lab on simulated nodes, are not', () => {
    const wait = 'kubectl apply -f h.yaml\nkubectl wait --for=condition=Ready pod/hello\nkubectl logs hello';
    expect(reasons(wait, lab({ 'h.yaml': nginx }))[0]).toMatch(/^3: kubectl logs hello: its containers do not run \(it runs nginx:1.27-alpine, which the real node does not have offline/);
    expect(reasons(wait, lab({ 'h.yaml': hello }, 'simulated'))[0]).toMatch(/this lab keeps its Pods on the simulated nodes/);
    expect(reasons('kubectl apply -f h.yaml\nkubectl logs hello', lab({ 'h.yaml': hello }))[0]).toMatch(/^2: kubectl logs hello comes right after hello is made.*kubectl wait --for=condition=Ready pod\/hello/);
  });

  it('refuses interactive sessions, other namespaces, objects nothing made, and kinds a learner may not touch', () => {
    expect(reasons('kubectl run t --rm -it --image=busybox:1.36 -- wget -qO- http://api/')[0]).toMatch(/^1: kubectl run t waits for busybox:1.36 to run, but the real node does not have that image offline/);
    expect(reasons('kubectl apply -f h.yaml\nkubectl wait --for=condition=Ready pod/hello\nkubectl exec -it hello -- sh', lab({ 'h.yaml': hello }))).toEqual(['3: kubectl exec -it hello opens an interactive shell, which waits for the learner']);
    expect(reasons('kubectl -n shop get pods')).toEqual(['1: works in namespace "shop"; a learner\'s commands work in their own namespace only']);
    expect(reasons('kubectl get pods -n $NAMESPACE')).toEqual([]);
    expect(reasons('kubectl scale deployment web --replicas=3')).toEqual(["1: kubectl scale deployment/web: nothing in this block or the lab's setup makes Deployment web"]);
    expect(reasons('kubectl get namespaces')).toEqual(['1: kubectl get namespaces: a learner may not use namespaces']);
    expect(reasons('kubectl get db')).toEqual(['1: kubectl get db: this sandbox has no resource type "db" (no CRD for it in the block or the lab\'s setup)']);
    expect(reasons('kubectl diff -f h.yaml', lab({ 'h.yaml': hello }))).toEqual(['1: kubectl diff exits 1 when it finds differences, as it does in a fresh sandbox']);
    expect(reasons('git grep -n kind')).toEqual(['1: runs git; a runnable block may run kubectl and shell text tools (echo, grep, head, …), which every sandbox has']);
    expect(reasons('echo $POD_NAME')).toEqual(["1: uses $POD_NAME, which nothing sets in the sandbox's shell"]);
  });

  it('lets a CRD made in the block (in the learner’s own group) serve its kind to later commands', () => {
    const crd = 'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: dbs.${group}\nspec:\n  group: ${group}\n  scope: Namespaced\n  names: { kind: Db, plural: dbs, singular: db, shortNames: [d] }\n';
    expect(reasons('kubectl apply -f crd.yaml\nkubectl wait --for=condition=Established crd/dbs.$GROUP\nkubectl get d', lab({ 'crd.yaml': crd }))).toEqual([]);
    expect(reasons('kubectl apply -f crd.yaml', lab({ 'crd.yaml': crd.replace(/\$\{group\}/g, 'example.com') }))[0]).toMatch(/makes a CRD in group "example.com"; a learner's CRDs must be in their own group/);
  });

  it('offers nothing without a lab', () => {
    expect(judgeBlock('kubectl get pods', { lab: null, nodes: [] })).toEqual({ runnable: false, reasons: [{ line: 1, message: 'the lesson has no lab, so there is no sandbox to run it in' }], needsRealNode: false });
  });
});

describe('the curriculum’s blocks', () => {
  it('offers the Fundamentals hello block (on the real node) and names why the advanced taint block is not offered', async () => {
    const library = await loadLibrary(curriculum);
    const fundamentals = library.bySlug.get('kubernetes-fundamentals')?.rendered.codeBlocks ?? [];
    const helloBlock = fundamentals.find((b) => b.source.includes('kubectl apply -f hello-pod.yaml'));
    expect(helloBlock).toMatchObject({ runnable: true, needsRealNode: true, notRunnable: [] });
    const advanced = library.bySlug.get('advanced-kubernetes-patterns')?.rendered.codeBlocks ?? [];
    const taint = advanced.find((b) => b.source.includes('worker-7'));
    expect(taint?.runnable).toBe(false);
    expect(taint?.notRunnable.map((r) => r.message)).toContain('kubectl taint changes nodes; a learner may only read them');
    expect(taint?.notRunnable[0]?.line).toBe((taint?.line ?? 0) + 1);
    expect(advanced.find((b) => b.source.includes('kubectl apply -f web-placement.yaml'))?.runnable).toBe(true);
    // A manifest block proposes the name the lesson applies it by.
    expect(advanced.find((b) => b.apply && b.objects.includes('Database orders-db'))?.saveAs).toBe('orders-db.yaml');
  });
});

describe('the table of what a learner may do', () => {
  it('matches the learner roles the cluster really installs', async () => {
    const text = await fs.readFile(path.join(projectRoot, 'sandboxes/policies/learner-roles.yaml'), 'utf8');
    const granted = new Map<string, Set<string>>();
    for (const doc of parseAllDocuments(text)) {
      const role = doc.toJS() as { rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] };
      for (const rule of role.rules) for (const group of rule.apiGroups) for (const resource of rule.resources) granted.set(`${group}/${resource}`, new Set([...(granted.get(`${group}/${resource}`) ?? []), ...rule.verbs]));
    }
    for (const type of KUBE_TYPES) {
      const verbs = granted.get(`${type.group}/${type.resource}`) ?? new Set();
      const access = verbs.has('create') ? 'write' : verbs.has('get') ? 'read' : 'none';
      expect({ type: type.resource, access }).toEqual({ type: type.resource, access: type.access });
    }
  });
});
