import { parentPort } from 'node:worker_threads';
import { compileSafely, type CompileTask } from './compile.ts';
import type { LessonPaths } from './links.ts';

/** A worker thread of the compile pool (pool.ts): one lesson in, its compiled form out. */

const port = parentPort;
port?.on('message', (message: { task: CompileTask; lessons: LessonPaths }) => {
  port.postMessage(compileSafely(message.task, message.lessons));
});
