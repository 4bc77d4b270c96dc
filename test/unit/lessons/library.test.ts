import { afterAll, describe, expect, it } from 'vitest';
import { loadLibrary } from '../../../server/lessons/library.ts';
import { closeCompilePool, compilePoolStats } from '../../../server/lessons/pool.ts';
import { findCycles } from '../../../server/lessons/prerequisites.ts';
import type { Lesson } from '../../../server/lessons/types.ts';
import { fixtureLibrary, lessonText, tempLibrary } from './temp-library.ts';

afterAll(() => closeCompilePool());

/** A lesson file for the prerequisite cases. */
const lesson = (slug: string, level: string, number: number, prerequisites: number[]) =>
  lessonText({ slug: `"${slug}"`, canonical_id: `"${slug}"`, level: `"${level}"`, number: String(number), prerequisites: `[${prerequisites.join(', ')}]` });

describe('loadLibrary on the fixture library', () => {
  it('loads every lesson of every level folder, in order, without errors', async () => {
    const library = await loadLibrary(fixtureLibrary);
    expect(library.errors).toEqual([]);
    expect(library.dir).toBe(fixtureLibrary);
    expect(library.lessons.map((l) => [l.file, l.slug, l.level, l.number])).toEqual([
      ['01_beginner/01. Pods & Containers.md', 'pods-and-containers', 'beginner', 1],
      ['02_intermediate/01. Deployments.md', 'deployments', 'intermediate', 1],
      ['02_intermediate/02. Services & Networking.md', 'services-and-networking', 'intermediate', 2],
    ]);
    expect([...library.bySlug.keys()]).toEqual(['pods-and-containers', 'deployments', 'services-and-networking']);
    const pods = library.bySlug.get('pods-and-containers');
    expect(pods).toMatchObject({
      canonicalId: 'fixture-beginner-01',
      title: 'Pods & Containers',
      tags: ['kubernetes', 'pods'],
      estimatedMinutes: 20,
      contributors: ['Ada', { name: 'Grace', github: 'grace' }],
      sections: ['Overview', 'Deep Explanation', 'Diagrams', 'Overview', 'Quiz', 'Related Topics'],
      diagrams: 1,
      lab: null,
    });
    expect(pods?.quiz.map((q) => q.answer)).toEqual(['B', 'A']);
  });

  it('resolves links between lessons and reports the ones that point outside the library', async () => {
    const library = await loadLibrary(fixtureLibrary);
    const services = library.bySlug.get('services-and-networking');
    expect(services?.links).toEqual({ resolved: ['pods-and-containers', 'deployments'], unresolved: [] });
    expect(services?.rendered.html).toContain('<a href="/lessons/pods-and-containers" data-lesson="pods-and-containers">Pods</a>');
    expect(services?.rendered.html).toContain('<a href="/lessons/deployments" data-lesson="deployments">Deployments</a>');
    expect(library.bySlug.get('pods-and-containers')?.links.unresolved).toEqual(['./05.%20Volumes%20and%20Storage.md']);
    expect(library.bySlug.get('pods-and-containers')?.warnings).toEqual([
      '01_beginner/01. Pods & Containers.md:21: link "./05.%20Volumes%20and%20Storage.md" points to a lesson or file that is not in this library; it is shown as unavailable',
    ]);
  });

  it('resolves prerequisite numbers: same level first (never the lesson itself), then the nearest lower level', async () => {
    const library = await loadLibrary(fixtureLibrary);
    expect(library.bySlug.get('deployments')?.prerequisites).toEqual([{ number: 1, slug: 'pods-and-containers' }]);
    expect(library.bySlug.get('services-and-networking')?.prerequisites).toEqual([{ number: 1, slug: 'deployments' }]);
  });

  it('loads the parsed lab beside a lesson', async () => {
    const lab = (await loadLibrary(fixtureLibrary)).bySlug.get('services-and-networking')?.lab;
    expect(lab?.sandbox).toEqual({ size: 'small', nodes: 'auto' });
    expect(lab?.files).toEqual([
      { path: 'README.txt', content: 'Your namespace is ${namespace}. A literal dollar-brace: $${HOME}\n' },
      { path: 'service.yaml', from: 'home/service.yaml' },
    ]);
    expect(lab?.exercises.map((e) => [e.id, e.section, e.checks.map((c) => `${c.kind}/${c.name ?? ''}`), e.solution, e.wrong])).toEqual([
      ['expose-web', 'service-types', ['resource/service-exists', 'cel/port-80'], 'solutions/expose-web', [{ path: 'wrong/expose-web-bad-port', fails: 'port-80' }]],
    ]);
  });

  it('gives the same result with worker threads as without', async () => {
    const strip = (lessons: Lesson[]) => JSON.stringify(lessons);
    const inline = await loadLibrary(fixtureLibrary, { threads: 0 });
    const before = compilePoolStats();
    const threaded = await loadLibrary(fixtureLibrary, { threads: 2 });
    const after = compilePoolStats();
    expect(after.lastError).toBeUndefined();
    expect(after.inWorkers - before.inWorkers).toBe(3);
    expect(after.fallbacks).toBe(before.fallbacks);
    expect(strip(threaded.lessons)).toBe(strip(inline.lessons));
    expect(threaded.errors).toEqual(inline.errors);
  });
});

