import path from 'node:path';
import { beforeAll, expect, inject, it } from 'vitest';
import { formatText } from '../../server/grading/format.ts';
import { gradeSubmission, readSubmission } from '../../server/grading/submission.ts';
import { FIRST_CONTACT_MS, PATIENCE_MS } from '../../server/grading/kinds/operator.ts';
import { loadLibrary } from '../../server/lessons/library.ts';
import { projectRoot } from '../helpers/cli.ts';
import { gradingKit, type GradingKit } from '../helpers/grading.ts';

/**
 * A wrong operator fails in seconds, not at the check's timeout (60–90 s): once the probe and its
 * children stop changing for PATIENCE_MS the operator has done what it will do. What is bounded
 * is the failing check's own duration; the whole grade is printed beside it. The reference
 * operator still passes (a patient check must not fail a right but slow-moving one). Prints
 * each time, the numbers the README quotes.
 */

const library = await loadLibrary(path.join(projectRoot, 'lessons'));
const lesson = library.bySlug.get('advanced-kubernetes-patterns');
const exercise = lesson?.lab?.exercises.find((e) => e.id === 'database-operator');
let kit: GradingKit;

beforeAll(async () => {
  kit = await gradingKit(inject('kubeconfig'));
});

async function timed(folder: string) {
  if (!lesson || !exercise) throw new Error('the advanced lab has no database-operator exercise');
  const files = await readSubmission(path.join(path.dirname(lesson.absPath), folder));
  const started = Date.now();
  const report = await gradeSubmission({ grader: kit.grader, sandboxes: kit.sandboxes, programs: kit.programs }, { lesson: lesson.slug, exercise: exercise.id, files, learner: path.basename(folder) });
  return { report, seconds: (Date.now() - started) / 1000 };
}

it('fails each wrong operator by its patience, well before the check would time out, and still passes the reference operator', { timeout: 600_000 }, async () => {
  if (!exercise) throw new Error('no database-operator exercise');
  const [solution, ...wrong] = await Promise.all([timed(exercise.solution), ...exercise.wrong.map((w) => timed(w.path))]);
  expect(solution.report.passed, formatText(solution.report)).toBe(true);
  console.log(`operator-speed: reference operator passed in ${solution.seconds.toFixed(1)} s`);
  exercise.wrong.forEach((w, i) => {
    const result = wrong[i];
    if (!result) throw new Error(`no report for ${w.path}`);
    const check = result.report.exercises.flatMap((e) => e.checks).find((c) => c.name === w.fails);
    expect(check?.status, formatText(result.report)).toBe('failed');
    const timeoutMs = (exercise.checks.find((c) => c.name === w.fails)?.timeoutSeconds ?? 60) * 1000;
    console.log(`operator-speed: ${path.basename(w.path)} failed ${w.fails} in ${((check?.durationMs ?? 0) / 1000).toFixed(1)} s of its ${timeoutMs / 1000} s timeout (whole grade with sandbox, operator and 3 checks at once: ${result.seconds.toFixed(1)} s)`);
    // The check itself, not the sandbox and program start a loaded machine stretches: without
    // patience it would run to its timeout. Patience ends it after first contact and
    // PATIENCE_MS of stillness, with room to spare for a slow API.
    expect(check?.durationMs).toBeLessThan(Math.min(timeoutMs - 15_000, FIRST_CONTACT_MS + PATIENCE_MS + 15_000));
  });
});
