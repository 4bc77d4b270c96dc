import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { compileSafely, type CompileResult, type CompileTask } from './compile.ts';
import type { LessonPaths } from './links.ts';

/**
 * Compiles lesson bodies in worker threads: markdown parsing and highlighting are CPU-bound,
 * and a 200-lesson library must load in under 2 s on two cores. Measured there (bench): one
 * thread ~1.7 s; two workers ~1.7 s when new (each isolate compiles the same code with the JIT)
 * and ~0.9 s when warm. So workers stay ten seconds after a load, and a burst of reloads (an
 * author saving files) reuses warm ones; they are unref'd and never keep a process alive. The
 * calling thread only reads files and front matter meanwhile, keeping its heap small.
 */

/** Below this many lessons per thread, starting a worker costs more than it saves. */
const TASKS_PER_THREAD = 12;
const MAX_THREADS = 8;
const IDLE_MS = 10_000;

export function defaultThreads(taskCount: number): number {
  return Math.min(os.availableParallelism(), MAX_THREADS, Math.floor(taskCount / TASKS_PER_THREAD));
}

interface Job {
  task: CompileTask;
  lessons: LessonPaths;
  resolve: (result: CompileResult) => void;
}

interface Slot {
  worker: Worker;
  job: Job | undefined;
}

const slots: Slot[] = [];
const queue: Job[] = [];
let idleTimer: NodeJS.Timeout | undefined;
const stats = { inWorkers: 0, fallbacks: 0 };
let lastError: Error | undefined;

/** Lessons compiled by workers, and those done on the calling thread because a worker failed. */
export function compilePoolStats(): { workers: number; inWorkers: number; fallbacks: number; lastError: string | undefined } {
  return { workers: slots.length, ...stats, lastError: lastError?.message };
}

function dispatch(): void {
  for (const slot of slots) {
    if (slot.job !== undefined) continue;
    const job = queue.shift();
    if (!job) break;
    slot.job = job;
    slot.worker.postMessage({ task: job.task, lessons: job.lessons });
  }
  if (queue.length === 0 && slots.every((s) => s.job === undefined)) {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => void closeCompilePool(), IDLE_MS).unref();
  }
}

function startWorker(): void {
  const worker = new Worker(new URL('./compile-worker.ts', import.meta.url));
  worker.unref();
  const slot: Slot = { worker, job: undefined };
  slots.push(slot);
  worker.on('message', (result: CompileResult) => {
    const job = slot.job;
    slot.job = undefined;
    stats.inWorkers += 1;
    job?.resolve(result);
    dispatch();
  });
  // A worker that cannot start or dies: its job is done on this thread, the load still completes.
  const fail = (error?: unknown) => {
    if (error instanceof Error) lastError = error;
    const index = slots.indexOf(slot);
    if (index !== -1) slots.splice(index, 1);
    const job = slot.job;
    slot.job = undefined;
    const inline = (j: Job) => {
      stats.fallbacks += 1;
      j.resolve(compileSafely(j.task, j.lessons));
    };
    if (job) inline(job);
    if (slots.length === 0) for (let next = queue.shift(); next; next = queue.shift()) inline(next);
    else dispatch();
  };
  worker.on('error', fail);
  worker.on('exit', fail);
}

/** Ends the pool's workers now (tests, shutdown); the next load starts new ones. */
export async function closeCompilePool(): Promise<void> {
  clearTimeout(idleTimer);
  const workers = slots.splice(0).map((s) => s.worker);
  await Promise.all(workers.map((w) => w.terminate()));
}

/** Starts workers ahead of a load, so their start-up overlaps reading the files. */
export function prestartCompilePool(threads: number): void {
  if (threads <= 0) return;
  clearTimeout(idleTimer);
  while (slots.length < threads) startWorker();
  dispatch();
}

export async function compileAll(tasks: readonly CompileTask[], lessons: LessonPaths, threads: number): Promise<CompileResult[]> {
  if (threads <= 0 || tasks.length === 0) return tasks.map((task) => compileSafely(task, lessons));
  clearTimeout(idleTimer);
  while (slots.length < threads) startWorker();
  // Longest first, so no thread is left with a big lesson at the end.
  const order = tasks.map((task, i) => ({ task, i })).sort((a, b) => b.task.body.length - a.task.body.length);
  const results = new Array<CompileResult>(tasks.length);
  const pending = order.map(
    ({ task, i }) =>
      new Promise<void>((resolve) => {
        queue.push({
          task,
          lessons,
          resolve: (result) => {
            results[i] = result;
            resolve();
          },
        });
      }),
  );
  dispatch();
  await Promise.all(pending);
  return results;
}
