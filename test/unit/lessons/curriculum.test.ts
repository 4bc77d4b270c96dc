import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { loadLibrary } from '../../../server/lessons/library.ts';
import { publicQuiz } from '../../../server/lessons/quiz.ts';
import type { Library } from '../../../server/lessons/types.ts';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../../../server/db/database.ts';
import { ProgressRepository } from '../../../server/db/progress.ts';
import { LessonService } from '../../../server/lessons/lesson-service.ts';
import { curriculum } from './temp-library.ts';

/** The course team's real lessons, unmodified. */

let library: Library;
beforeAll(async () => {
  library = await loadLibrary(curriculum);
});

async function service(): Promise<LessonService> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-curriculum-'));
  const db = await openDatabase({ dialect: 'sqlite', file: path.join(dir, 'kubedojo.db') });
  onTestFinished(async () => {
    await db.destroy();
    await fs.rm(dir, { recursive: true, force: true });
  });
  return new LessonService(library, new ProgressRepository(db));
}

const slugs = ['kubernetes-fundamentals', 'advanced-kubernetes-patterns'];

describe('the real curriculum', () => {
  it('loads both lessons with zero errors', () => {
    expect(library.errors).toEqual([]);
    expect(library.lessons.map((l) => l.slug)).toEqual(slugs);
    const advanced = library.bySlug.get('advanced-kubernetes-patterns');
    expect(advanced?.prerequisites).toEqual([{ number: 1, slug: 'kubernetes-fundamentals' }]);
    expect(advanced?.quiz).toHaveLength(14);
    expect(advanced?.diagrams).toBe(8);
    expect(library.bySlug.get('kubernetes-fundamentals')?.quiz).toHaveLength(10);
  });

  it('reports the links to lessons that do not exist as unresolved, not as errors', () => {
    expect(library.bySlug.get('advanced-kubernetes-patterns')?.links.unresolved).toEqual([
      './02.%20Service%20Mesh%20Fundamentals.md',
      '../02_intermediate/04.%20Monitoring%20%26%20Observability.md',
    ]);
    expect(library.bySlug.get('advanced-kubernetes-patterns')?.links.resolved).toContain('kubernetes-fundamentals');
    const html = library.bySlug.get('advanced-kubernetes-patterns')?.rendered.html ?? '';
    expect(html).toContain('<a href="/lessons/kubernetes-fundamentals" data-lesson="kubernetes-fundamentals">Kubernetes Fundamentals</a>');
    expect(html).toContain('<span class="link-unavailable" title="02. Service Mesh Fundamentals.md is not in this library">Service Mesh Fundamentals</span>');
    expect(html).toContain('<span class="link-unavailable" title="04. Monitoring &amp; Observability.md is not in this library">Monitoring &amp; Observability</span>');
  });

  it('never puts an answer or an explanation in the learner HTML or the public quiz', async () => {
    const lessons = await service();
    for (const slug of slugs) {
      const lesson = library.bySlug.get(slug);
      if (!lesson) throw new Error(`no ${slug}`);
      const html = lesson.rendered.html;
      expect(html).not.toContain('Answer:');
      expect(html).not.toContain('<strong>Answer');
      for (const question of lesson.quiz) {
        expect(question.explanation.length).toBeGreaterThan(40);
        expect(html).not.toContain(question.explanation);
        expect(html).not.toContain(question.explanationHtml);
        // A distinctive stretch of each explanation, as written and as rendered.
        expect(html).not.toContain(question.explanation.slice(0, 50));
        expect(html).not.toContain(question.explanationHtml.slice(3, 53));
      }
      expect(html.match(/<fieldset class="quiz-question"/g)).toHaveLength(lesson.quiz.length);

      const quiz = publicQuiz(lesson);
      expect(quiz).toHaveLength(lesson.quiz.length);
      for (const question of quiz) {
        expect(Object.keys(question).sort()).toEqual(['id', 'number', 'options', 'optionsHtml', 'question', 'questionHtml']);
        expect(question).not.toHaveProperty('answer');
        expect(question).not.toHaveProperty('explanation');
      }
      // The page JSON a learner's browser receives, as the API builds it.
      const json = JSON.stringify(await lessons.lesson(lesson.slug, undefined));
      expect(json).not.toMatch(/"(answer|explanation|explanationHtml)"/);
      for (const question of lesson.quiz) expect(json).not.toContain(JSON.stringify(question.explanation).slice(1, 51));
    }
  });

  it('offers apply only on complete manifests and run on kubectl blocks', () => {
    const blocks = library.bySlug.get('advanced-kubernetes-patterns')?.rendered.codeBlocks ?? [];
    const versionsFragment = blocks.find((b) => b.source.startsWith('versions:'));
    expect(versionsFragment).toMatchObject({ lang: 'yaml', apply: false });
    const crd = blocks.find((b) => b.source.includes('kind: CustomResourceDefinition'));
    expect(crd).toMatchObject({ lang: 'yaml', apply: true });
    expect(blocks.filter((b) => b.run).every((b) => b.lang === 'bash' && /kubectl/.test(b.source))).toBe(true);
    expect(blocks.filter((b) => b.apply)).toHaveLength(22);
  });
});
