import type { YogaLogger } from 'graphql-yoga';
import { indexRunWindows, type RunWindows } from '../air-quality/run-windows.js';
import { listRunWindows } from '../db/air-quality.js';
import type { Queryable } from '../db/queryable.js';
import { type AirQualityRun, findCurrentRun } from '../db/runs.js';
import { LatestQueue } from './latest-queue.js';

/**
 * The poller of one API process: ONE poller, whatever the number of subscriptions and queries.
 *
 * While at least one stream is open, or a query read the windows within queryIdleMs, it asks
 * MariaDB for the current run every pollIntervalMs (one statement). Only when that run changed
 * does it load the run's windows (one more statement) and publish one event holding one object per
 * city: the very same objects reach every stream, which is what lets subscribers share one
 * execution per event (see use-shared-execution.ts).
 *
 * Queries read the same snapshot (read()), so that the current windows cost no SQL while it is
 * fresh: confirmed by a poll that started at most pollIntervalMs before the query read it. A poll
 * sees every run committed before it started, so a query never misses a run committed more than
 * one poll interval before it, the same bound as subscriptions. A stale snapshot is never served:
 * read() waits for a poll (shared by every query that waits), and answers null when the poller
 * cannot vouch for the current run (MariaDB unreachable, the poller stopped), for the caller to read
 * MariaDB itself. refresh() gives read-your-writes to the process that made a run.
 *
 * - A run counts as new when it is later than the last one published, by (evaluatedAt, id): a
 *   backfill (an older evaluatedAt) never becomes current and pushes nothing, and no run is pushed
 *   twice. Runs that come and go between two polls are never seen: the poller publishes the current
 *   state, not every run.
 * - Polls never overlap, and start pollIntervalMs apart (later when one takes longer).
 * - When the last stream closes and no query read for queryIdleMs, the timer stops: an idle process
 *   sends no SQL. The next stream starts it again with an immediate poll, and waits for that poll
 *   before its first item (the snapshot may be stale by then); the next query likewise.
 * - While MariaDB is unreachable the poller backs off (doubling the delay up to maxBackoffMs), logs
 *   once when it goes down and once when it is back, and never throws into a stream: streams stay
 *   open and the first poll after recovery publishes what changed meanwhile, once. Queries read
 *   MariaDB themselves meanwhile (read() answers null), and one that succeeds wakes the poller.
 */
/** The current run's windows as the poller knows them, vouched for by a recent poll. */
export interface Snapshot {
  /** The current run and its windows; null when MariaDB holds no run at all. */
  readonly event: RunWindows | null;
  /** When the poll that confirmed it started (performance.now() of this process). */
  readonly confirmedAt: number;
}

export interface PollerStats {
  /** Open streams (subscriptions) listening to the poller. */
  readonly listeners: number;
  /** Streams whose consumer waits in next(). */
  readonly waiting: number;
  /** A poll is scheduled. */
  readonly timerActive: boolean;
  /** A poll is running. */
  readonly polling: boolean;
  readonly polls: number;
  /** SQL statements the poller sent, all polls and loads together. */
  readonly statements: number;
  /** Loads of a new current run's windows. */
  readonly loads: number;
  /** Events published to the streams. */
  readonly events: number;
  readonly failedPolls: number;
  /** MariaDB did not answer the last poll. */
  readonly down: boolean;
  /** The id of the run the poller holds as current, null before the first run. */
  readonly currentRunId: number | null;
  /** Queries answered from the snapshot (read() calls that got one). */
  readonly snapshotReads: number;
  /** read() calls answered null: the caller read MariaDB itself. */
  readonly fallbackReads: number;
}

export interface Poller {
  /**
   * A stream of what `select` picks from the current event as soon as the poller knows it, then
   * from every new event. Items not yet read are replaced by newer ones with the same key.
   */
  stream<T>(
    select: (event: RunWindows) => readonly T[],
    keyOf: (item: T) => unknown,
  ): AsyncIterableIterator<T>;
  /**
   * The current windows for a query: a snapshot confirmed by a poll that started at most
   * pollIntervalMs before the call, waiting for a poll if the last one is older; null when the poller
   * cannot vouch for one (MariaDB did not answer its last poll, the poller is stopped), for the
   * caller to read MariaDB itself. Keeps the poller running for queryIdleMs.
   */
  read(): Promise<Snapshot | null>;
  /** The snapshot if it is fresh at this instant; null otherwise. Never waits, polls or counts. */
  peek(): Snapshot | null;
  /**
   * Resolves after a poll that started after the call: what a write committed before the call
   * (a new run) is in the snapshot when it resolves, and read() serves nothing older meanwhile.
   */
  refresh(): Promise<void>;
  /** MariaDB answered the caller: if the poller is backing off from an outage, poll now. */
  wake(): void;
  stats(): PollerStats;
  /** Ends every stream and the timer; resolves when no poll runs any more. */
  stop(): Promise<void>;
}

