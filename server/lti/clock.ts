/**
 * Time for the grade-delivery queue, injected so that tests can move it: the backoff schedule
 * of a five-minute outage runs in milliseconds while the network calls stay real.
 */
export interface Clock {
  now(): number;
  /** Calls `fn` after `ms`; the returned function cancels it. */
  later(fn: () => void, ms: number): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  later(fn, ms) {
    const timer = setTimeout(fn, ms);
    // The HTTP server keeps the process alive; a pending retry alone should not.
    timer.unref();
    return () => {
      clearTimeout(timer);
    };
  },
};
