import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import { layerBoundaries } from '../../eslint.config.js';
import { projectRoot } from '../../server/cluster/paths.ts';

/** The import rules of eslint.config.js, applied to imports a file could make. */
async function problems(file: string, source: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: projectRoot, overrideConfigFile: true, overrideConfig: [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } }, ...layerBoundaries] });
  const [result] = await eslint.lintText(source, { filePath: file });
  return (result?.messages ?? []).map((m) => `${m.ruleId ?? 'parse'}: ${m.message}`);
}

describe('the layer boundaries the linter holds', () => {
  it.each([
    ['server/db/checks.ts', "import { socketSession } from '../auth/socket-session.ts';"],
    ['server/db/checks.ts', "import type { Router } from '../http/routes/health.ts';"],
    ['server/cluster/local.ts', "import { SandboxService } from '../sandboxes/service.ts';"],
    ['server/checks/schema.ts', "import { loadLibrary } from '../lessons/library.ts';"],
    ['server/lessons/lab-schema.ts', "import { Grader } from '../grading/grader.ts';"],
    ['server/grading/program.ts', "import { prepareJail } from '../terminal/jail.ts';"],
    ['server/sandboxes/lesson-blocks.ts', "import type { HomeWrite } from '../terminal/home.ts';"],
    ['server/terminal/socket.ts', "import { csrf } from '../http/session.ts';"],
    ['server/workshops/service.ts', "import { TerminalManager } from '../terminal/manager.ts';"],
    ['server/cluster/images/app.ts', "import { Learner } from '../../db/learners.ts';"],
    ['server/protocol.ts', "import type { Grader } from './grading/grader.ts';"],
  ])('refuses %s importing upwards: %s', async (file, source) => {
    const found = await problems(file, `${source}\nexport const kept = 1;\n`);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^no-restricted-imports: .* may not import a higher layer/);
  });

  it.each([
    ['server/http/routes/sandboxes.ts', "import { SandboxService } from '../../sandboxes/service.ts';"],
    ['server/grading/grader.ts', "import type { Library } from '../lessons/types.ts';"],
    ['server/lessons/lab-schema.ts', "import { checkSchemas } from '../checks/schema.ts';"],
    ['server/terminal/socket.ts', "import { socketSession } from '../auth/socket-session.ts';"],
    ['server/config.ts', "import { projectRoot } from './cluster/paths.ts';"],
    ['server/services.ts', "import { Grader } from './grading/grader.ts';"],
  ])('lets %s import downwards: %s', async (file, source) => {
    expect(await problems(file, `${source}\nexport const kept = 1;\n`)).toEqual([]);
  });
});
