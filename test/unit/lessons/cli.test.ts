import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { lessonsCheck, lessonsRender } from '../../../server/cli/lessons.ts';
import type { CliContext } from '../../../server/cli/context.ts';
import { fixtureLibrary, lessonText, tempLibrary } from './temp-library.ts';

/** The handlers only write to ctx.out (and stderr for problems); the rest of the context is unused. */
function context() {
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => (text += chunk.toString()));
  let errText = '';
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    errText += String(chunk);
    return true;
  });
  return {
    ctx: { out } as unknown as CliContext,
    stdout: () => text,
    stderr: () => errText,
    restore: () => {
      stderr.mockRestore();
    },
  };
}

describe('lessons check', () => {
  it('prints one JSON object with the lessons and errors, exit 0 when clean', async () => {
    const io = context();
    const code = await lessonsCheck(io.ctx, fixtureLibrary, { json: true });
    io.restore();
    expect(code).toBe(0);
    const report = JSON.parse(io.stdout()) as { lessons: Record<string, unknown>[]; errors: unknown[] };
    expect(Object.keys(report)).toEqual(['lessons', 'errors']);
    expect(report.errors).toEqual([]);
    expect(report.lessons.map((l) => Object.keys(l))).toEqual(
      Array.from({ length: 3 }, () => ['file', 'slug', 'canonicalId', 'title', 'level', 'number', 'sections', 'quiz', 'diagrams', 'links', 'lab', 'codeBlocks', 'warnings']),
    );
    expect(report.lessons[0]).toMatchObject({
      file: '01_beginner/01. Pods & Containers.md',
      quiz: [
        { question: 'What is the smallest unit Kubernetes **schedules**?', options: { A: 'A container', B: 'A Pod', C: 'A node', D: 'A Deployment' }, answer: 'B' },
        { question: 'Which command lists Pods?', answer: 'A' },
      ],
      links: { unresolved: ['./05.%20Volumes%20and%20Storage.md'] },
      lab: null,
    });
    expect(Object.keys((report.lessons[0]?.quiz as Record<string, unknown>[])[0] ?? {})).toEqual(['question', 'options', 'answer', 'explanation']);
    // Exercises point tools at their reference solution and wrong variants, relative to the library.
    expect(report.lessons[2]?.lab).toMatchObject({
      sandbox: { size: 'small' },
      exercises: [
        {
          id: 'expose-web',
          solution: '02_intermediate/solutions/expose-web',
          wrong: ['02_intermediate/wrong/expose-web-bad-port'],
          wrongFails: { '02_intermediate/wrong/expose-web-bad-port': 'port-80' },
        },
      ],
    });
  });

  it('prints a readable report with file:line errors and exits 1', async () => {
    const dir = await tempLibrary({
      '01_beginner/01. Good.md': lessonText(),
      '01_beginner/02. Bad.md': lessonText({ number: '2', slug: '"bad"', canonical_id: '"bad"', estimated_minutes: 'thirty' }),
    });
    const io = context();
    const code = await lessonsCheck(io.ctx, dir, {});
    io.restore();
    expect(code).toBe(1);
    expect(io.stdout()).toBe(
      [
        '01_beginner/01. Good.md: ok — a-lesson: 2 sections, 1 quiz question, 0 diagrams, 0 code blocks (0 to apply, 0 to run), all links resolve, no lab',
        '01_beginner/02. Bad.md: 1 error, not loaded',
        '  01_beginner/02. Bad.md:8: front matter: "estimated_minutes" must be an integer, got "thirty"',
        '',
        `${dir}: 1 lesson loaded, 1 error in 1 file, 0 warnings.`,
        '',
      ].join('\n'),
    );
  });

  it('lists warnings under their lesson', async () => {
    const io = context();
    await lessonsCheck(io.ctx, fixtureLibrary, {});
    io.restore();
    expect(io.stdout()).toContain(
      '  warning: 01_beginner/01. Pods & Containers.md:21: link "./05.%20Volumes%20and%20Storage.md" points to a lesson or file that is not in this library; it is shown as unavailable\n',
    );
    expect(io.stdout()).toContain('02_intermediate/02. Services & Networking.md: ok — services-and-networking: 3 sections, 1 quiz question, 0 diagrams, 1 code block (1 to apply, 0 to run), all links resolve, lab with 1 exercise\n');
    expect(io.stdout()).toMatch(/: 3 lessons loaded, 0 errors, 1 warning\.\n$/);
  });

  it('tells the author which shell blocks are not offered as runnable, and why, at their lines', async () => {
    const body = '# A lesson\n\n## Overview\n\n```bash\nkubectl get pods\n```\n\n```bash\nkubectl apply -f web-placement.yaml\nkubectl get pods -w\n```\n';
    const lab = 'files:\n  - path: web.yaml\n    content: "kind: ConfigMap"\nexercises:\n  - id: one\n    title: One\n    instructions: Do it.\n    checks:\n      - kind: resource\n        target: { apiVersion: v1, kind: Pod, name: p }\n    solution: sol\n';
    const dir = await tempLibrary({ '01_beginner/01. A.md': lessonText({}, body), '01_beginner/01. A.lab.yaml': lab, '01_beginner/sol/p.yaml': 'kind: Pod' });
    const io = context();
    const code = await lessonsCheck(io.ctx, dir, {});
    io.restore();
    expect(code).toBe(0);
    expect(io.stdout()).toContain('2 code blocks (0 to apply, 1 to run, 1 not runnable)');
    expect(io.stdout()).toContain(
      [
        '  not runnable: 01_beginner/01. A.md:21:',
        "    22: names web-placement.yaml, which is not in the learner's home (the lab puts there: web.yaml)",
        '    23: watches (-w) and never returns by itself: the learner would press Ctrl+C',
      ].join('\n'),
    );
  });

  it('exits 2 with a clear message for a folder that does not exist', async () => {
    const io = context();
    const code = await lessonsCheck(io.ctx, '/no/such/lessons', { json: true });
    io.restore();
    expect(code).toBe(2);
    expect(io.stdout()).toBe('');
    expect(io.stderr()).toContain('lessons check: /no/such/lessons is not a folder');
  });

  it('checks the project curriculum by default', async () => {
    const io = context();
    const code = await lessonsCheck(io.ctx, undefined, { json: true });
    io.restore();
    expect(code).toBe(0);
    expect((JSON.parse(io.stdout()) as { lessons: { slug: string }[] }).lessons.map((l) => l.slug)).toEqual(['kubernetes-fundamentals', 'advanced-kubernetes-patterns']);
  });
});

