import { Mutex } from 'async-mutex';

/**
 * Runs tasks one at a time per key (e.g. per learner and lesson), concurrently across keys: one
 * async-mutex per key, dropped once nobody holds or awaits it, so keys do not accumulate.
 */
export class KeyedLock {
  private readonly mutexes = new Map<string, { mutex: Mutex; users: number }>();

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    let entry = this.mutexes.get(key);
    if (!entry) {
      entry = { mutex: new Mutex(), users: 0 };
      this.mutexes.set(key, entry);
    }
    entry.users += 1;
    try {
      return await entry.mutex.runExclusive(task);
    } finally {
      entry.users -= 1;
      if (entry.users === 0) this.mutexes.delete(key);
    }
  }

  /** Keys with a task running or waiting (for tests). */
  get size(): number {
    return this.mutexes.size;
  }
}
