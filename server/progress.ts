import type { Logger } from './logger.ts';

/**
 * Long work (the control-plane build, cluster start) reports what it is doing through this,
 * so the CLI can draw a live line, CI logs get a line every few seconds, and the server logs.
 */
export interface Progress {
  begin(task: string): ProgressTask;
}

export interface ProgressTask {
  /** What is happening now, e.g. "812/2143 packages". */
  update(detail: string): void;
  done(detail?: string): void;
  fail(detail: string): void;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes}m${String(Math.floor(seconds % 60)).padStart(2, '0')}s`;
}

const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * Progress for a terminal. Interactive: one redrawn line with a spinner and the elapsed time.
 * Otherwise (CI, pipes): a line when a task starts, at most one every `interval` ms while it
 * runs, and one when it ends, so a 10-minute build never looks hung.
 */
export function streamProgress(stream: NodeJS.WritableStream, interactive: boolean, interval = 15_000): Progress {
  return {
    begin(task) {
      const started = Date.now();
      let detail = '';
      let lastPrinted = started;
      let frame = 0;
      const elapsed = () => formatDuration(Date.now() - started);
      const draw = () => {
        frame = (frame + 1) % frames.length;
        stream.write(`\r\x1b[2K${frames[frame] ?? ''} ${task}${detail ? `  ${detail}` : ''}  ${elapsed()}`);
      };
      let timer: NodeJS.Timeout | undefined;
      if (interactive) {
        draw();
        timer = setInterval(draw, 120);
      } else {
        stream.write(`… ${task}\n`);
      }
      const finish = (mark: string, text: string | undefined) => {
        if (timer) clearInterval(timer);
        const line = `${mark} ${task}${text ? `  ${text}` : ''}  (${elapsed()})`;
        stream.write(interactive ? `\r\x1b[2K${line}\n` : `${line}\n`);
      };
      return {
        update(next) {
          detail = next;
          if (!interactive && Date.now() - lastPrinted >= interval) {
            lastPrinted = Date.now();
            stream.write(`  ${task}: ${detail}  ${elapsed()}\n`);
          }
        },
        done: (text) => {
          finish('✔', text);
        },
        fail: (text) => {
          finish('✘', text);
        },
      };
    },
  };
}

/** Progress as log lines, for the server. */
export function logProgress(logger: Logger): Progress {
  return {
    begin(task) {
      const started = Date.now();
      let lastLogged = started;
      logger.info({ task }, `${task}…`);
      return {
        update(detail) {
          if (Date.now() - lastLogged >= 15_000) {
            lastLogged = Date.now();
            logger.info({ task, detail, elapsedMs: Date.now() - started }, `${task}: ${detail}`);
          }
        },
        done(detail) {
          logger.info({ task, detail, elapsedMs: Date.now() - started }, `${task}: done${detail ? ` (${detail})` : ''}`);
        },
        fail(detail) {
          logger.error({ task, detail, elapsedMs: Date.now() - started }, `${task}: failed: ${detail}`);
        },
      };
    },
  };
}

export const silentProgress: Progress = {
  begin: () => ({ update: () => undefined, done: () => undefined, fail: () => undefined }),
};
