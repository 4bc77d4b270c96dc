import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLibrary } from '../../server/lessons/library.ts';
import type { Library } from '../../server/lessons/types.ts';
import { projectRoot } from '../../server/cluster/paths.ts';
import type { ApiErrorBody, CatalogResponse, LessonResponse, ProgressResponse, QuizAnswerResponse } from '../../server/protocol.ts';
import { browser } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { DIALECTS, testDatabases } from '../helpers/databases.ts';

/**
 * The lesson API over real HTTP, on a real SQLite file and a real PostgreSQL, with the real curriculum: catalog,
 * lesson pages, quiz answers and progress, and the rule that answers and explanations never
 * reach a learner before they have answered that question right.
 */

const databases = testDatabases();

describe.each(DIALECTS)('the lesson API on %s', (dialect) => {
  let server: TestServer;
  let library: Library;

  beforeAll(async () => {
    const target = await databases.target(dialect);
    server = await startTestServer({ cluster: 'embedded', clusterUp: false, ...(target.dialect === 'postgres' ? { databaseUrl: target.url } : {}) });
    library = await loadLibrary(`${projectRoot}/lessons`);
  });
  afterAll(async () => {
    await server.close();
  });

  /** A browser-like client that keeps its own session and CSRF cookies. */
  function learner() {
    const send = browser(() => server.url);
    return { call: send, cookie: send.cookie };
  }

  const advanced = 'advanced-kubernetes-patterns';

  function secretsOf(slug: string): string[] {
    const lesson = library.bySlug.get(slug);
    if (!lesson) throw new Error(`no ${slug}`);
    // Explanations are long enough to be unmistakable; take a distinctive slice of each.
    return lesson.quiz.map((q) => q.explanation.slice(0, 60));
  }

  describe('the catalog', () => {
    it('lists lessons by level with time, tags, prerequisites and progress', async () => {
      const { status, json } = await learner().call('GET', '/api/lessons');
      expect(status).toBe(200);
      const catalog = json as CatalogResponse;
      expect(catalog.levels.map((l) => l.level)).toEqual(['intermediate', 'advanced']);
      const patterns = catalog.levels[1]?.lessons[0];
      expect(patterns).toMatchObject({ slug: advanced, estimatedMinutes: expect.any(Number) as number, progress: { status: 'not-started', quizCorrect: 0 } });
      expect(patterns?.prerequisites).toEqual([{ number: 1, slug: 'kubernetes-fundamentals', title: 'Kubernetes Fundamentals' }]);
      expect(catalog.tags.find((t) => t.tag === 'kubernetes')?.count).toBe(2);
    });

    it('filters by level and tag, and names a bad filter', async () => {
      const client = learner();
      const byLevel = (await client.call('GET', '/api/lessons?level=advanced')).json as CatalogResponse;
      expect(byLevel.levels.flatMap((l) => l.lessons.map((x) => x.slug))).toEqual([advanced]);
      const byTag = (await client.call('GET', '/api/lessons?tag=pods')).json as CatalogResponse;
      expect(byTag.levels.flatMap((l) => l.lessons.map((x) => x.slug))).toEqual(['kubernetes-fundamentals']);
      const bad = await client.call('GET', '/api/lessons?level=expert');
      expect(bad.status).toBe(400);
      expect((bad.json as ApiErrorBody).error.issues).toEqual([{ field: 'query.level', message: 'must be beginner, intermediate or advanced' }]);
    });
  });

  describe('quiz answers stay on the server until earned', () => {
    it('appear in no page, catalog or lesson response before the question is answered', async () => {
      const client = learner();
      const secrets = [...secretsOf(advanced), ...secretsOf('kubernetes-fundamentals')];
      expect(secrets.length).toBeGreaterThanOrEqual(18);
      const responses = [
        await client.call('GET', '/'),
        await client.call('GET', `/lessons/${advanced}`),
        await client.call('GET', '/api/lessons'),
        await client.call('GET', `/api/lessons/${advanced}`),
        await client.call('GET', '/api/lessons/kubernetes-fundamentals'),
        await client.call('GET', '/api/progress'),
      ];
      for (const response of responses) {
        for (const secret of secrets) expect(response.text).not.toContain(secret);
        expect(response.text).not.toMatch(/\*\*Answer:|"answer":"[A-Z]"|"explanation/);
      }
      const lesson = responses[3]?.json as LessonResponse;
      expect(lesson.quiz.length).toBe(library.bySlug.get(advanced)?.quiz.length);
      for (const question of lesson.quiz) expect(Object.keys(question).sort()).toEqual(['id', 'number', 'options', 'questionHtml']);
    });

    it('a wrong answer reveals nothing; the right one returns only its own explanation, and it is kept', async () => {
      const client = learner();
      const truth = library.bySlug.get(advanced)?.quiz[0];
      if (!truth) throw new Error('no question');
      const wrongChoice = Object.keys(truth.options).find((l) => l !== truth.answer) ?? '';

      const wrong = await client.call('POST', `/api/lessons/${advanced}/quiz/${truth.id}/answer`, { choice: wrongChoice, timeMs: 4200 });
      expect(wrong.status).toBe(200);
      expect(wrong.headers.getSetCookie().find((c) => c.startsWith('kd_session='))).toMatch(/^kd_session=[\w-]{43}; .*HttpOnly; SameSite=Lax/);
      const wrongBody = wrong.json as QuizAnswerResponse;
      expect(wrongBody.state).toEqual({ attempts: 1, lastChoice: wrongChoice, correct: false, answer: null, explanationHtml: null });
      expect(wrong.text).not.toContain(truth.explanation.slice(0, 60));

      const right = (await client.call('POST', `/api/lessons/${advanced}/quiz/${truth.id}/answer`, { choice: truth.answer })).json as QuizAnswerResponse;
      expect(right.state).toMatchObject({ attempts: 2, correct: true, answer: truth.answer });
      expect(right.state.explanationHtml).toContain(truth.explanationHtml.slice(0, 40));
      expect(right.progress).toMatchObject({ status: 'started', quizCorrect: 1 });

      // Reloading the page: the answered question comes back with its explanation, no other does.
      const page = await client.call('GET', `/api/lessons/${advanced}`);
      const lesson = page.json as LessonResponse;
      expect(Object.keys(lesson.answers)).toEqual([truth.id]);
      for (const other of secretsOf(advanced).slice(1)) expect(page.text).not.toContain(other);
      expect(lesson.progress.quizCorrect).toBe(1);
    });
  });

  describe('progress', () => {
    it('is kept per learner and invisible to other learners', async () => {
      const alice = learner();
      const bob = learner();
      await alice.call('PUT', `/api/lessons/${advanced}/progress`, { status: 'started' });
      const done = await alice.call('PUT', '/api/lessons/kubernetes-fundamentals/progress', { status: 'completed' });
      expect(done.json).toMatchObject({ status: 'completed' });
      // Completed never goes back to started.
      expect((await alice.call('PUT', '/api/lessons/kubernetes-fundamentals/progress', { status: 'started' })).json).toMatchObject({ status: 'completed' });
      const mine = (await alice.call('GET', '/api/progress')).json as ProgressResponse;
      expect(mine.lessons.map((l) => [l.slug, l.progress.status]).sort()).toEqual([
        [advanced, 'started'],
        ['kubernetes-fundamentals', 'completed'],
      ]);
      expect(((await bob.call('GET', '/api/progress')).json as ProgressResponse).lessons).toEqual([]);
      const bobCatalog = (await bob.call('GET', '/api/lessons')).json as CatalogResponse;
      expect(bobCatalog.levels.flatMap((l) => l.lessons).every((l) => l.progress.status === 'not-started')).toBe(true);
      // A forged or stale cookie is simply no session.
      const forged = await fetch(`${server.url}/api/progress`, { headers: { cookie: 'kd_session=not-a-real-token' } });
      expect(await forged.json()).toEqual({ lessons: [] });
    });
  });

  describe('bad input', () => {
    it('names the field of every malformed body, parameter and choice', async () => {
      const client = learner();
      const cases: [string, string, unknown, number, string][] = [
        ['POST', `/api/lessons/${advanced}/quiz/q1/answer`, { choice: 'AB' }, 400, 'body.choice'],
        ['POST', `/api/lessons/${advanced}/quiz/q1/answer`, { choice: 'A', timeMs: -5 }, 400, 'body.timeMs'],
        ['POST', `/api/lessons/${advanced}/quiz/q1/answer`, { choice: 'A', extra: true }, 400, 'body'],
        ['POST', `/api/lessons/${advanced}/quiz/q1/answer`, { choice: 'Z' }, 400, 'body.choice'],
        ['POST', `/api/lessons/${advanced}/quiz/question-one/answer`, { choice: 'A' }, 400, 'params.questionId'],
        ['POST', `/api/lessons/${advanced}/quiz/q999/answer`, { choice: 'A' }, 404, ''],
        ['GET', '/api/lessons/No_Such_Lesson', undefined, 400, 'params.slug'],
        ['GET', '/api/lessons/no-such-lesson', undefined, 404, ''],
        ['PUT', `/api/lessons/${advanced}/progress`, { status: 'done' }, 400, 'body.status'],
        ['PUT', `/api/lessons/${advanced}/progress`, { status: 'started', section: 'not-a-heading' }, 400, 'body.section'],
        ['PUT', `/api/lessons/${advanced}/progress`, '[1,2', 400, 'body'],
      ];
      for (const [method, path, body, status, field] of cases) {
        const response = await client.call(method, path, body);
        expect(response.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(status);
        const error = (response.json as ApiErrorBody).error;
        if (field) expect(error.issues?.map((i) => i.field), `${method} ${path}`).toContain(field);
        expect(error.message.length).toBeGreaterThan(0);
      }
    });

    it('refuses state changes from another site', async () => {
      const client = learner();
      const crossSite = await client.call('POST', `/api/lessons/${advanced}/quiz/q1/answer`, { choice: 'A' }, { origin: 'https://evil.example' });
      expect(crossSite.status).toBe(403);
      expect((crossSite.json as ApiErrorBody).error.message).toBe('cross-site requests are not allowed');
      const form = await client.call('POST', `/api/lessons/${advanced}/quiz/q1/answer`, 'choice=A', { 'content-type': 'application/x-www-form-urlencoded' });
      expect(form.status).toBe(403);
    });
  });
});
