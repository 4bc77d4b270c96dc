/** Anything that can be undone: an xterm IDisposable, a socket.io listener, an observer. */
export interface Disposable {
  dispose(): void;
}

/**
 * What a component set up and must undo when it goes: sockets, observers, listeners, timers.
 * Each is added where it is made and undone in one place, last first, exactly once; anything
 * added after the component went is undone at once.
 */
export class Disposables implements Disposable {
  private readonly undo: (() => void)[] = [];
  private done = false;

  get disposed(): boolean {
    return this.done;
  }

  /** Keeps `undo` to run on dispose (now, if already disposed). */
  add(undo: () => void): void {
    if (this.done) undo();
    else this.undo.push(undo);
  }

  /** Keeps a disposable (an xterm listener, an addon) and returns it. */
  use<T extends Disposable>(item: T): T {
    this.add(() => {
      item.dispose();
    });
    return item;
  }

  /** Adds a DOM listener that is removed on dispose. */
  listen<K extends keyof HTMLElementEventMap>(target: HTMLElement, type: K, listener: (event: HTMLElementEventMap[K]) => void, options?: AddEventListenerOptions): void {
    target.addEventListener(type, listener, options);
    this.add(() => {
      target.removeEventListener(type, listener, options);
    });
  }

  dispose(): void {
    if (this.done) return;
    this.done = true;
    for (const undo of this.undo.splice(0).reverse()) {
      try {
        undo();
      } catch {
        // One failing undo must not keep the others from running.
      }
    }
  }
}
