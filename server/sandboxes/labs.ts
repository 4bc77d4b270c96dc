import fs from 'node:fs/promises';
import path from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { readManifests } from '../cluster/apply.ts';
import type { Library } from '../lessons/types.ts';
import type { LabSetup } from './service.ts';

/** What a lesson's lab file asks of its sandbox: the size and the setup objects (files read). */
export function labsFromLibrary(library: Library): (lesson: string) => Promise<LabSetup | undefined> {
  const cache = new Map<string, Promise<LabSetup | undefined>>();
  return (slug) => {
    let entry = cache.get(slug);
    if (!entry) {
      entry = (async () => {
        const lesson = library.bySlug.get(slug);
        if (!lesson?.lab) return undefined;
        const dir = path.dirname(lesson.absPath);
        const setup: KubernetesObject[] = [];
        for (const item of lesson.lab.setup) {
          if ('file' in item && typeof item.file === 'string') setup.push(...(await readManifests(path.join(dir, item.file))));
          else setup.push(item as KubernetesObject);
        }
        const files = await Promise.all(
          lesson.lab.files.map(async (file) => ({ path: file.path, content: file.content ?? (await fs.readFile(path.join(dir, file.from ?? ''), 'utf8')) })),
        );
        return { size: lesson.lab.sandbox.size, nodes: lesson.lab.sandbox.nodes, setup, files };
      })();
      cache.set(slug, entry);
    }
    return entry;
  };
}
