import type { YogaLogger } from 'graphql-yoga';
import type { RunWindows } from '../air-quality/run-windows.js';
import type { Queryable } from '../db/queryable.js';
import { CurrentRunReader, type Finding, type PollReads, runChange } from './current-run.js';
import { LatestQueue } from './latest-queue.js';
import { Listeners } from './listeners.js';
import { PollLoop } from './poll-loop.js';
import { QueryReads } from './query-reads.js';
import { HeldSnapshot, type Snapshot } from './snapshot.js';

export type { Snapshot } from './snapshot.js';

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
 * - With a replica (options.reads), polls read it while it keeps up, the primary otherwise; the poll
 *   refresh() waits for reads the primary, and a replica behind the run held is overruled by the
 *   primary (current-run.ts), so a replica's lag never takes a run back nor publishes one twice.
 *   Freshness is then one poll interval plus the replica's lag.
 *
 * createPoller only wires its parts: poll-loop.ts (when polls run: interval, backoff with
 * outage.ts, idling, stopping), current-run.ts (the SQL of a poll, and runChange: whether a run is
 * new), snapshot.ts (the run held and the poll that vouches for it), query-reads.ts (read, peek,
 * refresh) and listeners.ts (the streams and what reaches them).
 */
export interface PollerStats {
  /** Open streams (subscriptions) listening to the poller. */
  readonly listeners: number;
  /** Streams whose consumer waits for an item (in next(), or ready to take one pushed). */
  readonly waiting: number;
  /** A poll is scheduled. */
  readonly timerActive: boolean;
  /** A poll is running. */
  readonly polling: boolean;
  readonly polls: number;
  /** SQL statements the poller sent, all polls and loads together. */
  readonly statements: number;
  /** Of those, the ones a replica answered (reads: see PollerOptions). */
  readonly replicaStatements: number;
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
  /** The primary. */
  readonly db: Queryable;
  /**
   * Where polls read when a replica serves reads (db/read-routing.ts); the primary when absent.
   * A refresh() of this process reads the primary for its poll (see current-run.ts).
   */
  readonly reads?: PollReads;
  readonly pollIntervalMs: number;
  readonly logger: YogaLogger;
  /** The longest delay between polls while MariaDB is unreachable. Default 30 s. */
  readonly maxBackoffMs?: number;
  /** How long after the last read() the poller keeps polling with no stream open. Default 30 s. */
  readonly queryIdleMs?: number;
}

export function createPoller(options: PollerOptions): Poller {
  const { logger, pollIntervalMs } = options;
  const maxBackoffMs = Math.max(pollIntervalMs, options.maxBackoffMs ?? 30_000);
  const held = new HeldSnapshot(pollIntervalMs);
  const runs = new CurrentRunReader(options.db, options.reads ?? null);
  const listeners = new Listeners(logger, () => loop.release());
  const loop: PollLoop<Finding> = new PollLoop({
    intervalMs: pollIntervalMs,
    maxBackoffMs,
    logger,
    wanted: () => listeners.size > 0 || reads.recent,
    fetch: () => runs.find(held.event),
    failed: () => held.distrust(),
    found: (found, startedAt) => {
      // What a poll changes and what it publishes, in one place: a feature that reacts to a new
      // run (change.previous is the one it replaces) hooks in here.
      const change = runChange(held.event, found);
      held.event = change.current;
      if (change.event) listeners.publish(change.event);
      held.confirm(startedAt);
      listeners.primeWaiting(held.event);
    },
  });
  const reads = new QueryReads(held, loop, options.queryIdleMs ?? 30_000);

  return {
    stream<T>(select: (event: RunWindows) => readonly T[], keyOf: (item: T) => unknown) {
      if (loop.stopped) {
        const ended = new LatestQueue<T>(keyOf, () => {});
        ended.end();
        return ended;
      }
      // A running poller's snapshot is the current state, unless MariaDB is down; an idle one
      // polls first, and the stream waits for that poll (the snapshot may be stale by then).
      const running = loop.scheduled || loop.inFlight !== null;
      const queue = listeners.add(select, keyOf, running && !loop.down ? held.event : null);
      if (!running) loop.start();
      return queue;
    },
    read: () => reads.read(),
    peek: () => reads.peek(),
    refresh: () => {
      // Read-your-writes: the poll refresh() waits for reads the primary, where the write is.
      runs.primaryNext();
      return reads.refresh();
    },
    wake: () => loop.wake(),
    stats: () => ({
      listeners: listeners.size,
      waiting: listeners.waiting,
      timerActive: loop.scheduled,
      polling: loop.inFlight !== null,
      polls: loop.polls,
      statements: runs.statements,
      replicaStatements: runs.replicaStatements,
      loads: runs.loads,
      events: listeners.events,
      failedPolls: loop.failedPolls,
      down: loop.down,
      currentRunId: held.event?.run.id ?? null,
      snapshotReads: reads.snapshotReads,
      fallbackReads: reads.fallbackReads,
    }),
    async stop() {
      const running = loop.stop();
      listeners.endAll();
      await running;
    },
  };
}
