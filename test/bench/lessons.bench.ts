/**
 * node test/bench/lessons.bench.ts [--lessons 200] [--runs 7] [--requests 2000]
 *
 * Generates a library of realistic lessons (the two curriculum lessons, 1000-2700 lines each,
 * varied per copy: front matter, names in code, cross-links, quiz wording) in a temporary
 * folder, then prints, measured now:
 *   - loadLibrary (read, validate, render, highlight, quiz, links, prerequisites), several runs
 *     in one process: the first is cold (module compilation, worker start-up);
 *   - serving a lesson page from cache over HTTP: GET /api/lessons/:slug from `kubedojo serve`
 *     in its own process (as in production), as a signed-in learner, so each request does its
 *     SQLite session and progress lookups, on loopback: p50 and p99.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../../server/cluster/paths.ts';
import { loadLibrary } from '../../server/lessons/library.ts';
import { browser } from '../helpers/http.ts';
import { percentile, serveFor, verdict } from './report.ts';

const { values } = parseArgs({
  options: { lessons: { type: 'string', default: '200' }, runs: { type: 'string', default: '7' }, requests: { type: 'string', default: '2000' } },
});
const lessonCount = Number(values.lessons);
const runs = Number(values.runs);
const requests = Number(values.requests);

const LOAD_GOAL_MS = 2000;
const PAGE_GOAL_MS = 20;

const levels = ['01_beginner', '02_intermediate', '03_advanced'] as const;
const levelNames = ['beginner', 'intermediate', 'advanced'] as const;


interface Generated {
  dir: string;
  slugs: string[];
  bytes: number;
  lines: number;
}

/** Copies of the real lessons with everything that makes a lesson distinct changed. */
async function generate(count: number): Promise<Generated> {
  const sources = await Promise.all(
    ['02_intermediate/01. Kubernetes Fundamentals.md', '03_advanced/01. Advanced Kubernetes Patterns.md'].map((f) => fs.readFile(path.join(projectRoot, 'lessons', f), 'utf8')),
  );
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-lessons-bench-'));
  const names: { level: number; number: number; file: string; slug: string }[] = [];
  for (let i = 0; i < count; i += 1) {
    const level = i % 3;
    const number = Math.floor(i / 3) + 1;
    const slug = `topic-${level}-${number}`;
    names.push({ level, number, slug, file: `${String(number).padStart(2, '0')}. Topic ${number} & Friends ${level}.md` });
  }
  for (const level of levels) await fs.mkdir(path.join(dir, level));
  let bytes = 0;
  let lines = 0;
  for (const [i, name] of names.entries()) {
    const source = sources[i % 2] ?? '';
    const body = source.slice(source.indexOf('\n---\n', 4) + 5);
    const suffix = `${i}`;
    const related = [1, 2, 3, 7]
      .map((step) => names[(i + step * 11) % names.length])
      .filter((n) => n !== undefined)
      .map((n) => `- [Topic ${n.number}](../${levels[n.level]}/${encodeURIComponent(n.file)}) - related material`);
    related.push('- [Not written yet](./99.%20Not%20Written%20Yet.md) - coming later');
    const varied = body
      // Distinct names and numbers in code blocks, so no two lessons highlight the same text.
      .replace(/\b(web|api|shop|orders-db|frontend|backend|batch|canary|stable)\b/g, `$1-${suffix}`)
      .replace(/replicas: (\d+)/g, (_, n: string) => `replicas: ${Number(n) + (i % 5)}`)
      .replace(/^### Question (\d+)\n/gm, (_, n: string) => `### Question ${n}\nIn lesson ${suffix}: `)
      .replace(/## Related Topics[\s\S]*$/, `## Related Topics\n\n${related.join('\n')}\n`);
    const prerequisites = name.number > 1 ? [name.number - 1, ((name.number * 7) % 60) + 1] : [];
    const text = [
      '---',
      `number: ${name.number}`,
      `title: "Topic ${name.number} (${levelNames[name.level]}) & more"`,
      `slug: "${name.slug}"`,
      `level: "${levelNames[name.level]}"`,
      `tags: ["kubernetes", "bench", "topic-${i % 13}"]`,
      `prerequisites: [${prerequisites.join(', ')}]`,
      `estimated_minutes: ${30 + (i % 90)}`,
      'contributors: []',
      `canonical_id: "bench-${levelNames[name.level]}-${String(name.number).padStart(2, '0')}"`,
      '---',
      '',
      `# Topic ${name.number}`,
      varied,
    ].join('\n');
    bytes += Buffer.byteLength(text);
    lines += text.split('\n').length;
    await fs.writeFile(path.join(dir, levels[name.level] ?? '', name.file), text);
  }
  return { dir, slugs: names.map((n) => n.slug), bytes, lines };
}

async function main(): Promise<void> {
  const generated = await generate(lessonCount);
  try {
    console.log(
      `kubedojo bench: lessons  (${os.availableParallelism()} cores, Node ${process.version}; ${lessonCount} generated lessons, ${(generated.bytes / 1024 / 1024).toFixed(1)} MB, ${generated.lines} lines)`,
    );
    const loads: number[] = [];
    let library = await (async () => {
      const started = performance.now();
      const lib = await loadLibrary(generated.dir);
      loads.push(performance.now() - started);
      return lib;
    })();
    if (library.errors.length > 0 || library.lessons.length !== lessonCount) {
      throw new Error(`the generated library did not load cleanly: ${library.lessons.length} lessons, errors: ${JSON.stringify(library.errors.slice(0, 5))}`);
    }
    for (let i = 1; i < runs; i += 1) {
      const started = performance.now();
      library = await loadLibrary(generated.dir);
      loads.push(performance.now() - started);
    }
    const cold = loads[0] ?? Number.NaN;
    const sortedLoads = [...loads].sort((a, b) => a - b);

    const inline: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      const started = performance.now();
      await loadLibrary(generated.dir, { threads: 0 });
      inline.push(performance.now() - started);
    }
    inline.sort((a, b) => a - b);

    // Serving from cache: the real server in its own process, no cluster (lessons need none).
    const platform = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-lessons-bench-data-'));
    const server = await serveFor(['--data-dir', platform, '--lessons-dir', generated.dir, '--cluster', 'embedded', '--no-cluster-up']);
    const serve: number[] = [];
    let bytesOut = 0;
    try {
      const learner = browser(() => server.url);
      const registered = await learner('POST', '/api/auth/register', { username: 'bench-learner', password: 'a long enough passphrase 42' });
      if (registered.status >= 300) throw new Error(`register: ${registered.text}`);
      const session = await learner('GET', '/api/session');
      if (!session.text.includes('bench-learner')) throw new Error(`not signed in: ${session.text}`);
      for (let i = 0; i < requests + 100; i += 1) {
        const slug = generated.slugs[(i * 37) % generated.slugs.length] ?? '';
        const started = performance.now();
        const response = await learner('GET', `/api/lessons/${slug}`);
        const elapsed = performance.now() - started;
        if (response.status !== 200) throw new Error(`GET /api/lessons/${slug}: HTTP ${response.status}`);
        if (i >= 100) {
          serve.push(elapsed);
          bytesOut += response.text.length;
        }
      }
    } finally {
      await server.stop();
      await fs.rm(platform, { recursive: true, force: true });
    }
    serve.sort((a, b) => a - b);

    const ms = (n: number) => `${n.toFixed(n < 10 ? 2 : 0)} ms`;
    const rows = [
      ['MEASURE', 'RESULT', 'GOAL', ''],
      [`loadLibrary, ${lessonCount} lessons, ${runs} runs: median`, ms(percentile(sortedLoads, 50)), `≤ ${LOAD_GOAL_MS} ms`, verdict(percentile(sortedLoads, 50) <= LOAD_GOAL_MS)],
      ['loadLibrary: max (the first, cold run)', `${ms(sortedLoads.at(-1) ?? Number.NaN)} (cold ${ms(cold)})`, `≤ ${LOAD_GOAL_MS} ms`, verdict((sortedLoads.at(-1) ?? Infinity) <= LOAD_GOAL_MS)],
      ['loadLibrary without worker threads: median of 3', ms(percentile(inline, 50)), '(for comparison)', ''],
      [`GET /api/lessons/:slug from cache over HTTP, ${requests} requests: p50`, ms(percentile(serve, 50)), '', ''],
      ['GET /api/lessons/:slug from cache over HTTP: p99', ms(percentile(serve, 99)), `≤ ${PAGE_GOAL_MS} ms`, verdict(percentile(serve, 99) <= PAGE_GOAL_MS)],
      ['lesson page JSON size: mean', `${(bytesOut / serve.length / 1024).toFixed(0)} KiB`, '', ''],
    ];
    const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
    console.log('');
    for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd());
    console.log('');
    console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown cpu'}, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB`);
  } finally {
    await fs.rm(generated.dir, { recursive: true, force: true });
  }
}

await main();
