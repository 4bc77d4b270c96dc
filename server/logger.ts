import { pino, type Logger, type LevelWithSilent } from 'pino';
import PinoPretty from 'pino-pretty';

export type { Logger };

export interface LoggerOptions {
  level: LevelWithSilent;
  format: 'pretty' | 'json';
  /** Where log lines go; the CLI keeps stdout for its own output and logs to stderr. */
  destination?: NodeJS.WritableStream;
}

/**
 * Belt and braces: a database URL or password that reaches a log line by mistake is censored
 * (the platform logs the URL with its password replaced, db/url.ts).
 */
const redact = { paths: ['password', '*.password', 'databaseUrl', '*.databaseUrl', 'config.database.url', 'database.url'], censor: '[redacted]' };

/** The one logger of a process; modules take `logger.child({ component })` from it. */
export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? process.stderr;
  if (options.format === 'pretty') {
    // Synchronous and in-process (not a worker transport): lines are never lost at exit.
    const stream = PinoPretty({ destination, sync: true, ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l', singleLine: true });
    return pino({ level: options.level, redact }, stream);
  }
  return pino({ level: options.level, redact }, destination);
}

/** A logger that drops everything, for tests of pure logic. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
