/**
 * A declared start graph: each component names the components it needs. Starting runs each one
 * as soon as everything it needs has started, so independent components start side by side;
 * stopping runs the graph backwards (a component stops once everything that needs it has).
 * Pure scheduling, no I/O: what starting or stopping a component means is the caller's.
 */

export type Needs<Id extends string> = Readonly<Record<Id, readonly Id[]>>;

export class ComponentGraph<Id extends string> {
  private readonly needs: Needs<Id>;
  readonly ids: readonly Id[];

  /** Throws when a component needs one that is not declared, or the needs make a cycle. */
  constructor(needs: Needs<Id>) {
    this.needs = needs;
    this.ids = Object.keys(needs) as Id[];
    for (const id of this.ids) {
      for (const need of needs[id]) if (!(need in needs)) throw new Error(`${id} needs ${need}, which is not a component`);
    }
    this.levels();
  }

  /** The components in waves: each wave needs only earlier ones (what can start together). */
  levels(): Id[][] {
    const done = new Set<Id>();
    const waves: Id[][] = [];
    while (done.size < this.ids.length) {
      const wave = this.ids.filter((id) => !done.has(id) && this.needs[id].every((n) => done.has(n)));
      if (wave.length === 0) throw new Error(`the start graph has a cycle among ${this.ids.filter((id) => !done.has(id)).join(', ')}`);
      for (const id of wave) done.add(id);
      waves.push(wave);
    }
    return waves;
  }

  /** What needs each component: the graph backwards. */
  private dependents(): Needs<Id> {
    const back = Object.fromEntries(this.ids.map((id) => [id, [] as Id[]])) as Record<Id, Id[]>;
    for (const id of this.ids) for (const need of this.needs[id]) back[need].push(id);
    return back;
  }

  /** Starts every component in dependency order, in parallel where the graph allows. */
  start(run: (id: Id) => Promise<void>): Promise<void> {
    return schedule(this.ids, this.needs, run);
  }

  /** Stops every component in reverse dependency order, in parallel where the graph allows. */
  stop(run: (id: Id) => Promise<void>): Promise<void> {
    return schedule(this.ids, this.dependents(), run);
  }
}

/**
 * Runs each id once all of its `after` have finished. After a failure nothing new begins; the
 * runs under way are awaited (none is left running behind the caller's back), then the first
 * error is thrown.
 */
async function schedule<Id extends string>(ids: readonly Id[], after: Needs<Id>, run: (id: Id) => Promise<void>): Promise<void> {
  const finished = new Set<Id>();
  const begun = new Set<Id>();
  const running = new Map<Id, Promise<Id>>();
  let failure: { error: unknown } | undefined;
  for (;;) {
    if (!failure) {
      for (const id of ids) {
        if (begun.has(id) || !after[id].every((a) => finished.has(a))) continue;
        begun.add(id);
        // A run that throws at once fails like one that rejects.
        running.set(
          id,
          new Promise<void>((resolve) => {
            resolve(run(id));
          }).then(
            () => id,
            (error: unknown) => {
              failure ??= { error };
              return id;
            },
          ),
        );
      }
    }
    if (running.size === 0) break;
    const id = await Promise.race(running.values());
    running.delete(id);
    finished.add(id);
  }
  if (failure) throw failure.error;
}
