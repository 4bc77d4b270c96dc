import { InvalidArchive, inspectArchive } from '../cluster/images/archive.ts';
import { listBuiltImages } from '../cluster/images/builders.ts';
import { readImportRecords, recordImport, updateRecordedDigests, type ImportRecord } from '../cluster/images/records.ts';
import { embeddedRuntime, importArchive, listRuntimeImages, normalizeImageName, runtimeAvailable, type RuntimeImage } from '../cluster/images/runtime.ts';
import { isAppError } from '../errors.ts';
import { EXIT, type CliContext } from './context.ts';

/** `kubedojo images list|import`: the images the real node can run without a registry. */

export interface ListedImage {
  name: string;
  digest: string | null;
  /** Bytes: of the archive for built and imported images, the runtime's figure otherwise. */
  size: number;
  origin: 'built' | 'imported' | 'runtime';
  source: string;
  /** The archive on disk (built and imported images). */
  archive: string | null;
  /** In the runtime now (with this digest when one is known); null when the runtime is not running. */
  inRuntime: boolean | null;
}

export interface ImagesListing {
  runtime: { address: string; running: boolean; problem: string | null };
  images: ListedImage[];
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit] ?? ''}`;
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

export async function collectImages(ctx: CliContext): Promise<ImagesListing> {
  const rt = embeddedRuntime(ctx.config.dataDir);
  let runtimeImages: RuntimeImage[] | null = null;
  let problem: string | null = null;
  try {
    runtimeImages = await listRuntimeImages(rt);
  } catch (error) {
    // Unavailable (not running), or a runtime that answers badly: either way, still list the rest.
    if (!isAppError(error)) throw error;
    problem = error.message;
  }
  const inRuntime = (name: string, digest: string | null): boolean | null => {
    if (!runtimeImages) return null;
    const found = runtimeImages.find((i) => i.name === name || i.name === normalizeImageName(name));
    return found !== undefined && (digest === null || found.digest === digest);
  };
  const images: ListedImage[] = [];
  for (const b of await listBuiltImages(ctx.config.cacheDir)) {
    images.push({ name: b.name, digest: b.digest, size: b.size, origin: 'built', source: `built here: ${b.source}`, archive: b.archive, inRuntime: inRuntime(b.name, b.digest) });
  }
  let records: ImportRecord[] = [];
  try {
    records = await readImportRecords(ctx.config.dataDir);
  } catch (error) {
    problem = [problem, error instanceof Error ? error.message : String(error)].filter(Boolean).join('; ');
  }
  for (const r of records) {
    for (const img of r.images) {
      const digest = img.digest ?? null;
      images.push({ name: img.name, digest, size: r.size, origin: 'imported', source: `imported from ${r.from} at ${r.importedAt}`, archive: r.stored, inRuntime: inRuntime(img.name, digest) });
    }
  }
  for (const i of runtimeImages ?? []) {
    if (images.some((known) => known.name === i.name || normalizeImageName(known.name) === i.name)) continue;
    images.push({ name: i.name, digest: i.digest, size: i.size, origin: 'runtime', source: 'in the runtime (pulled from a registry, or loaded by other means)', archive: null, inRuntime: true });
  }
  return { runtime: { address: rt.address, running: runtimeImages !== null, problem }, images };
}

export async function imagesList(ctx: CliContext, options: { json?: boolean }): Promise<number> {
  const listing = await collectImages(ctx);
  if (options.json) {
    ctx.out.write(`${JSON.stringify(listing, null, 2)}\n`);
    return EXIT.ok;
  }
  const mark = (v: boolean | null) => (v === null ? '-' : v ? 'yes' : 'no');
  if (listing.images.length === 0) {
    ctx.out.write('No images available offline yet: "kubedojo cluster up" builds them (as root), "kubedojo images import FILE.tar" loads one you brought.\n');
  } else {
    ctx.out.write(`${table([['NAME', 'SIZE', 'IN RUNTIME', 'SOURCE'], ...listing.images.map((i) => [i.name, formatBytes(i.size), mark(i.inRuntime), i.source])])}\n`);
  }
  if (!listing.runtime.running) {
    ctx.out.write(`\nThe runtime is not running, so "IN RUNTIME" is unknown (${listing.runtime.problem ?? 'no answer'}). Built and imported images are loaded at the next "kubedojo cluster up".\n`);
  }
  return EXIT.ok;
}

export async function imagesImport(ctx: CliContext, file: string): Promise<number> {
  let info;
  try {
    info = await inspectArchive(file);
  } catch (error) {
    if (error instanceof InvalidArchive) {
      process.stderr.write(`kubedojo: ${error.message}\n`);
      return EXIT.usage;
    }
    throw error;
  }
  const rt = embeddedRuntime(ctx.config.dataDir);
  const record = await recordImport(ctx.config.dataDir, info, info.images);
  const names = info.images.map((i) => i.name).join(', ');
  if (!(await runtimeAvailable(rt))) {
    ctx.out.write(`Kept ${names} (${formatBytes(info.size)}) in ${record.stored}.\ncontainerd is not running at ${rt.address}: it will be loaded at the next "kubedojo cluster up".\n`);
    return EXIT.ok;
  }
  const imported = await importArchive(rt, record.stored, ctx.logger);
  await updateRecordedDigests(ctx.config.dataDir, record.stored, imported);
  for (const image of imported) ctx.out.write(`Imported ${image.name} (${image.digest}) into the runtime.\n`);
  ctx.out.write(`A copy is kept in ${record.stored} and loaded again at "kubedojo cluster up" if the runtime loses it.\n`);
  return EXIT.ok;
}
