import { indexRunWindows, type RunWindows } from '../air-quality/run-windows.js';
import { listRunWindows } from '../db/air-quality.js';
import type { Queryable } from '../db/queryable.js';
import type { ReadRouter, ReadServer } from '../db/read-routing.js';
import { type AirQualityRun, findCurrentRun } from '../db/runs.js';

/** What one poll found in MariaDB. */
export interface Finding {
  readonly run: AirQualityRun | null;
  /** The run's windows, loaded because it is not the run held; null when it is, or no run. */
  readonly loaded: RunWindows | null;
}

/** What a poll changes: the one place that decides whether a run is new to the streams. */
export interface RunChange {
  /** The run held before the poll. */
  readonly previous: RunWindows | null;
  /** The run held from now on; null when MariaDB holds no run. */
  readonly current: RunWindows | null;
  /** What the streams get as an event: current when it is new to them, otherwise null. */
  readonly event: RunWindows | null;
}

function isLater(run: AirQualityRun, than: AirQualityRun): boolean {
  const delta = run.evaluatedAt.getTime() - than.evaluatedAt.getTime();
  return delta > 0 || (delta === 0 && run.id > than.id);
}

/**
 * A run counts as new when it is later than the one held, by (evaluatedAt, id): a backfill (an
 * older evaluatedAt) never becomes current over a later run and pushes nothing, and no run is
 * pushed twice.
 */
export function runChange(previous: RunWindows | null, found: Finding): RunChange {
  if (!found.run) return { previous, current: null, event: null };
  if (!found.loaded) return { previous, current: previous, event: null };
  // An older run became current only if the newer one was deleted: new subscribers get it,
  // those who saw the newer one are not sent back in time.
  const isNew = !previous || isLater(found.loaded.run, previous.run);
  return { previous, current: found.loaded, event: isNew ? found.loaded : null };
}

/** Counts every statement sent through db. */
function countingQueryable(db: Queryable, count: () => void): Queryable {
  const query = (...args: unknown[]) => {
    count();
    return (db.query as (...a: unknown[]) => unknown)(...args);
  };
  return { query } as unknown as Queryable;
}

/** Where polls read when not from the primary: a replica while it keeps up (db/read-routing.ts). */
export type PollReads = Pick<ReadRouter, 'read'>;

/**
 * The poller's SQL: the current run at every poll (one statement), and its windows (one more)
 * only when it is not the run held. Counts what it sends, and what of it went to a replica.
 *
 * With a replica (reads), polls read it, with two exceptions that keep what a process publishes
 * moving forward only. The poll after primaryNext() reads the primary: a refresh made by this
 * process is then published at once, without waiting for the replica. And a replica that holds
 * an older current run than the one held (which came from the primary, by a refresh or while
 * reads were on it) is behind this process: the primary says what is current, so that a
 * replica's lag never takes a run back from new subscribers nor publishes one twice.
 */
export class CurrentRunReader {
  readonly #primary: Queryable;
  readonly #reads: PollReads | null;
  #statements = 0;
  #replicaStatements = 0;
  #loads = 0;
  #primaryNext = false;

  constructor(primary: Queryable, reads: PollReads | null = null) {
    this.#primary = primary;
    this.#reads = reads;
  }

  /** SQL statements sent, all polls and loads together, to either server. */
  get statements(): number {
    return this.#statements;
  }
  /** Of those, the ones a replica answered. */
  get replicaStatements(): number {
    return this.#replicaStatements;
  }
  /** Loads of a new current run's windows. */
  get loads(): number {
    return this.#loads;
  }

  /** The next find() reads the primary (read-your-writes for a refresh of this process). */
  primaryNext(): void {
    this.#primaryNext = true;
  }

  find(held: RunWindows | null): Promise<Finding> {
    const fromPrimary = this.#primaryNext || this.#reads === null;
    this.#primaryNext = false;
    if (fromPrimary) return this.#findOn(this.#counted(this.#primary, 'primary'), held);
    return (this.#reads as PollReads).read(async (db, server) => {
      const counted = this.#counted(db, server);
      const run = await findCurrentRun(counted);
      if (server === 'replica' && held && (!run || isLater(held.run, run))) {
        return this.#findOn(this.#counted(this.#primary, 'primary'), held);
      }
      return this.#load(counted, run, held);
    });
  }

  async #findOn(db: Queryable, held: RunWindows | null): Promise<Finding> {
    return this.#load(db, await findCurrentRun(db), held);
  }

  async #load(db: Queryable, run: AirQualityRun | null, held: RunWindows | null): Promise<Finding> {
    if (!run || run.id === held?.run.id) return { run, loaded: null };
    this.#loads += 1;
    return { run, loaded: indexRunWindows(run, await listRunWindows(db, run), held) };
  }

  #counted(db: Queryable, server: ReadServer): Queryable {
    return countingQueryable(db, () => {
      this.#statements += 1;
      if (server === 'replica') this.#replicaStatements += 1;
    });
  }
}
