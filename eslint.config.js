import { defineConfig } from 'eslint/config';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

/**
 * The server's layers, lowest first. A file may import its own layer's folders and those below,
 * never above: leaf modules (errors, logger, config, protocol…) ← cluster, db ← checks ← auth,
 * lessons ← sandboxes ← grading ← terminal, workshops ← lti ← http ← cli. Held for runtime and
 * type imports alike; test/unit/lint-boundaries.test.ts proves a violating import fails.
 */
/** @type {string[][]} */
const LAYERS = [
  ['cluster', 'db'],
  ['checks'],
  ['auth', 'lessons'],
  ['sandboxes'],
  ['grading'],
  ['terminal', 'workshops'],
  ['lti'],
  ['http'],
  ['cli'],
];
/** @param {string} folder */
const folderPattern = (folder) => [`**/${folder}/*`, `**/${folder}/**`, `./${folder}/*`, `./${folder}/**`];
/**
 * @param {string[]} files
 * @param {string[]} forbidden
 * @param {string} name
 */
const boundary = (files, forbidden, name) => ({
  files,
  rules: {
    'no-restricted-imports': [
      'error',
      { patterns: [{ group: forbidden.flatMap(folderPattern), message: `${name} may not import a higher layer (see LAYERS in eslint.config.js: http/terminal/workshops → services → cluster, db).` }] },
    ],
  },
});
/** @type {{ files: string[], rules: Record<string, unknown> }[]} */
export const layerBoundaries = [
  // Leaf modules at the top of server/ (config may read cluster/paths.ts, nothing else above);
  // app.ts, services.ts, main.ts and cli.ts are the composition root and may import anything.
  boundary(['server/{errors,logger,fields,config,progress,limits,protocol*}.ts'], LAYERS.slice(1).flat(), 'a leaf module'),
];
LAYERS.forEach((folders, index) => {
  const higher = LAYERS.slice(index + 1).flat();
  for (const folder of folders) {
    const forbidden = [...higher, ...folders.filter((f) => f !== folder)];
    if (forbidden.length > 0) layerBoundaries.push(boundary([`server/${folder}/**/*.ts`], forbidden, `server/${folder}`));
  }
});

export default defineConfig(
  { ignores: ['node_modules/', 'dist/', 'client/dist/', 'test-results/', 'playwright-report/'] },
  js.configs.recommended,
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js'] }, tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.node },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'error',
      // @kubernetes/client-node models are generated classes holding only data; its own docs
      // (and the API) take plain object literals for them.
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
    },
  },
  {
    // The CLI and benchmarks talk to a human on stdout; everything else logs through pino.
    files: ['server/cli.ts', 'server/cli/**/*.ts', 'test/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
  ...layerBoundaries,
  {
    files: ['client/**/*.ts'],
    languageOptions: { globals: { ...globals.browser } },
  },
);