describe('duplicates', () => {
  it('reports a duplicate slug and a duplicate canonical id, naming both files, and keeps the first', async () => {
    const dir = await tempLibrary({
      '01_beginner/01. First.md': lessonText({ slug: '"same"', canonical_id: '"id-1"' }),
      '01_beginner/02. Second.md': lessonText({ number: '2', slug: '"same"', canonical_id: '"id-2"' }),
      '02_intermediate/01. Third.md': lessonText({ level: '"intermediate"', slug: '"third"', canonical_id: '"id-1"' }),
    });
    const library = await loadLibrary(dir);
    expect(library.errors).toEqual([
      { file: '01_beginner/02. Second.md', line: 4, message: 'duplicate slug "same": 01_beginner/01. First.md already uses it (this file and 01_beginner/01. First.md must differ)' },
      {
        file: '02_intermediate/01. Third.md',
        line: 10,
        message: 'duplicate canonical_id "id-1": 01_beginner/01. First.md already uses it (this file and 01_beginner/01. First.md must differ)',
      },
    ]);
    expect(library.lessons.map((l) => l.file)).toEqual(['01_beginner/01. First.md']);
    expect(library.bySlug.get('same')?.file).toBe('01_beginner/01. First.md');
  });
});

describe('prerequisites that cannot be resolved', () => {
  it('warns about a lesson that lists itself', async () => {
    const library = await loadLibrary(await tempLibrary({ '01_beginner/01. Alone.md': lesson('alone', 'beginner', 1, [1]) }));
    expect(library.errors).toEqual([]);
    expect(library.lessons[0]?.prerequisites).toEqual([{ number: 1, slug: null }]);
    expect(library.lessons[0]?.warnings).toEqual(['01_beginner/01. Alone.md:7: prerequisite 1 is this lesson itself']);
  });

  it('resolves an advanced lesson 1 with prerequisites [1] to the lesson 1 it links to, and says which one it meant when that is missing', async () => {
    const linking = (to: string) =>
      lessonText({ slug: '"patterns"', canonical_id: '"patterns"', level: '"advanced"', number: '1', prerequisites: '[1]' }, `# Patterns\n\n## Overview\n\nBuilds on [the basics](${to}).\n`);
    // Two lessons numbered 1 below it: the nearest lower level would win; the link decides instead.
    const library = await loadLibrary(
      await tempLibrary({
        '01_beginner/01. Pods.md': lesson('pods', 'beginner', 1, []),
        '02_intermediate/01. Fundamentals.md': lesson('fundamentals', 'intermediate', 1, []),
        '03_advanced/01. Patterns.md': linking('../01_beginner/01.%20Pods.md'),
      }),
    );
    expect(library.bySlug.get('patterns')?.prerequisites).toEqual([{ number: 1, slug: 'pods' }]);
    expect(library.bySlug.get('patterns')?.warnings).toEqual([]);
    // Alone in its library, it is itself: the warning names the lesson it links to instead.
    const alone = await loadLibrary(await tempLibrary({ '03_advanced/01. Patterns.md': linking('../02_intermediate/01.%20Kubernetes%20Fundamentals.md') }));
    expect(alone.lessons[0]?.prerequisites).toEqual([{ number: 1, slug: null }]);
    expect(alone.lessons[0]?.warnings).toContain(
      '03_advanced/01. Patterns.md:7: prerequisite 1 is this lesson itself; it links to ../02_intermediate/01.%20Kubernetes%20Fundamentals.md, a lesson 1 that is not in this library',
    );
  });

  it('warns about unknown numbers', async () => {
    const library = await loadLibrary(await tempLibrary({ '01_beginner/01. A.md': lesson('a', 'beginner', 1, [7]) }));
    expect(library.lessons[0]?.prerequisites).toEqual([{ number: 7, slug: null }]);
    expect(library.lessons[0]?.warnings).toEqual(['01_beginner/01. A.md:7: prerequisite 7 matches no lesson in this library']);
  });

  it('warns about cycles on every lesson in them, and still resolves them', async () => {
    const library = await loadLibrary(
      await tempLibrary({
        '01_beginner/01. A.md': lesson('a', 'beginner', 1, [2]),
        '01_beginner/02. B.md': lesson('b', 'beginner', 2, [3]),
        '01_beginner/03. C.md': lesson('c', 'beginner', 3, [1]),
        '01_beginner/04. D.md': lesson('d', 'beginner', 4, [1]),
      }),
    );
    expect(library.errors).toEqual([]);
    expect(library.bySlug.get('a')?.prerequisites).toEqual([{ number: 2, slug: 'b' }]);
    expect(library.bySlug.get('a')?.warnings).toEqual(['01_beginner/01. A.md:7: prerequisites form a cycle: a → b → c → a']);
    expect(library.bySlug.get('b')?.warnings).toEqual(['01_beginner/02. B.md:7: prerequisites form a cycle: b → c → a → b']);
    expect(library.bySlug.get('c')?.warnings).toEqual(['01_beginner/03. C.md:7: prerequisites form a cycle: c → a → b → c']);
    expect(library.bySlug.get('d')?.warnings).toEqual([]);
  });

  it('prefers the same level, then the nearest lower one, then any', async () => {
    const library = await loadLibrary(
      await tempLibrary({
        '01_beginner/03. B3.md': lesson('b3', 'beginner', 3, []),
        '02_intermediate/03. I3.md': lesson('i3', 'intermediate', 3, []),
        '02_intermediate/05. I5.md': lesson('i5', 'intermediate', 5, []),
        '03_advanced/01. A1.md': lesson('a1', 'advanced', 1, [3, 5]),
        '01_beginner/01. B1.md': lesson('b1', 'beginner', 1, [5, 3]),
      }),
    );
    expect(library.bySlug.get('a1')?.prerequisites).toEqual([
      { number: 3, slug: 'i3' },
      { number: 5, slug: 'i5' },
    ]);
    expect(library.bySlug.get('b1')?.prerequisites).toEqual([
      { number: 5, slug: 'i5' },
      { number: 3, slug: 'b3' },
    ]);
  });

  it('finds cycles in long chains without recursion', () => {
    const nodes = Array.from({ length: 50_000 }, (_, i) => `n${i}`);
    const edges = new Map(nodes.map((n, i) => [n, [nodes[(i + 1) % nodes.length] ?? '']]));
    const cycles = findCycles(nodes, edges);
    expect(cycles).toHaveLength(1);
    expect(cycles[0]).toHaveLength(50_000);
  });
});

describe('placement', () => {
  it('warns when front matter disagrees with the folder or the file name', async () => {
    const library = await loadLibrary(await tempLibrary({ '02_intermediate/03. Misplaced.md': lessonText({ number: '4' }) }));
    expect(library.lessons[0]?.warnings).toEqual([
      '02_intermediate/03. Misplaced.md:2: number 4 differs from the file name\'s 03',
      '02_intermediate/03. Misplaced.md:5: level "beginner" differs from the folder 02_intermediate',
    ]);
  });

  it('ignores files and folders that are not lessons', async () => {
    const dir = await tempLibrary({ 'README.md': '# not a lesson', 'notes/01. x.md': 'nope', '01_beginner/notes.txt': 'x', '01_beginner/01. A.md': lessonText() });
    const library = await loadLibrary(dir);
    expect(library.errors).toEqual([]);
    expect(library.lessons.map((l) => l.file)).toEqual(['01_beginner/01. A.md']);
  });
});
