/**
 * A gate the load loops pass through for each request, so that the soak can hold the load for a
 * moment: pause() lets no new request start and resolves once those in flight have ended. A
 * memory sample taken then measures what the server keeps, not the garbage and buffers of the
 * requests it happens to be serving.
 */
export class LoadGate {
  #inFlight = 0;
  #paused: Promise<void> | null = null;
  #reopen: (() => void) | null = null;
  #drained: (() => void) | null = null;

  /** Runs op once the gate is open, counting it in flight meanwhile. */
  async run<T>(op: () => Promise<T>): Promise<T> {
    while (this.#paused) await this.#paused;
    this.#inFlight += 1;
    try {
      return await op();
    } finally {
      this.#inFlight -= 1;
      if (this.#inFlight === 0) this.#drained?.();
    }
  }

  /** Closes the gate and resolves when nothing passed through it is in flight any more. */
  async pause(): Promise<void> {
    if (this.#paused) throw new Error('the load gate is paused already');
    this.#paused = new Promise((resolve) => {
      this.#reopen = resolve;
    });
    if (this.#inFlight > 0) {
      await new Promise<void>((resolve) => {
        this.#drained = resolve;
      });
      this.#drained = null;
    }
  }

  resume(): void {
    const reopen = this.#reopen;
    this.#paused = null;
    this.#reopen = null;
    reopen?.();
  }
}
