import fs from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { formatText } from '../../server/grading/format.ts';
import { gradeSubmission, readSubmission } from '../../server/grading/submission.ts';
import type { GradeReport } from '../../server/grading/types.ts';
import type { Lesson } from '../../server/lessons/types.ts';
import { gradingKit, type GradingKit } from '../helpers/grading.ts';
import { projectRoot } from '../helpers/cli.ts';
import { loadLibrary } from '../../server/lessons/library.ts';

/**
 * Every exercise of the curriculum, graded for real the way `kubedojo grade --files` grades
 * homework: the reference solution and the second solution written differently must pass every
 * check; every known-wrong variant must fail the check it names. The operator exercise runs the
 * submitted Python operator in the jailed shell; the autoscaler exercise drives the real HPA
 * controller with simulated load.
 */

const library = await loadLibrary(path.join(projectRoot, 'lessons'));
const lessons = library.lessons.filter((l): l is Lesson & { lab: NonNullable<Lesson['lab']> } => l.lab !== null);
let kit: GradingKit;

beforeAll(async () => {
  kit = await gradingKit(inject('kubeconfig'));
});

async function grade(lesson: Lesson, exercise: string, folder: string): Promise<GradeReport> {
  const files = await readSubmission(path.join(path.dirname(lesson.absPath), folder));
  return gradeSubmission({ grader: kit.grader, sandboxes: kit.sandboxes, programs: kit.programs }, { lesson: lesson.slug, exercise, files, learner: path.basename(folder) });
}

function statuses(report: GradeReport): Record<string, string> {
  return Object.fromEntries(report.exercises.flatMap((e) => e.checks.map((c) => [c.name, c.status])));
}

async function exists(dir: string): Promise<boolean> {
  return fs.stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

it('finds labs to grade', () => {
  expect(lessons.map((l) => l.slug).sort()).toEqual(['advanced-kubernetes-patterns', 'kubernetes-fundamentals']);
  expect(lessons.flatMap((l) => l.lab.exercises).length).toBeGreaterThanOrEqual(15);
});

for (const lesson of lessons) {
  describe.concurrent(lesson.slug, () => {
    for (const exercise of lesson.lab.exercises) {
      it(`${exercise.id}: the solutions pass and every wrong variant fails its check`, { timeout: 600_000 }, async () => {
        const alternative = exercise.solution.replace(/\/solution$/, '/solution-alt');
        const hasAlternative = alternative !== exercise.solution && (await exists(path.join(path.dirname(lesson.absPath), alternative)));
        const [solution, second, ...wrong] = await Promise.all([
          grade(lesson, exercise.id, exercise.solution),
          hasAlternative ? grade(lesson, exercise.id, alternative) : Promise.resolve(undefined),
          ...exercise.wrong.map((w) => grade(lesson, exercise.id, w.path)),
        ]);
        expect(solution.passed, `the reference solution must pass:\n${formatText(solution)}`).toBe(true);
        expect(solution.notes, 'the reference solution applies cleanly').toEqual([]);
        if (second) expect(second.passed, `the alternative solution must pass:\n${formatText(second)}`).toBe(true);
        exercise.wrong.forEach((w, i) => {
          const report = wrong[i];
          if (!report) throw new Error(`no report for ${w.path}`);
          expect(statuses(report)[w.fails], `${w.path} must fail ${w.fails}:\n${formatText(report)}`).toBe('failed');
          const failed = report.exercises.flatMap((e) => e.checks).find((c) => c.name === w.fails);
          // A failure tells the learner what was wrong, not just that something was.
          expect(failed?.message.length ?? 0).toBeGreaterThan(20);
        });
      });
    }
  });
}
