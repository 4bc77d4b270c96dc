import fs from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parseCommand, splitCommands } from './commands.ts';
import type { Lab } from './lab-schema.ts';
import { judgeBlock, type BlockContext } from './runnable.ts';
import { yamlDocuments } from './yaml-documents.ts';
import { embeddedNodeNames } from './sandbox-facts.ts';
import type { CodeBlock } from './types.ts';

/**
 * What the lesson page may offer on each code block, once its lab is known: a shell block's
 * Run only when it runs as written in a fresh sandbox (runnable.ts), a manifest's objects and
 * the file name to save it as.
 */

/** The lab as the judge sees it: home files read, setup objects parsed. */
export async function blockContext(lessonFile: string, lab: Lab | null): Promise<BlockContext> {
  const nodes = await embeddedNodeNames();
  if (!lab) return { lab: null, nodes };
  const dir = path.dirname(lessonFile);
  const files = new Map<string, string>();
  await Promise.all(
    lab.files.map(async (file) => {
      files.set(file.path, file.content ?? (await fs.readFile(path.join(dir, file.from ?? ''), 'utf8').catch(() => '')));
    }),
  );
  const setup: unknown[] = [];
  for (const item of lab.setup) {
    if ('file' in item && typeof item.file === 'string') {
      const text = await fs.readFile(path.join(dir, item.file), 'utf8').catch(() => '');
      for (const doc of parseAllDocuments(text)) setup.push(doc.toJS());
    } else {
      setup.push(item);
    }
  }
  return { lab: { files, setup, nodes: lab.sandbox.nodes }, nodes };
}

function objectsOf(source: string): string[] {
  const parsed = yamlDocuments(source);
  if (!parsed.ok) return [];
  return parsed.documents
    .filter((d): d is { kind?: unknown; metadata?: { name?: unknown } } => typeof d === 'object' && d !== null)
    .map((d) => `${typeof d.kind === 'string' ? d.kind : ''} ${typeof d.metadata?.name === 'string' ? d.metadata.name : ''}`.trim());
}

/**
 * Files the shell block right after a manifest applies with `-f` and the lab's home does not
 * have: the lesson's own name for that manifest (`kubectl apply -f web-placement.yaml`).
 */
function appliedFiles(blocks: readonly CodeBlock[], from: number, home: ReadonlySet<string>): string[] {
  const files: string[] = [];
  for (const block of blocks.slice(from + 1, from + 2)) {
    if (!block.run) continue;
    for (const command of splitCommands(block.source)) {
      for (const simple of parseCommand(command.text)) {
        const words = simple.words;
        if (words[0] !== 'kubectl' || !['apply', 'create', 'replace'].includes(words[1] ?? '')) continue;
        const at = words.findIndex((w) => w === '-f' || w === '--filename');
        const file = at >= 0 ? words[at + 1] : words.find((w) => w.startsWith('--filename='))?.slice(11);
        if (file && /\.(ya?ml|json)$/.test(file) && !home.has(file) && !files.includes(file)) files.push(file);
      }
    }
  }
  return files;
}

/** Fills in `runnable`, `notRunnable`, `needsRealNode`, `objects` and `saveAs` of a lesson's blocks. */
export function judgeBlocks(blocks: CodeBlock[], context: BlockContext): void {
  const home = new Set(context.lab?.files.keys() ?? []);
  const taken = new Set<string>();
  blocks.forEach((block, i) => {
    if (block.run) {
      const verdict = judgeBlock(block.source, context);
      block.runnable = verdict.runnable;
      block.needsRealNode = verdict.needsRealNode;
      block.notRunnable = verdict.reasons.map((r) => ({ line: block.line + r.line, message: r.message }));
    }
    if (block.apply) {
      block.objects = objectsOf(block.source);
      const named = /^#\s*([\w./-]+\.ya?ml)\s*$/m.exec(block.source)?.[1];
      const first = block.objects[0]?.toLowerCase().replace(/\s+/g, '-').replace(/[^a-z0-9.-]/g, '');
      // Of the files the next block applies, the one named after an object here comes first.
      const names = block.objects.map((o) => o.split(' ')[1] ?? '').filter((n) => n !== '');
      const applied = appliedFiles(blocks, i, home).sort((a, b) => Number(names.some((n) => b.includes(n))) - Number(names.some((n) => a.includes(n))));
      const candidates = [named, ...applied, first ? `${first}.yaml` : undefined].filter((f): f is string => f !== undefined && !taken.has(f));
      block.saveAs = candidates[0] ?? null;
      if (block.saveAs) taken.add(block.saveAs);
    }
  });
}
