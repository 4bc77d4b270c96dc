import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { createTwoFilesPatch } from 'diff';
import { stringify } from 'yaml';
import type { ApiResult } from '../cluster/api.ts';
import { parseManifests } from '../cluster/apply.ts';
import { RawClient } from '../cluster/raw.ts';
import { Conflict, Invalid } from '../errors.ts';
import type { CodeBlock, Library } from '../lessons/types.ts';
import type { Logger } from '../logger.ts';
import type { AppliedObject, ApplyBlockResponse, SaveBlockResponse } from './views.ts';
import type { HomeWrite } from './home-write.ts';
import type { Sandbox, SandboxService } from './service.ts';

/**
 * What the lesson page does with a manifest block, in the learner's own sandbox and with the
 * learner's own credentials (their kubeconfig's token, never the platform's): Apply, as
 * `kubectl apply --server-side` would, with a server-side dry run first that shows what would be
 * created or changed; and Save to my home, where `kubectl apply -f` takes it.
 */

/** The field manager is kubectl's, so a later `kubectl apply --server-side` of the same file agrees with it. */
const FIELD_MANAGER = 'kubectl';
/** A CRD applied with its custom resources needs a moment before the API serves the new kind. */
const NEW_KIND_WAIT_MS = 20_000;

/** Server-kept metadata and annotations that say nothing about what the learner applied. */
const SERVER_FIELDS = new Set(['managedFields', 'resourceVersion', 'uid', 'creationTimestamp', 'generation', 'selfLink']);
const SERVER_ANNOTATIONS = new Set(['kubectl.kubernetes.io/last-applied-configuration', 'deployment.kubernetes.io/revision']);

/** The object as a learner reads it, without what the server keeps for itself (and without status). */
function comparable(object: KubernetesObject): unknown {
  const plain = JSON.parse(JSON.stringify(object)) as Record<string, unknown>;
  const metadata = Object.fromEntries(Object.entries((plain.metadata ?? {}) as Record<string, unknown>).filter(([key]) => !SERVER_FIELDS.has(key)));
  const annotations = Object.entries((metadata.annotations ?? {}) as Record<string, string>).filter(([key]) => !SERVER_ANNOTATIONS.has(key));
  const rest = Object.fromEntries(Object.entries(plain).filter(([key]) => key !== 'status' && key !== 'metadata'));
  return { ...rest, metadata: { ...Object.fromEntries(Object.entries(metadata).filter(([key]) => key !== 'annotations')), ...(annotations.length > 0 ? { annotations: Object.fromEntries(annotations) } : {}) } };
}

/** `group/Kind` a CRD serves. */
function crdKind(object: KubernetesObject): string {
  const spec = (object as { spec?: { group?: string; names?: { kind?: string } } }).spec;
  return `${spec?.group ?? ''}/${spec?.names?.kind ?? ''}`;
}

export class LessonBlockService {
  private readonly library: Library;
  private readonly sandboxes: SandboxService;
  private readonly writeHome: (sandbox: Sandbox, relative: string, content: string, overwrite: boolean) => Promise<HomeWrite>;
  private readonly log: Logger;

  constructor(deps: { library: Library; sandboxes: SandboxService; writeHome: LessonBlockService['writeHome']; logger: Logger }) {
    this.library = deps.library;
    this.sandboxes = deps.sandboxes;
    this.writeHome = deps.writeHome;
    this.log = deps.logger.child({ component: 'lesson-blocks' });
  }

  /** A manifest block of the sandbox's own lesson. */
  private block(sandbox: Sandbox, index: number): CodeBlock {
    const lesson = this.library.bySlug.get(sandbox.lesson);
    const block = lesson?.rendered.codeBlocks.find((b) => b.index === index);
    if (!block?.apply) {
      throw new Invalid(`block ${index} of "${sandbox.lesson}" is not a manifest`, { issues: [{ field: 'body.block', message: `must be a manifest block of the lesson "${sandbox.lesson}"` }] });
    }
    return block;
  }

  private async learnerClient(namespace: string): Promise<RawClient> {
    const kc = new KubeConfig();
    kc.loadFromFile(await this.sandboxes.kubeconfigFor(namespace));
    return new RawClient(kc, FIELD_MANAGER);
  }