describe('lessons render', () => {
  it('prints the learner HTML of a lesson, with links resolved across its library', async () => {
    const io = context();
    const code = await lessonsRender(io.ctx, path.join(fixtureLibrary, '02_intermediate/02. Services & Networking.md'));
    io.restore();
    expect(code).toBe(0);
    expect(io.stdout()).toContain('<a href="/lessons/pods-and-containers" data-lesson="pods-and-containers">Pods</a>');
    expect(io.stdout()).toContain('<section class="quiz" id="quiz" data-quiz="services-and-networking">');
    expect(io.stdout()).not.toContain('cluster-internal IP');
  });

  it('renders a file outside any library on its own, and reports one that does not load', async () => {
    const dir = await tempLibrary({ 'draft.md': lessonText({}, '# Draft\n\nSee [fundamentals](../02_intermediate/01.%20Kubernetes%20Fundamentals.md).\n'), 'broken.md': '# no front matter\n' });
    let io = context();
    expect(await lessonsRender(io.ctx, path.join(dir, 'draft.md'))).toBe(0);
    io.restore();
    expect(io.stdout()).toBe('<p>See <span class="link-unavailable" title="01. Kubernetes Fundamentals.md is not in this library">fundamentals</span>.</p>\n');

    io = context();
    expect(await lessonsRender(io.ctx, path.join(dir, 'broken.md'))).toBe(1);
    io.restore();
    expect(io.stderr()).toContain('broken.md:1: front matter: missing');
    expect(io.stdout()).toBe('');

    io = context();
    expect(await lessonsRender(io.ctx, path.join(dir, 'nope.md'))).toBe(2);
    io.restore();
  });
});
