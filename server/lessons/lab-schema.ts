import path from 'node:path';
import { z } from 'zod';
import { checkSchemas, type CheckDefinition } from '../checks/schema.ts';
import { CHECK_KINDS, SANDBOX_NODES, SANDBOX_SIZES } from '../vocabulary.ts';

/**
 * The platform's lab file, `<lesson base name>.lab.yaml` beside the lesson:
 *
 *   sandbox:   { size: small | medium | large,              (default small)
 *                nodes: auto | simulated }                   (default auto: the real node when it can)
 *   setup:     Kubernetes objects, or { file: setup/x.yaml }, applied into the sandbox first
 *   files:     [{ path, content | from }]                   placed in the learner's home
 *   values:    anything                                     documentation only
 *   exercises: [{ id, title, instructions, hints, section, checks, solution, wrong }]
 *
 * Strings may use ${namespace}, ${group} and ${priorityClassPrefix} (see placeholders.ts).
 * Paths are relative to the lab file's folder. Platform-owned objects are strict, so a typo in
 * a field name is an error instead of a silently ignored setting; checks are open, because
 * each kind has its own fields.
 */

// Checked for content but kept as written: instructions are markdown, where whitespace can matter.
const text = (what: string) => z.string({ error: `must be ${what}` }).refine((s) => s.trim() !== '', `must be ${what}`);

const dnsLabel = z
  .string({ error: 'must be a string' })
  .max(63, 'must be at most 63 characters')
  .regex(/^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/, 'must be a DNS label: lowercase letters, digits and "-", starting and ending with a letter or digit');

export const relativePath = z
  .string({ error: 'must be a path relative to the lab file' })
  .min(1, 'must be a path relative to the lab file')
  .refine((p) => !path.isAbsolute(p) && !p.split(/[\\/]/).includes('..'), 'must be a relative path inside the lab folder (no "..", not absolute)');

const kubeObject = z.looseObject({
  apiVersion: z.string({ error: 'must be a string like "v1" or "apps/v1"' }),
  kind: z.string({ error: 'must be a string like "ConfigMap"' }),
  metadata: z
    .looseObject({ name: z.string().optional(), generateName: z.string().optional() }, { error: 'must be a mapping with a name' })
    .refine((m) => (m.name ?? m.generateName ?? '') !== '', 'needs "name" or "generateName"'),
});
export type KubeObject = z.output<typeof kubeObject>;

/** Parses `value` with `schema`, reporting its problems as the caller's, below the caller's path. */
function forward<T extends z.ZodType>(schema: T, value: unknown, ctx: z.RefinementCtx): z.output<T> | typeof z.NEVER {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  for (const issue of plainIssues(result.error.issues)) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  return z.NEVER;
}

/** Issues as path + message, with one entry per unknown key (at the key's own path). */
export function plainIssues(issues: readonly z.core.$ZodIssue[]): { path: PropertyKey[]; message: string }[] {
  return issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: [...issue.path, key], message: 'is not a field this file knows' }))
      : [{ path: issue.path, message: issue.message }],
  );
}

const setupFile = z.strictObject({ file: relativePath });
const setupItem = z
  .record(z.string(), z.unknown(), { error: 'must be a Kubernetes object or { file: path }' })
  .transform((item, ctx): { file: string } | KubeObject => ('file' in item ? forward(setupFile, item, ctx) : forward(kubeObject, item, ctx)));

const fileItem = z
  .strictObject({
    path: relativePath,
    content: z.string({ error: 'must be a string' }).optional(),
    from: relativePath.optional(),
  })
  .refine((f) => (f.content === undefined) !== (f.from === undefined), 'needs exactly one of "content" or "from"');

// Only the kind here: every other field, name and description included, is checked by that kind's schema.
const checkBase = z.looseObject({
  kind: z.string({ error: `must name a check kind: ${CHECK_KINDS.join(', ')}` }),
});

