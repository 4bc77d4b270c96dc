import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Logger } from '../../logger.ts';
import { nodeDirs } from '../paths.ts';
import type { ArchiveInfo } from './archive.ts';
import { importArchive, listRuntimeImages, normalizeImageName, type ImportedImage, type Runtime } from './runtime.ts';
import { sha256File } from './tools.ts';

/**
 * Archives an operator imported (`kubedojo images import`): a copy is kept under the node's
 * images directory and listed in images.json, so a runtime that lost them (a wiped containerd
 * root, garbage collection) gets them again at the next `cluster up`.
 */

const recordSchema = z.object({
  /** The file the operator gave. */
  from: z.string(),
  /** Our copy of it. */
  stored: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
  format: z.enum(['oci', 'docker']),
  importedAt: z.string(),
  /** Names, and digests once the runtime has reported them (or the OCI index gave them). */
  images: z.array(z.object({ name: z.string().min(1), digest: z.string().optional() })).min(1),
});
export type ImportRecord = z.infer<typeof recordSchema>;
const fileSchema = z.object({ version: z.literal(1), archives: z.array(recordSchema) });

export async function readImportRecords(dataDir: string): Promise<ImportRecord[]> {
  const file = nodeDirs(dataDir).imagesRecord;
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${file} is not valid JSON; move it away and import the archives again`);
  }
  const parsed = fileSchema.safeParse(value);
  if (!parsed.success) throw new Error(`${file} is malformed (${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')})`);
  return parsed.data.archives;
}

async function writeImportRecords(dataDir: string, archives: ImportRecord[]): Promise<void> {
  const file = nodeDirs(dataDir).imagesRecord;
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  await fs.writeFile(tmp, `${JSON.stringify({ version: 1, archives }, null, 2)}\n`);
  await fs.rename(tmp, file);
}

const sameName = (a: string, b: string) => normalizeImageName(a) === normalizeImageName(b);

/**
 * Keeps a copy of a checked archive and records it; an older record of the same image name is
 * replaced (its copy removed unless still used).
 */
export async function recordImport(dataDir: string, info: ArchiveInfo, images: ImportRecord['images']): Promise<ImportRecord> {
  const dir = nodeDirs(dataDir).images;
  await fs.mkdir(dir, { recursive: true });
  const sha256 = await sha256File(info.file);
  const stored = path.join(dir, `${sha256.slice(0, 16)}-${path.basename(info.file).replace(/[^\w.-]/g, '_')}`);
  if (path.resolve(info.file) !== stored) {
    const tmp = `${stored}.tmp-${process.pid}`;
    await fs.copyFile(info.file, tmp);
    await fs.rename(tmp, stored);
  }
  const record: ImportRecord = { from: path.resolve(info.file), stored, sha256, size: info.size, format: info.format, importedAt: new Date().toISOString(), images };
  const before = await readImportRecords(dataDir);
  const kept = before.filter((r) => r.stored !== stored && !r.images.some((old) => images.some((img) => sameName(old.name, img.name))));
  const dropped = before.filter((r) => !kept.includes(r) && r.stored !== stored);
  await writeImportRecords(dataDir, [...kept, record]);
  for (const old of dropped) {
    if (![...kept, record].some((r) => r.stored === old.stored)) await fs.rm(old.stored, { force: true });
  }
  return record;
}

/** Notes the digests the runtime gave once the archive is loaded. */
export async function updateRecordedDigests(dataDir: string, stored: string, imported: ImportedImage[]): Promise<void> {
  const records = await readImportRecords(dataDir);
  for (const record of records) {
    if (record.stored !== stored) continue;
    record.images = record.images.map((img) => ({ name: img.name, digest: imported.find((i) => sameName(i.name, img.name))?.digest ?? img.digest }));
  }
  await writeImportRecords(dataDir, records);
}

export interface ReimportResult {
  imported: ImportedImage[];
  present: string[];
  /** Recorded archives that could not be loaded, with why (the rest still load). */
  problems: string[];
  ms: number;
}

/**
 * Loads every recorded archive whose images the runtime no longer has, for `cluster up`. A
 * name the runtime holds under another digest is left alone: someone loaded a newer one.
 */
export async function reimportRecorded(rt: Runtime, dataDir: string, logger?: Logger): Promise<ReimportResult> {
  const started = Date.now();
  const records = await readImportRecords(dataDir);
  const result: ReimportResult = { imported: [], present: [], problems: [], ms: 0 };
  if (records.length === 0) return result;
  const have = await listRuntimeImages(rt);
  for (const record of records) {
    const missing = record.images.filter((img) => !have.some((h) => sameName(h.name, img.name)));
    result.present.push(...record.images.filter((img) => !missing.includes(img)).map((img) => img.name));
    if (missing.length === 0) continue;
    try {
      const imported = await importArchive(rt, record.stored, logger);
      result.imported.push(...imported);
      await updateRecordedDigests(dataDir, record.stored, imported);
    } catch (error) {
      const problem = `${record.stored} (imported from ${record.from}): ${error instanceof Error ? error.message : String(error)}`;
      logger?.child({ component: 'images' }).warn({ stored: record.stored }, `could not load a recorded image archive again: ${problem}`);
      result.problems.push(problem);
    }
  }
  result.ms = Date.now() - started;
  return result;
}
