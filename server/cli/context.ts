import type { Command } from 'commander';
import { fields, loadConfig, type Config, type FieldName, type FlagValues } from '../config.ts';
import { createLogger, type Logger } from '../logger.ts';
import { streamProgress, type Progress } from '../progress.ts';

/** Exit codes shared by every command. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface CliContext {
  config: Config;
  logger: Logger;
  progress: Progress;
  out: NodeJS.WritableStream;
}

/**
 * Collects the options a user actually typed (not commander's defaults, which would hide
 * the environment) and validates them together with the environment in config.ts.
 */
export function contextFor(command: Command, defaults: FlagValues = {}): CliContext {
  const flags: FlagValues = {};
  const names = new Set(Object.keys(fields));
  for (let cmd: Command | null = command; cmd; cmd = cmd.parent) {
    const values = cmd.opts<Record<string, unknown>>();
    for (const [key, value] of Object.entries(values)) {
      if (!names.has(key) || cmd.getOptionValueSource(key) !== 'cli') continue;
      if (flags[key as FieldName] !== undefined) continue;
      if (typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number') flags[key as FieldName] = value;
    }
  }
  const result = loadConfig(flags, undefined, defaults);
  if (!result.ok) throw new UsageError(`invalid settings:\n  - ${result.problems.join('\n  - ')}`);
  const { config } = result;
  const logger = createLogger({ level: config.log.level, format: config.log.format, destination: process.stderr });
  return { config, logger, progress: streamProgress(process.stderr, config.interactive), out: process.stdout };
}
