import path from 'node:path';
import { z } from 'zod';
import { connectionFromConfig } from '../cluster/connection.ts';
import { formatJunit, formatText, exitCodeOf } from '../grading/format.ts';
import { graderFromConfig } from '../grading/from-config.ts';
import { programRunnerFromConfig } from '../terminal/program-runner.ts';
import { gradeSubmission, readSubmission } from '../grading/submission.ts';
import type { GradeProgress, GradeReport } from '../grading/types.ts';
import { loadLibrary } from '../lessons/library.ts';
import { sandboxServiceFromConfig } from '../sandboxes/from-config.ts';
import { usageSimulatorFor } from '../grading/usage.ts';
import { EXIT, UsageError, type CliContext } from './context.ts';
import { namespaceName } from '../fields.ts';

const options = z
  .object({
    lesson: z.string({ error: '--lesson SLUG is required' }).trim().min(1, '--lesson must not be empty'),
    exercise: z.string().trim().min(1, '--exercise must not be empty').optional(),
    namespace: namespaceName('--namespace must be a namespace name').optional(),
    files: z.string().min(1, '--files must name a folder').optional(),
    learner: z.string().max(256, '--learner must be at most 256 characters').optional(),
    format: z.enum(['text', 'json', 'junit'], { error: '--format must be text, json or junit' }).default('text'),
  })
  .refine((o) => (o.namespace === undefined) !== (o.files === undefined), 'give exactly one of --namespace NS (a sandbox) or --files DIR (a submission)');

/**
 * `kubedojo grade`: checks a sandbox (`--namespace`) or a submitted folder of manifests
 * (`--files`, applied into a throwaway sandbox, graded, torn down). Exit 0 when every check
 * passes, 1 when one fails, 2 for usage errors and checks that could not run.
 */
export async function grade(ctx: CliContext, raw: unknown): Promise<number> {
  const parsed = options.safeParse(raw);
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => i.message).join('; '));
  const o = parsed.data;
  const library = await loadLibrary(ctx.config.lessonsDir);
  const cluster = connectionFromConfig(ctx.config);
  const grader = graderFromConfig(cluster, library, ctx.logger, usageSimulatorFor(cluster));
  const lessons = library.lessons.map((l) => l.slug);
  if (!library.bySlug.has(o.lesson)) throw new UsageError(`--lesson: there is no lesson "${o.lesson}" (lessons: ${lessons.join(', ') || 'none'})`);
  try {
    grader.exercisesOf(o.lesson, o.exercise);
  } catch (error) {
    throw new UsageError(`--exercise: ${error instanceof Error ? error.message : String(error)}`);
  }

  // Progress goes to stderr, so stdout stays the report alone.
  const onProgress = (p: GradeProgress) => {
    if (p.type === 'check-finished') process.stderr.write(`${p.result.status === 'passed' ? '✔' : '✘'} ${p.exercise}/${p.result.name} (${(p.result.durationMs / 1000).toFixed(1)} s)\n`);
  };
  const sandboxes = sandboxServiceFromConfig(ctx.config, cluster, library, ctx.logger);
  let report: GradeReport;
  if (o.files !== undefined) {
    const files = await readSubmission(o.files).catch((error: unknown) => {
      throw new UsageError(`--files: ${error instanceof Error ? error.message : String(error)}`);
    });
    report = await gradeSubmission(
      { grader, sandboxes, programs: programRunnerFromConfig(ctx.config, cluster, ctx.logger) },
      { lesson: o.lesson, exercise: o.exercise, files, learner: o.learner ?? path.basename(path.resolve(o.files)), onProgress },
    );
  } else {
    const sandbox = await sandboxes.get(o.namespace ?? '');
    if (sandbox.lesson !== o.lesson) process.stderr.write(`note: sandbox ${sandbox.namespace} was made for lesson "${sandbox.lesson}"\n`);
    report = await grader.grade({ lesson: o.lesson, exercise: o.exercise, sandbox: { namespace: sandbox.namespace, group: sandbox.group, priorityClassPrefix: sandbox.priorityClassPrefix }, onProgress });
  }
  const text = o.format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : o.format === 'junit' ? formatJunit(report) : formatText(report);
  ctx.out.write(text);
  const code = exitCodeOf(report);
  return code === 0 ? EXIT.ok : code === 1 ? EXIT.failed : EXIT.usage;
}
