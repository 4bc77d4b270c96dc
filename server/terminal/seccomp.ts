import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { sandboxesDir } from '../cluster/paths.ts';

const run = promisify(execFile);

let filterFile: Promise<string> | undefined;

/** The jail's deny-list seccomp program, generated once per process by libseccomp (see sandboxes/terminal/). */
export function seccompFilter(jailDir: string): Promise<string> {
  filterFile ??= (async () => {
    const file = path.join(jailDir, 'seccomp.bpf');
    await fs.mkdir(path.dirname(file), { recursive: true });
    await run('/usr/bin/python3', [path.join(sandboxesDir, 'terminal', 'seccomp-filter.py'), file]);
    return file;
  })();
  return filterFile;
}
