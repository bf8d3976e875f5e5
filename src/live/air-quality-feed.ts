import type { YogaLogger } from 'graphql-yoga';
import { type CityWindow, listRunWindows } from '../db/air-quality.js';
import type { Queryable } from '../db/queryable.js';
import { type AirQualityRun, findCurrentRun } from '../db/runs.js';
import { LatestQueue } from './latest-queue.js';

/**
 * The live feed of one API process: ONE poller, whatever the number of subscriptions.
 *
 * While at least one stream is open it asks MariaDB for the current run every pollIntervalMs (one
 * statement). Only when that run changed does it load the run's windows (one more statement) and
 * publish one event holding one object per city: the very same objects reach every stream, which
 * is what lets subscribers share one execution per event (see use-shared-execution.ts).
 *
 * - A run counts as new when it is later than the last one published, by (evaluatedAt, id): a
 *   backfill (an older evaluatedAt) never becomes current and pushes nothing, and no run is pushed
 *   twice. Runs that come and go between two polls are never seen: the feed publishes the current
 *   state, not every run.
 * - Polls never overlap: the next one is scheduled when the last one has finished.
 * - When the last stream closes the timer stops; the next stream starts it again with an immediate
 *   poll, and waits for that poll before its first item (the snapshot may be stale by then).
 * - While MariaDB is unreachable the feed backs off (doubling the delay up to maxBackoffMs), logs
 *   once when it goes down and once when it is back, and never throws into a stream: streams stay
 *   open and the first poll after recovery publishes what changed meanwhile, once.
 */
export interface FeedEvent {
  readonly run: AirQualityRun;
  /** By country, then city name. */
  readonly windows: readonly CityWindow[];
  /** Windows by city name (a name may exist in several countries), in the order of windows. */
  readonly byName: ReadonlyMap<string, readonly CityWindow[]>;
  readonly byCountry: ReadonlyMap<string, readonly CityWindow[]>;
  /** Each window's index in windows. */
  readonly position: ReadonlyMap<CityWindow, number>;
}

export interface FeedStats {
  /** Open streams (subscriptions) listening to the feed. */
  readonly listeners: number;
  /** Streams whose consumer waits in next(). */
  readonly waiting: number;
  /** A poll is scheduled. */
  readonly timerActive: boolean;
  /** A poll is running. */
  readonly polling: boolean;
  readonly polls: number;
  /** SQL statements the feed sent, all polls and loads together. */
  readonly statements: number;
  /** Loads of a new current run's windows. */
  readonly loads: number;
  /** Events published to the streams. */
  readonly events: number;
  readonly failedPolls: number;
  /** MariaDB did not answer the last poll. */
  readonly down: boolean;
  /** The id of the run the feed holds as current, null before the first run. */
  readonly currentRunId: number | null;
}

export interface AirQualityFeed {
  /**
   * A stream of what `select` picks from the current event as soon as the feed knows it, then
   * from every new event. Items not yet read are replaced by newer ones with the same key.
   */
  stream<T>(
    select: (event: FeedEvent) => readonly T[],
    keyOf: (item: T) => unknown,
  ): AsyncIterableIterator<T>;
  stats(): FeedStats;
  /** Ends every stream and the timer; resolves when no poll runs any more. */
  stop(): Promise<void>;
}

export interface FeedOptions {
  readonly db: Queryable;
  readonly pollIntervalMs: number;
  readonly logger: YogaLogger;
  /** The longest delay between polls while MariaDB is unreachable. Default 30 s. */
  readonly maxBackoffMs?: number;
}

interface Listener {
  readonly queue: LatestQueue<unknown>;
  readonly select: (event: FeedEvent) => readonly unknown[];
  /** It received its first event. */
  primed: boolean;
}

function indexBy(windows: readonly CityWindow[], keyOf: (w: CityWindow) => string) {
  const index = new Map<string, CityWindow[]>();
  for (const window of windows) {
    const key = keyOf(window);
    const list = index.get(key);
    if (list) list.push(window);
    else index.set(key, [window]);
  }
  return index;
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

export function createAirQualityFeed(options: FeedOptions): AirQualityFeed {
  const { logger, pollIntervalMs } = options;
  const maxBackoffMs = Math.max(pollIntervalMs, options.maxBackoffMs ?? 30_000);
  const listeners = new Set<Listener>();
  let statements = 0;
  const db = countingQueryable(options.db, () => {
    statements += 1;
  });
  let snapshot: FeedEvent | null = null;
  let timer: NodeJS.Timeout | null = null;
  let inFlight: Promise<void> | null = null;
  let stopped = false;
  let polls = 0;
  let loads = 0;
  let events = 0;
  let failedPolls = 0;
  let failuresInARow = 0;

  function deliver(listener: Listener, event: FeedEvent) {
    listener.primed = true;
    try {
      for (const item of listener.select(event)) listener.queue.push(item);
    } catch (error) {
      logger.error('a live stream could not take an event; it is ended', error);
      listener.queue.end();
    }
  }

  function publish(event: FeedEvent) {
    events += 1;
    for (const listener of listeners) deliver(listener, event);
  }

  function primeWaiting() {
    if (!snapshot) return;
    for (const listener of listeners) if (!listener.primed) deliver(listener, snapshot);
  }

  async function load(run: AirQualityRun): Promise<FeedEvent> {
    loads += 1;
    const windows = await listRunWindows(db, run);
    return {
      run,
      windows,
      byName: indexBy(windows, (w) => w.city?.name ?? ''),
      byCountry: indexBy(windows, (w) => w.city?.country ?? ''),
      position: new Map(windows.map((window, index) => [window, index])),
    };
  }

  async function poll() {
    polls += 1;
    let run: AirQualityRun | null;
    let loaded: FeedEvent | null = null;
    try {
      run = await findCurrentRun(db);
      if (run && run.id !== snapshot?.run.id) loaded = await load(run);
    } catch (error) {
      failedPolls += 1;
      failuresInARow += 1;
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
    primeWaiting();
  }

  function delay() {
    if (failuresInARow === 0) return pollIntervalMs;
    return Math.min(maxBackoffMs, pollIntervalMs * 2 ** failuresInARow);
  }

  function schedule(ms: number) {
    timer = setTimeout(() => {
      timer = null;
      inFlight = poll().finally(() => {
        inFlight = null;
        if (listeners.size > 0 && !stopped) schedule(delay());
      });
    }, ms);
  }

  function remove(listener: Listener) {
    listeners.delete(listener);
    if (listeners.size === 0 && timer) {
      clearTimeout(timer);
      timer = null;
    }
  }

  return {
    stream<T>(select: (event: FeedEvent) => readonly T[], keyOf: (item: T) => unknown) {
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

/** Windows of the given cities (all when null) of a country (any when null), by country and name. */
export function selectWindows(filter: {
  readonly cityNames: readonly string[] | null;
  readonly country: string | null;
}): (event: FeedEvent) => readonly CityWindow[] {
  const { country } = filter;
  const names = filter.cityNames ? [...new Set(filter.cityNames)] : null;
  return (event) => {
    if (!names) return country ? (event.byCountry.get(country) ?? []) : event.windows;
    const found: CityWindow[] = [];
    for (const name of names) {
      for (const window of event.byName.get(name) ?? []) {
        if (!country || window.city?.country === country) found.push(window);
      }
    }
    if (found.length > 1) {
      found.sort((a, b) => (event.position.get(a) ?? 0) - (event.position.get(b) ?? 0));
    }
    return found;
  };
}
