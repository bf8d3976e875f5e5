import { indexRunWindows, type RunWindows } from '../air-quality/run-windows.js';
import { listRunWindows } from '../db/air-quality.js';
import type { Queryable } from '../db/queryable.js';
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

/**
 * The poller's SQL: the current run at every poll (one statement), and its windows (one more)
 * only when it is not the run held. Counts what it sends.
 */
export class CurrentRunReader {
  readonly #db: Queryable;
  #statements = 0;
  #loads = 0;

  constructor(db: Queryable) {
    this.#db = countingQueryable(db, () => {
      this.#statements += 1;
    });
  }

  /** SQL statements sent, all polls and loads together. */
  get statements(): number {
    return this.#statements;
  }
  /** Loads of a new current run's windows. */
  get loads(): number {
    return this.#loads;
  }

  async find(held: RunWindows | null): Promise<Finding> {
    const run = await findCurrentRun(this.#db);
    if (!run || run.id === held?.run.id) return { run, loaded: null };
    this.#loads += 1;
    return { run, loaded: indexRunWindows(run, await listRunWindows(this.#db, run), held) };
  }
}
