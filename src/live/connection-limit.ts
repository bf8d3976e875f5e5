/**
 * The cap on long-lived connections (WebSockets and SSE streams together): each one holds a socket,
 * buffers and a subscription, so past MAX_CONNECTIONS the server refuses new ones clearly instead
 * of degrading everyone's pushes.
 */
export class ConnectionLimit {
  #open = 0;
  #refused = 0;

  constructor(readonly max: number) {}

  /** Takes a place; false when all are taken (and the refusal is counted). */
  tryAcquire(): boolean {
    if (this.#open >= this.max) {
      this.#refused += 1;
      return false;
    }
    this.#open += 1;
    return true;
  }

  release(): void {
    this.#open -= 1;
  }

  get refused(): number {
    return this.#refused;
  }

  get reason(): string {
    return `The server holds its maximum of ${this.max} live connections (MAX_CONNECTIONS): try again later.`;
  }
}
