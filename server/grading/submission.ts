import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { RawClient } from '../cluster/raw.ts';
import { Invalid } from '../errors.ts';
import { fillPlaceholders } from '../lessons/placeholders.ts';
import type { SandboxService } from '../sandboxes/service.ts';
import type { Grader } from './grader.ts';
import type { ProgramRunner, RunningProgram } from './program.ts';
import type { SandboxIdentity } from './scope.ts';
import type { GradeProgress, GradeReport } from './types.ts';

/** A submission is manifests (and, for some exercises, a program): text files of modest size. */
const MAX_FILES = 200;
const MAX_FILE_BYTES = 1024 * 1024;
const MANIFEST = /\.(ya?ml|json)$/i;

export interface SubmissionFile {
  /** Relative to the submission folder, with "/" separators. */
  path: string;
  content: string;
}

/** Reads a submission folder (recursively, in path order), refusing what cannot be homework. */
export async function readSubmission(dir: string): Promise<SubmissionFile[]> {
  let stat;
  try {
    stat = await fs.stat(dir);
  } catch {
    throw new Invalid(`${dir} does not exist`);
  }
  if (!stat.isDirectory()) throw new Invalid(`${dir} is not a folder`);
  const files: SubmissionFile[] = [];
  const walk = async (relative: string): Promise<void> => {
    const entries = await fs.readdir(path.join(dir, relative), { withFileTypes: true });
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name.startsWith('.') || entry.name === '__pycache__') continue;
      const rel = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(rel);
      else if (entry.isFile()) {
        if (files.length >= MAX_FILES) throw new Invalid(`${dir} holds more than ${MAX_FILES} files; a submission is a few manifests`);
        const size = (await fs.stat(path.join(dir, rel))).size;
        if (size > MAX_FILE_BYTES) throw new Invalid(`${path.join(dir, rel)} is ${Math.round(size / 1024)} KiB; files of a submission may be at most 1 MiB`);
        files.push({ path: rel, content: await fs.readFile(path.join(dir, rel), 'utf8') });
      }
    }
  };
  await walk('');
  return files;
}

/** The objects of a submission's manifest files, with the learner's values filled in. Broken YAML is a note, not a crash. */
export function manifestsOf(files: readonly SubmissionFile[], values: SandboxIdentity): { objects: { file: string; object: KubernetesObject }[]; problems: string[] } {
  const objects: { file: string; object: KubernetesObject }[] = [];
  const problems: string[] = [];
  for (const file of files.filter((f) => MANIFEST.test(f.path))) {
    const docs = parseAllDocuments(fillPlaceholders(file.content, values));
    docs.forEach((doc, index) => {
      if (doc.errors.length > 0) {
        problems.push(`${file.path}: document ${index + 1} is not valid YAML: ${doc.errors[0]?.message ?? ''}`);
        return;
      }
      const value: unknown = doc.toJS();
      if (value === null || value === undefined) return;
      if (typeof value !== 'object' || Array.isArray(value) || !('apiVersion' in value) || !('kind' in value)) {
        problems.push(`${file.path}: document ${index + 1} is not a Kubernetes object (it needs apiVersion and kind)`);
        return;
      }
      objects.push({ file: file.path, object: value as KubernetesObject });
    });
  }
  return { objects, problems };
}

/**
 * Applies objects as the learner would with `kubectl apply`: with the learner's own
 * credentials, into their namespace, in order. A kind that a CRD in the same submission has just
 * introduced is retried until the API serves it. Refusals become notes for the report.
 */
export async function applyAsLearner(kubeconfigFile: string, namespace: string, objects: readonly { file: string; object: KubernetesObject }[]): Promise<string[]> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigFile);
  const client = new RawClient(kc, 'kubectl');
  const notes: string[] = [];
  for (const { file, object } of objects) {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const result = await client.apply(object, { namespace });
      if (result.ok) break;
      const unknownKind = result.error.kind === 'invalid' && /Unrecognized API version and kind|does not serve/.test(result.error.message);
      if ((unknownKind || result.error.kind === 'not-found') && Date.now() < deadline) {
        await sleep(500);
        continue;
      }
      notes.push(`${file}: ${object.kind ?? ''} ${object.metadata?.name ?? ''} was not applied: ${result.error.message}`);
      break;
    }
  }
  return notes;
}

export interface SubmissionRequest {
  lesson: string;
  exercise?: string | undefined;
  files: readonly SubmissionFile[];
  /** Who submitted (shown on the throwaway sandbox), e.g. a student id. */
  learner?: string | undefined;
  onProgress?: (progress: GradeProgress) => void;
  signal?: AbortSignal;
}

/**
 * Grades a submission in a throwaway sandbox: created from the lab (setup applied), the
 * manifests applied as the learner, the exercise's program started in the jailed shell when it
 * has one, the checks run, then everything torn down.
 */
export async function gradeSubmission(deps: { grader: Grader; sandboxes: SandboxService; programs?: ProgramRunner | undefined }, request: SubmissionRequest): Promise<GradeReport> {
  const { exercises } = deps.grader.exercisesOf(request.lesson, request.exercise);
  const learner = request.learner ?? 'submission';
  const access = await deps.sandboxes.create({ learnerId: `grader-${randomBytes(6).toString('hex')}`, learnerName: learner, lesson: request.lesson });
  const sandbox: SandboxIdentity = { namespace: access.sandbox.namespace, group: access.sandbox.group, priorityClassPrefix: access.sandbox.priorityClassPrefix };
  const programs: RunningProgram[] = [];
  const notes: string[] = [];
  try {
    const { objects, problems } = manifestsOf(request.files, sandbox);
    notes.push(...problems);
    if (objects.length === 0 && problems.length === 0) notes.push('the submission holds no manifests (*.yaml, *.yml, *.json)');
    notes.push(...(await applyAsLearner(access.kubeconfig, sandbox.namespace, objects)));

    for (const exercise of exercises) {
      if (!exercise.program) continue;
      const [program] = exercise.program.command.slice(1);
      if (program !== undefined && !request.files.some((f) => f.path === program)) {
        notes.push(`exercise ${exercise.id} runs "${exercise.program.command.join(' ')}", but the submission has no ${program}`);
        continue;
      }
      if (!deps.programs) {
        notes.push(`exercise ${exercise.id} needs its program run, which this platform cannot do here (no jailed shell)`);
        continue;
      }
      const files = Object.fromEntries(request.files.map((f) => [f.path, f.content]));
      try {
        programs.push(await deps.programs.start(sandbox, access.kubeconfig, files, exercise.program.command));
        await sleep(exercise.program.startSeconds * 1000);
      } catch (error) {
        notes.push(`could not start "${exercise.program.command.join(' ')}": ${error instanceof Error ? error.message : String(error)}`);
      }
    }

    const report = await deps.grader.grade({
      lesson: request.lesson,
      exercise: request.exercise,
      sandbox,
      notes,
      ...(request.onProgress ? { onProgress: request.onProgress } : {}),
      ...(request.signal ? { signal: request.signal } : {}),
    });
    for (const program of programs) {
      const code = program.exitCode();
      if (code !== null) report.notes.push(`the program exited early (code ${code}); its last output:\n${program.output().slice(-2000)}`);
      else if (!report.passed && program.output().trim() !== '') report.notes.push(`the program's last output:\n${program.output().slice(-2000)}`);
    }
    return report;
  } finally {
    await Promise.all(programs.map((p) => p.stop().catch(() => undefined)));
    await deps.sandboxes.delete(sandbox.namespace, { wait: false, reason: 'submission graded' }).catch(() => undefined);
  }
}
