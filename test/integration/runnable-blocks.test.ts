import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { splitCommands } from '../../server/lessons/commands.ts';
import { loadLibrary } from '../../server/lessons/library.ts';
import { projectRoot } from '../helpers/cli.ts';
import { terminalEnv, type TerminalEnv } from '../helpers/terminal-env.ts';

/**
 * What the lesson page offers as "Run in my terminal" must run as written: every block the
 * runnable-block judge lets through, in both lessons of the curriculum, runs in a fresh sandbox
 * of its lab (through the real terminal and its command-by-command runner, as the button does),
 * and every command in it exits 0. `lessons check` lists the blocks it does not offer.
 */

const library = await loadLibrary(`${projectRoot}/lessons`);
const blocks = library.lessons.flatMap((lesson) =>
  lesson.rendered.codeBlocks.filter((b) => b.runnable).map((b) => ({ slug: lesson.slug, line: b.line, source: b.source, realNode: b.needsRealNode })),
);

describe('every runnable block of the curriculum', () => {
  let env: TerminalEnv;

  beforeAll(async () => {
    env = await terminalEnv(inject('kubeconfig'), 'jail');
  }, 300_000);

  afterAll(async () => {
    await env.server.close();
  });

  it('finds runnable blocks in both lessons, and one that needs containers that really run', () => {
    expect(new Set(blocks.map((b) => b.slug))).toEqual(new Set(['kubernetes-fundamentals', 'advanced-kubernetes-patterns']));
    expect(blocks.some((b) => b.realNode)).toBe(true);
  });

  it.each(blocks)('$slug, the block at line $line, runs in a fresh sandbox with every command exiting 0', async ({ slug, source }) => {
    const learner = await env.learner(slug);
    const term = await env.terminal(learner);
    try {
      const { commands, done, output } = await term.runBlock(source);
      expect(commands).toEqual(splitCommands(source).map((c) => c.text));
      const failed = done.exitCodes.flatMap((code, i) => (code === 0 ? [] : [`${commands[i] ?? ''} exited ${code}`]));
      expect({ stopped: done.stopped, failed, ran: done.exitCodes.length }, output.slice(-4000)).toEqual({ stopped: null, failed: [], ran: commands.length });
    } finally {
      term.close();
      await learner.send('DELETE', `/api/sandboxes/${learner.sandbox.namespace}`);
    }
  }, 900_000);
});
