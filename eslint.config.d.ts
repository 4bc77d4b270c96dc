// Types of eslint.config.js for the test that applies its import rules (test/unit/lint-boundaries.test.ts).
import type { Linter } from 'eslint';

export declare const layerBoundaries: Linter.Config[];
declare const config: Linter.Config[];
export default config;