const check = checkBase.transform((value, ctx): CheckDefinition => {
  const schema = (checkSchemas as Record<string, z.ZodType<CheckDefinition> | undefined>)[value.kind];
  if (!schema) {
    ctx.addIssue({ code: 'custom', path: ['kind'], message: `unknown check kind "${value.kind}"; known kinds: ${CHECK_KINDS.join(', ')}` });
    return z.NEVER;
  }
  return forward(schema, value, ctx);
});
export type Check = z.output<typeof check>;

const exercise = z
  .strictObject({
    id: dnsLabel,
    title: text('a non-empty title'),
    instructions: text('non-empty markdown'),
    hints: z.array(text('a non-empty hint'), { error: 'must be a list of hints' }).default([]),
    /** The id of the lesson heading this exercise belongs to. */
    section: z.string({ error: 'must be a heading id of the lesson, like "node-affinity"' }).optional(),
    checks: z.array(check, { error: 'must be a list of checks' }).min(1, 'needs at least one check'),
    /**
     * A program a submission runs while its checks run (the learner's operator): started in the
     * sandbox's jailed shell from the submission folder, stopped when the checks end.
     */
    program: z
      .strictObject({
        command: z.array(z.string({ error: 'must be a string' }), { error: 'must be a command as a list, like ["python3", "operator.py"]' }).min(1, 'needs a command'),
        /** The check waits this long after starting the program (it may need to connect). */
        startSeconds: z.number().int().min(0).max(60).default(2),
      })
      .optional(),
    /** A folder of manifests that passes every check; the test suite grades it. */
    solution: relativePath,
    /** Manifests that must fail the named check, so a check that passes everything is caught. */
    wrong: z
      .array(z.strictObject({ path: relativePath, fails: z.string({ error: 'must name a check of this exercise' }) }), { error: 'must be a list' })
      .default([]),
  })
  .superRefine((ex, ctx) => {
    const names = new Map<string, number>();
    ex.checks.forEach((c, i) => {
      if (c.name === undefined) return;
      if (names.has(c.name)) ctx.addIssue({ code: 'custom', path: ['checks', i, 'name'], message: `"${c.name}" is already the name of checks[${names.get(c.name) ?? 0}]` });
      else names.set(c.name, i);
    });
    ex.wrong.forEach((w, i) => {
      if (!names.has(w.fails)) {
        const known = [...names.keys()];
        ctx.addIssue({ code: 'custom', path: ['wrong', i, 'fails'], message: `no check named "${w.fails}" in this exercise${known.length > 0 ? ` (named checks: ${known.join(', ')})` : ' (give the check a "name")'}` });
      }
    });
  });

export const labSchema = z
  .strictObject(
    {
      sandbox: z
        .strictObject({
          size: z.enum(SANDBOX_SIZES, { error: `must be one of ${SANDBOX_SIZES.join(', ')}` }).default('small'),
          nodes: z.enum(SANDBOX_NODES, { error: `must be one of ${SANDBOX_NODES.join(', ')}` }).default('auto'),
        })
        .default({ size: 'small', nodes: 'auto' }),
      setup: z.array(setupItem, { error: 'must be a list' }).default([]),
      files: z.array(fileItem, { error: 'must be a list' }).default([]),
      values: z.record(z.string(), z.unknown(), { error: 'must be a mapping' }).optional(),
      exercises: z.array(exercise, { error: 'must be a list of exercises' }).min(1, 'needs at least one exercise'),
    },
    { error: 'must be a mapping with sandbox, setup, files, values and exercises' },
  )
  .superRefine((lab, ctx) => {
    const ids = new Map<string, number>();
    lab.exercises.forEach((ex, i) => {
      const at = ids.get(ex.id);
      if (at !== undefined) ctx.addIssue({ code: 'custom', path: ['exercises', i, 'id'], message: `"${ex.id}" is already the id of exercises[${at}]` });
      else ids.set(ex.id, i);
    });
  });

export type Lab = z.output<typeof labSchema>;
export type Exercise = Lab['exercises'][number];
