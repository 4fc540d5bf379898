/**
 * Runs calls one at a time, in call order (the stream's applier lock: events,
 * timer flushes and the final flush never overlap).
 *
 * When nothing holds it, `runNow` calls at once, synchronously: no promise per
 * row change (the hot path). A call that returns a promise holds the lock
 * until that settles.
 */
export class SerialLock {
  #tail: Promise<unknown> = Promise.resolve();
  #held = 0;
  /** One bound function: releasing allocates nothing per call. */
  readonly #release = (): void => {
    this.#held--;
  };

  /** Queues `fn` behind every call before it. */
  run<T>(fn: () => Promise<T> | T): Promise<T> {
    const p = this.#tail.then(fn);
    this.#held++;
    this.#tail = p.then(this.#release, this.#release);
    return p;
  }

  /**
   * Calls `fn` at once when the lock is free (a synchronous throw reaches the
   * caller), else queues it like `run`.
   */
  runNow(fn: () => Promise<void> | undefined): Promise<void> | undefined {
    if (this.#held > 0) return this.run(fn);
    const r = fn();
    if (r === undefined) return undefined;
    this.#held++;
    this.#tail = r.then(this.#release, this.#release);
    return r;
  }
}
