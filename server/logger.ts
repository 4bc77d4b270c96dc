import { pino, type Logger, type LevelWithSilent } from 'pino';
import PinoPretty from 'pino-pretty';

export type { Logger };

export interface LoggerOptions {
  level: LevelWithSilent;
  format: 'pretty' | 'json';
  /** Where log lines go; the CLI keeps stdout for its own output and logs to stderr. */
  destination?: NodeJS.WritableStream;
}

/** The one logger of a process; modules take `logger.child({ component })` from it. */
export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? process.stderr;
  if (options.format === 'pretty') {
    // Synchronous and in-process (not a worker transport): lines are never lost at exit.
    const stream = PinoPretty({ destination, sync: true, ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l', singleLine: true });
    return pino({ level: options.level }, stream);
  }
  return pino({ level: options.level }, destination);
}

/** A logger that drops everything, for tests of pure logic. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