export interface PollerOptions {
  readonly db: Queryable;
  readonly pollIntervalMs: number;
  readonly logger: YogaLogger;
  /** The longest delay between polls while MariaDB is unreachable. Default 30 s. */
  readonly maxBackoffMs?: number;
  /** How long after the last read() the poller keeps polling with no stream open. Default 30 s. */
  readonly queryIdleMs?: number;
}

interface Listener {
  readonly queue: LatestQueue<unknown>;
  readonly select: (event: RunWindows) => readonly unknown[];
  /** It received its first event. */
  primed: boolean;
}

function isLater(run: AirQualityRun, than: AirQualityRun): boolean {
  const delta = run.evaluatedAt.getTime() - than.evaluatedAt.getTime();
  return delta > 0 || (delta === 0 && run.id > than.id);
}

/** Counts every statement sent through db. */
function countingQueryable(db: Queryable, count: () => void): Queryable {
  const query = (...args: unknown[]) => {
    count();
    return (db.query as (...a: unknown[]) => unknown)(...args);
  };
  return { query } as unknown as Queryable;
}

export function createPoller(options: PollerOptions): Poller {
  const { logger, pollIntervalMs } = options;
  const maxBackoffMs = Math.max(pollIntervalMs, options.maxBackoffMs ?? 30_000);
  const queryIdleMs = options.queryIdleMs ?? 30_000;
  const listeners = new Set<Listener>();
  let statements = 0;
  const db = countingQueryable(options.db, () => {
    statements += 1;
  });
  let snapshot: RunWindows | null = null;
  // The start of the last poll that succeeded; -Infinity while nothing vouches for the snapshot.
  let confirmedAt = Number.NEGATIVE_INFINITY;
  // A poll that started before this instant cannot vouch for the snapshot (see refresh()).
  let invalidatedAt = Number.NEGATIVE_INFINITY;
  let lastReadAt = Number.NEGATIVE_INFINITY;
  let timer: NodeJS.Timeout | null = null;
  let inFlight: Promise<void> | null = null;
  let inFlightStartedAt = 0;
  let stopped = false;
  let polls = 0;
  let loads = 0;
  let events = 0;
  let failedPolls = 0;
  let failuresInARow = 0;
  let snapshotReads = 0;
  let fallbackReads = 0;

  const freshNow = () => confirmedAt >= performance.now() - pollIntervalMs;
  const wanted = () => listeners.size > 0 || performance.now() - lastReadAt < queryIdleMs;

  function deliver(listener: Listener, event: RunWindows) {
    listener.primed = true;
    try {
      for (const item of listener.select(event)) listener.queue.push(item);
    } catch (error) {
      logger.error('a live stream could not take an event; it is ended', error);
      listener.queue.end();
    }
  }

  function publish(event: RunWindows) {
    events += 1;
    for (const listener of listeners) deliver(listener, event);
  }

  function primeWaiting() {
    if (!snapshot) return;
    for (const listener of listeners) if (!listener.primed) deliver(listener, snapshot);
  }

  async function load(run: AirQualityRun): Promise<RunWindows> {
    loads += 1;
    // The run held until now is the new one's predecessor: alerts compare the two.
    return indexRunWindows(run, await listRunWindows(db, run), snapshot);
  }

  async function poll(startedAt: number) {
    polls += 1;
    let run: AirQualityRun | null;
    let loaded: RunWindows | null = null;
    try {
      run = await findCurrentRun(db);
      if (run && run.id !== snapshot?.run.id) loaded = await load(run);
    } catch (error) {
      failedPolls += 1;
      failuresInARow += 1;
      // What the last poll saw may be gone: queries read MariaDB until a poll succeeds again.
      confirmedAt = Number.NEGATIVE_INFINITY;
      if (failuresInARow === 1) {
        logger.warn(
          `live updates: MariaDB does not answer (${(error as Error).message}); retrying with backoff up to ${maxBackoffMs} ms, subscriptions stay open`,
        );
      }
      return;
    }
    if (failuresInARow > 0) {
      logger.info(`live updates: MariaDB answers again after ${failuresInARow} failed polls`);
      failuresInARow = 0;
    }
    if (stopped) return;
    if (!run) {
      snapshot = null;
    } else if (loaded) {
      const previous = snapshot;
      snapshot = loaded;
      // An older run became current only if the newer one was deleted: new subscribers get it,
      // those who saw the newer one are not sent back in time.
      if (!previous || isLater(loaded.run, previous.run)) publish(loaded);
    }
    if (startedAt > invalidatedAt) confirmedAt = startedAt;
    primeWaiting();
  }

  function delay() {
    if (failuresInARow > 0) return Math.min(maxBackoffMs, pollIntervalMs * 2 ** failuresInARow);
    // Polls start pollIntervalMs apart: a query then finds the snapshot expiring just as the
    // next poll starts, and waits at most for that poll.
    return Math.max(0, inFlightStartedAt + pollIntervalMs - performance.now());
  }

  /** Starts a poll now (none may be running), in place of the one scheduled. */
  function pollNow(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = null;
    const startedAt = performance.now();
    inFlightStartedAt = startedAt;
    const running = poll(startedAt).finally(() => {
      inFlight = null;
      if (wanted() && !stopped) schedule(delay());
    });
    inFlight = running;
    return running;
  }

  function schedule(ms: number) {
    timer = setTimeout(() => {
      timer = null;
      if (wanted() && !stopped) void pollNow();
    }, ms);
    // The poller never keeps a process alive by itself (an app a test never stopped, a script).
    timer.unref();
  }

  /** The poller runs (or is scheduled) while it is wanted. */
  function keepPolling() {
    if (!stopped && !timer && !inFlight) schedule(delay());
  }

  function remove(listener: Listener) {
    listeners.delete(listener);
    if (!wanted() && timer) {
      clearTimeout(timer);
      timer = null;
    }
  }

  function vouched(): Snapshot {
    snapshotReads += 1;
    return { event: snapshot, confirmedAt };
  }

  return {
    stream<T>(select: (event: RunWindows) => readonly T[], keyOf: (item: T) => unknown) {
      const listener: Listener = {
        queue: new LatestQueue<unknown>(keyOf as (item: unknown) => unknown, () =>
          remove(listener),
        ),
        select,
        primed: false,
      };
      if (stopped) {
        listener.queue.end();
        return listener.queue as LatestQueue<T>;
      }
      const running = timer !== null || inFlight !== null;
      listeners.add(listener);
      if (!running) schedule(0);
      else if (snapshot && failuresInARow === 0) deliver(listener, snapshot);
      return listener.queue as LatestQueue<T>;
    },
    async read() {
      if (stopped) {
        fallbackReads += 1;
        return null;
      }
      const arrivedAt = performance.now();
      lastReadAt = arrivedAt;
      // Fresh for this read: confirmed by a poll that started at most pollIntervalMs before it.
      const fresh = () => confirmedAt >= arrivedAt - pollIntervalMs;
      if (fresh()) {
        keepPolling();
        return vouched();
      }
      if (failuresInARow > 0) {
        // MariaDB did not answer the last poll: the caller's own query is the fastest way to
        // learn whether it is back (wake() then polls), without waiting for the backoff.
        keepPolling();
        fallbackReads += 1;
        return null;
      }
      if (inFlight) await inFlight;
      // That poll may have started too long before this read (a slow MariaDB): one that starts
      // now is fresh for it, however long it takes.
      if (!fresh() && failuresInARow === 0 && !stopped) await (inFlight ?? pollNow());
      if (fresh()) return vouched();
      fallbackReads += 1;
      return null;
    },
    peek() {
      return !stopped && freshNow() ? { event: snapshot, confirmedAt } : null;
    },
    async refresh() {
      if (stopped) return;
      const requestedAt = performance.now();
      invalidatedAt = requestedAt;
      confirmedAt = Number.NEGATIVE_INFINITY;
      // A poll that started before the call may have missed the write: wait for it to end.
      while (inFlight && inFlightStartedAt <= requestedAt) await inFlight;
      if (stopped) return;
      await (inFlight ?? pollNow());
    },
    wake() {
      if (failuresInARow > 0 && !inFlight && !stopped && wanted()) void pollNow();
    },
    stats() {
      let waiting = 0;
      for (const listener of listeners) if (listener.queue.waiting) waiting += 1;
      return {
        listeners: listeners.size,
        waiting,
        timerActive: timer !== null,
        polling: inFlight !== null,
        polls,
        statements,
        loads,
        events,
        failedPolls,
        down: failuresInARow > 0,
        currentRunId: snapshot?.run.id ?? null,
        snapshotReads,
        fallbackReads,
      };
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      for (const listener of [...listeners]) listener.queue.end();
      await inFlight;
    },
  };
}
