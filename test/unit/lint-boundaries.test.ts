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
    ['server/protocol.ts', "import { validate } from './http/validate.ts';"],
    ['server/protocol-checks.ts', "import type { Router } from './http/routes/checks.ts';"],
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
    // The wire sits at the http level: it reads the domain's own types.
    ['server/protocol-checks.ts', "import type { CheckRunView } from './grading/views.ts';"],
    ['server/protocol-workshops.ts', "import { SANDBOX_SIZES } from './vocabulary.ts';"],
  ])('lets %s import downwards: %s', async (file, source) => {
    expect(await problems(file, `${source}\nexport const kept = 1;\n`)).toEqual([]);
  });

  it.each([
    ['server/workshops/service.ts', "import type { GridRow } from '../protocol.ts';"],
    ['server/grading/service.ts', "import type { CheckRunView } from '../protocol-checks.ts';"],
    ['server/sandboxes/view.ts', "import type { SandboxView } from '../protocol-sandboxes.ts';"],
    ['server/lti/service.ts', "import { ltiSessionRequestSchema } from '../protocol-lti.ts';"],
    ['server/terminal/session.ts', "import type { TerminalEnded } from '../protocol.ts';"],
    ['server/cluster/images/app.ts', "import type { ApiErrorBody } from '../../protocol.ts';"],
    ['server/vocabulary.ts', "import type { LearnerView } from './protocol.ts';"],
  ])('refuses %s (a service or below) importing the wire: %s', async (file, source) => {
    const found = await problems(file, `${source}\nexport const kept = 1;\n`);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^no-restricted-imports: .* may not import the wire \(server\/protocol\*\.ts/);
  });

  it.each([
    ['server/http/routes/auth.ts', "import { loginRequestSchema } from '../../protocol-auth.ts';"],
    ['server/http/live.ts', "import { replyTo } from '../protocol.ts';"],
    ['server/terminal/socket.ts', "import { terminalAttachSchema } from '../protocol-terminal.ts';"],
    ['server/cli/lti.ts', "import type { LtiToolUrls } from '../protocol-lti.ts';"],
    ['server/app.ts', "import type { ApiErrorBody } from './protocol.ts';"],
  ])('lets %s (the http level, the socket edge, the root) import the wire: %s', async (file, source) => {
    expect(await problems(file, `${source}\nexport const kept = 1;\n`)).toEqual([]);
  });
});
