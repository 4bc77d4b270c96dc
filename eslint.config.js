import { defineConfig } from 'eslint/config';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

/**
 * The server's layers, lowest first. A file may import its own layer's folders and those below,
 * never above: leaf modules (errors, logger, config, vocabulary…) ← cluster, db ← checks ← auth,
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
/**
 * The wire (server/protocol*.ts: request schemas, event maps, the types the client reads) sits at
 * the http level: it reads the domain's types (<domain>/views.ts, vocabulary.ts), and only http,
 * cli, the socket edge (terminal/socket.ts) and the composition root read it. Services and below
 * define what they return themselves and never import it.
 */
const WIRE_LAYERS = ['http', 'cli'];
const WIRE_EDGES = ['server/terminal/socket.ts'];
const WIRE = ['**/protocol.ts', '**/protocol-*.ts', './protocol.ts', './protocol-*.ts'];
/** @param {string} folder */
const folderPattern = (folder) => [`**/${folder}/*`, `**/${folder}/**`, `./${folder}/*`, `./${folder}/**`];
/**
 * @param {string[]} files
 * @param {string[]} forbidden
 * @param {string} name
 * @param {boolean} wire whether these files may import the wire
 */
const boundary = (files, forbidden, name, wire) => ({
  files,
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          ...(forbidden.length > 0
            ? [{ group: forbidden.flatMap(folderPattern), message: `${name} may not import a higher layer (see LAYERS in eslint.config.js: http/terminal/workshops → services → cluster, db).` }]
            : []),
          ...(wire
            ? []
            : [{ group: WIRE, message: `${name} may not import the wire (server/protocol*.ts, the http level's): define the type in the domain (its views.ts, or server/vocabulary.ts) and let protocol re-export it.` }]),
        ],
      },
    ],
  },
});
/** @param {string} folder its layer's higher folders and its siblings */
const forbiddenFor = (folder) => {
  const index = LAYERS.findIndex((folders) => folders.includes(folder));
  return [...LAYERS.slice(index + 1).flat(), ...(LAYERS[index] ?? []).filter((f) => f !== folder)];
};
/** @type {{ files: string[], rules: Record<string, unknown> }[]} */
export const layerBoundaries = [
  // Leaf modules at the top of server/ (config may read cluster/paths.ts, nothing else above);
  // app.ts, services.ts, platform.ts, main.ts and cli.ts are the composition root and may import anything.
  boundary(['server/{errors,logger,fields,config,progress,limits,vocabulary}.ts'], LAYERS.slice(1).flat(), 'a leaf module', false),
  boundary(['server/protocol*.ts'], ['http', 'cli'], 'the wire (server/protocol*.ts)', true),
];
for (const folder of LAYERS.flat()) {
  const forbidden = forbiddenFor(folder);
  const wire = WIRE_LAYERS.includes(folder);
  if (forbidden.length > 0 || !wire) layerBoundaries.push(boundary([`server/${folder}/**/*.ts`], forbidden, `server/${folder}`, wire));
}
// Later entries win for the same files: the edges keep their folder's layer rule, with the wire.
for (const edge of WIRE_EDGES) {
  const folder = edge.split('/')[1] ?? '';
  layerBoundaries.push(boundary([edge], forbiddenFor(folder), `server/${folder}`, true));
}

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