  /** Applies (or, with `dryRun`, only tries) a manifest block in the learner's sandbox. */
  async apply(namespace: string, learnerId: string, index: number, dryRun: boolean): Promise<ApplyBlockResponse> {
    const sandbox = await this.sandboxes.getOwned(namespace, learnerId);
    const objects = parseManifests(this.block(sandbox, index).source, `block ${index}`);
    const client = await this.learnerClient(namespace);
    const notes: string[] = [];
    const results: AppliedObject[] = [];
    const newKinds = new Set(objects.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => crdKind(o)));
    for (const object of objects) {
      const kind = object.kind ?? '';
      const name = object.metadata?.name ?? '';
      const apiVersion = object.apiVersion ?? '';
      const fromThisBlock = newKinds.has(`${apiVersion.includes('/') ? (apiVersion.split('/')[0] ?? '') : ''}/${kind}`);
      let resource = await client.resource(apiVersion, kind);
      // A kind whose CRD this block makes: served only once that CRD is in (not at all in a dry run).
      for (const deadline = Date.now() + NEW_KIND_WAIT_MS; !resource.ok && fromThisBlock && !dryRun && Date.now() < deadline; ) {
        await sleep(500);
        resource = await client.resource(apiVersion, kind);
      }
      if (!resource.ok) {
        results.push(
          fromThisBlock && dryRun
            ? { kind, name, namespace, action: 'create', diff: null, message: 'Its CRD comes with this block, so the API server can check it only when you apply.' }
            : { kind, name, namespace: null, action: 'refused', diff: null, message: resource.error.message },
        );
        continue;
      }
      const scoped = resource.value.namespaced;
      const target = structuredClone(object);
      if (scoped) {
        const written = target.metadata?.namespace;
        if (written && written !== namespace) notes.push(`${kind} ${name} names the namespace "${written}": it goes into your namespace ${namespace} instead.`);
        target.metadata = Object.assign({}, target.metadata, { namespace });
      }
      const path = `${apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`}${scoped ? `/namespaces/${namespace}` : ''}/${resource.value.plural}/${encodeURIComponent(name)}`;
      const current: ApiResult<KubernetesObject> = await client.get<KubernetesObject>(path);
      if (!current.ok && current.error.kind !== 'not-found') {
        results.push({ kind, name, namespace: scoped ? namespace : null, action: 'refused', diff: null, message: current.error.message });
        continue;
      }
      const applied = await client.apply<KubernetesObject>(target, { dryRun, ...(scoped ? { namespace } : {}) });
      if (!applied.ok) {
        results.push({ kind, name, namespace: scoped ? namespace : null, action: 'refused', diff: null, message: applied.error.message });
        continue;
      }
      const before = current.ok ? stringify(comparable(current.value)) : null;
      const after = stringify(comparable(applied.value));
      const action = before === null ? 'create' : before === after ? 'unchanged' : 'update';
      const diff = action === 'update' && before !== null ? createTwoFilesPatch(`${kind}/${name} now`, `${kind}/${name} after apply`, before, after, undefined, undefined, { context: 2 }).split('\n').slice(2).join('\n') : null;
      results.push({ kind, name, namespace: scoped ? namespace : null, action, diff, message: null });
    }
    if (!dryRun) this.log.info({ namespace, lesson: sandbox.lesson, block: index, objects: results.map((r) => `${r.kind}/${r.name}: ${r.action}`) }, 'lesson block applied');
    return { dryRun, objects: results, notes };
  }

  /** Saves a manifest block into the learner's home; a file that exists is kept unless `overwrite`. */
  async save(namespace: string, learnerId: string, index: number, file: string, overwrite: boolean): Promise<SaveBlockResponse> {
    const sandbox = await this.sandboxes.getOwned(namespace, learnerId);
    const block = this.block(sandbox, index);
    const outcome = await this.writeHome(sandbox, file, block.source, overwrite);
    if (outcome === 'exists') throw new Conflict(`~/${file} exists already; choose another name or replace it`, { issues: [{ field: 'body.path', message: `~/${file} exists already` }] });
    if (typeof outcome === 'object') {
      // A link the learner made in their home leads out of it: nothing was written anywhere.
      const why = `${outcome.linkOutside === file ? 'it is' : `${outcome.linkOutside} is`} a link to somewhere outside your home`;
      throw new Conflict(`could not save ~/${file}: ${why}`, { issues: [{ field: 'body.path', message: why }] });
    }
    return { path: `~/${file}`, command: `kubectl apply -f ${file}` };
  }
}
