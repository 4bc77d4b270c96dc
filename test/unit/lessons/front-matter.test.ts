import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFrontMatter } from '../../../server/lessons/front-matter.ts';
import { loadLibrary, MAX_LESSON_BYTES } from '../../../server/lessons/library.ts';
import { decodeText, firstInvalidUtf8 } from '../../../server/lessons/text.ts';
import { curriculum, lessonText, QUIZ, tempLibrary } from './temp-library.ts';

const FILE = '01_beginner/01. A lesson.md';

async function loadOne(content: string | Uint8Array) {
  return loadLibrary(await tempLibrary({ [FILE]: content }));
}

describe('front matter', () => {
  it('reports a file without front matter at line 1', async () => {
    const library = await loadOne('# A lesson\n\n## Overview\n\nText.\n');
    expect(library.lessons).toEqual([]);
    expect(library.errors).toHaveLength(1);
    expect(library.errors[0]).toMatchObject({ file: FILE, line: 1 });
    expect(library.errors[0]?.message).toMatch(/^front matter: missing; a lesson starts with a "---" line/);
  });

  it('reports an unclosed block', async () => {
    const library = await loadOne('---\nnumber: 1\ntitle: x\n\n# A lesson\n');
    expect(library.errors).toEqual([{ file: FILE, line: 1, message: 'front matter: no closing "---" line after the opening "---"' }]);
  });

  it('reports broken YAML at its line in the .md file', async () => {
    const library = await loadOne(lessonText({ level: 'intermediate: advanced' }));
    expect(library.errors).toEqual([{ file: FILE, line: 5, message: 'front matter: invalid YAML: Nested mappings are not allowed in compact mappings' }]);
  });

  it('names a missing key, at the first line of the front matter', async () => {
    const library = await loadOne(lessonText({ slug: null }));
    expect(library.errors).toEqual([
      { file: FILE, line: 1, message: 'front matter: "slug" is missing; it must be a url-safe string of lowercase letters, digits and single hyphens, like "pod-disruption-budgets"' },
    ]);
  });

  it('names a mistyped key and what it got, at the key\'s line', async () => {
    const library = await loadOne(lessonText({ estimated_minutes: 'thirty', tags: '["kubernetes", 5]', level: '"expert"', slug: '"Not A Slug"' }));
    expect(library.errors).toEqual([
      { file: FILE, line: 4, message: 'front matter: "slug" must be a url-safe string of lowercase letters, digits and single hyphens, like "pod-disruption-budgets", got "Not A Slug"' },
      { file: FILE, line: 5, message: 'front matter: "level" must be one of beginner, intermediate, advanced, got "expert"' },
      { file: FILE, line: 6, message: 'front matter: "tags[1]" must be a string, got 5' },
      { file: FILE, line: 8, message: 'front matter: "estimated_minutes" must be an integer, got "thirty"' },
    ]);
  });

  it('keeps unknown keys and accepts contributors as names or mappings', () => {
    const result = parseFrontMatter(lessonText({ contributors: '["Ada", {name: "Grace"}]', reviewed_by: '"Linus"' }));
    expect(result.errors).toEqual([]);
    expect(result.data?.extra).toEqual({ reviewed_by: 'Linus' });
    expect(result.data?.contributors).toEqual(['Ada', { name: 'Grace' }]);
    expect(result.keyLines.canonical_id).toBe(10);
  });

  it('blanks the front matter out of the body, so body lines are file lines', () => {
    const text = lessonText();
    const { body } = parseFrontMatter(text);
    expect(body.split('\n').length).toBe(text.split('\n').length);
    expect(body.split('\n')[13]).toBe(text.split('\n')[13]);
  });
});

