import { WebSocket } from 'ws';

/** What keep-alive needs of a connection. */
export interface KeptAlive {
  readonly socket: WebSocket;
  /** A ping went out and its pong has not come back (the connection clears it on pong). */
  awaitingPong: boolean;
}

/** Sockets are pinged in this many turns, one every intervalMs / SLICES. */
const SLICES = 8;

/**
 * Pings every socket every intervalMs and drops one whose pong has not come back by then, as
 * graphql-ws's adapter does, but with one timer for all the sockets instead of two per socket: the
 * sockets are kept in SLICES slices, every intervalMs / SLICES the next slice is visited, and a new
 * socket joins the slice visited last, so that sockets opened over a while are pinged over a while
 * too, not all at once. A socket is first pinged 7/8 to 1 intervalMs after it connected, then
 * every intervalMs, and one that died is dropped between intervalMs and twice that after its last
 * pong, as with graphql-ws. intervalMs 0 (or not finite) turns it off.
 */
export class KeepAlive {
  readonly #intervalMs: number;
  readonly #slices: Set<KeptAlive>[] = Array.from({ length: SLICES }, () => new Set());
  #turn = 0;
  #size = 0;
  #timer: NodeJS.Timeout | null = null;

  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs > 0 && Number.isFinite(intervalMs) ? intervalMs : 0;
  }

  add(connection: KeptAlive): void {
    if (this.#intervalMs === 0) return;
    // Into the slice visited last, so that the first ping comes about intervalMs after the
    // connection (graphql-ws: intervalMs after), never in the middle of a burst of new sockets.
    (this.#slices[(this.#turn + SLICES - 1) % SLICES] as Set<KeptAlive>).add(connection);
    this.#size += 1;
    this.#timer ??= setInterval(() => this.#visit(), this.#intervalMs / SLICES);
  }

  remove(connection: KeptAlive): void {
    for (const slice of this.#slices) {
      if (slice.delete(connection)) {
        this.#size -= 1;
        break;
      }
    }
    if (this.#size === 0) this.stop();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  #visit(): void {
    const slice = this.#slices[this.#turn] as Set<KeptAlive>;
    this.#turn = (this.#turn + 1) % SLICES;
    for (const connection of slice) {
      if (connection.awaitingPong) connection.socket.terminate();
      else if (connection.socket.readyState === WebSocket.OPEN) {
        connection.awaitingPong = true;
        connection.socket.ping();
      }
    }
  }
}