describe('bytes and line endings', () => {
  it('loads a file with a UTF-8 BOM and CRLF line endings, with the same lines', async () => {
    const text = lessonText({ estimated_minutes: 'thirty' }).replace(/\n/g, '\r\n');
    const bom = new Uint8Array([0xef, 0xbb, 0xbf]);
    const library = await loadOne(Buffer.concat([bom, Buffer.from(text)]));
    expect(library.errors).toEqual([{ file: FILE, line: 8, message: 'front matter: "estimated_minutes" must be an integer, got "thirty"' }]);

    const good = await loadOne(Buffer.concat([bom, Buffer.from(lessonText().replace(/\n/g, '\r\n'))]));
    expect(good.errors).toEqual([]);
    const lesson = good.lessons[0];
    expect(lesson?.title).toBe('A lesson');
    // The options end in "  \r\n": still hard breaks, so no warning, and the quiz parses.
    expect(lesson?.warnings).toEqual([]);
    expect(lesson?.quiz[0]).toMatchObject({ answer: 'A', options: { A: 'This one', B: 'That one' }, explanation: 'Because this one is right.' });
  });

  it('reports invalid UTF-8 with its line and column', async () => {
    const text = Buffer.from(lessonText());
    const lines = lessonText().split('\n');
    // Line 13 is "# A lesson"; the bad byte goes after "# ".
    const at = lines.slice(0, 12).join('\n').length + 1 + 2;
    const bytes = Buffer.concat([text.subarray(0, at), Buffer.from([0xff]), text.subarray(at)]);
    const library = await loadOne(bytes);
    expect(library.lessons).toEqual([]);
    expect(library.errors).toEqual([{ file: FILE, line: 13, message: 'not valid UTF-8: byte 0xff at column 3 is not part of a UTF-8 character; save the file as UTF-8' }]);
  });

  it('finds the first bad byte of truncated, overlong and surrogate sequences', () => {
    expect(firstInvalidUtf8(Buffer.from('héllo'))).toBe(6);
    expect(firstInvalidUtf8(new Uint8Array([0x61, 0xc3]))).toBe(1);
    expect(firstInvalidUtf8(new Uint8Array([0x61, 0xc0, 0x80]))).toBe(1);
    expect(firstInvalidUtf8(new Uint8Array([0xed, 0xa0, 0x80]))).toBe(0);
    expect(decodeText(new Uint8Array([0x61, 0x0d, 0x0a, 0x62, 0x0d, 0x63]))).toEqual({ ok: true, text: 'a\nb\nc' });
  });

  it('refuses a 5 MB file at once with a clear error, and loads a big-but-allowed one quickly', async () => {
    const real = await fs.readFile(path.join(curriculum, '03_advanced/01. Advanced Kubernetes Patterns.md'), 'utf8');
    const body = real.slice(real.indexOf('\n---\n', 4) + 5);
    const grow = (limit: number) => {
      let text = lessonText({}, '');
      while (Buffer.byteLength(text) + Buffer.byteLength(body) < limit) text += body;
      return text;
    };
    // Bounds an order of magnitude above a quiet machine's times: they catch parsing the refused
    // file, or work that grows with the square of its size, not a busy machine (benchmarks time).
    let started = performance.now();
    const huge = await loadOne(grow(5.2 * 1024 * 1024) + body.repeat(2));
    expect(performance.now() - started).toBeLessThan(3000);
    expect(huge.lessons).toEqual([]);
    expect(huge.errors).toHaveLength(1);
    expect(huge.errors[0]?.message).toMatch(/^the file is 5\.\d MB; a lesson may be at most 2 MB, so it was not loaded$/);

    const big = grow(MAX_LESSON_BYTES);
    expect(big.length).toBeGreaterThan(1.5 * 1024 * 1024);
    started = performance.now();
    const loaded = await loadOne(big);
    expect(performance.now() - started).toBeLessThan(15_000);
    expect(loaded.errors).toEqual([]);
    expect(loaded.lessons[0]?.quiz).toHaveLength(14);
  });

  it('stays linear on a lesson that is one enormous line', async () => {
    const started = performance.now();
    const library = await loadOne(lessonText({}, `# A lesson\n\n${'*a '.repeat(500_000)}\n\n${QUIZ}`));
    expect(performance.now() - started).toBeLessThan(15_000);
    expect(library.errors).toEqual([]);
  });
});
