import type { LocationRow } from '../db/locations.js';

/**
 * What this process knows of the cities and stations that earlier batches committed, so that a
 * batch need not look them up again: city ids by cityKey, and stations (id and attributes) by
 * locationKey. It is only ever a belief. A city never changes once created, and every station of a
 * batch, with its city, is checked under the batch's locks (ensureLocations), so a wrong belief
 * (another process changed a station, someone deleted rows by hand) costs a rollback and a run on
 * fresh reads, never a wrong row. Filled only after a commit: what a rolled-back batch created or
 * changed is never believed.
 */
export interface KnownRows {
  readonly cities: Map<string, number>;
  readonly stations: Map<string, LocationRow>;
  /**
   * The latest instant this process stored for each station, by locationKey: a batch with no
   * later one looks like a repeat (a guess, checked by the database before it is believed).
   */
  readonly latest: Map<string, number>;
  /**
   * Batches still to go before the next guess, after a guess that was wrong: a backfill of
   * older data than the latest stored looks like repeats batch after batch, and would pay a
   * useless check each time.
   */
  skipGuesses: number;
}

/** How many batches go without a guess after a wrong one. */
export const GUESSES_SKIPPED_AFTER_A_MISS = 16;

/** Past this many stations, the cache starts over rather than grow without bound. */
export const MAX_KNOWN_STATIONS = 100_000;

const byPool = new WeakMap<object, KnownRows>();

/**
 * The pool's cache. Kept by the mysql2 pool underneath the promise wrapper, like the city
 * directory, so that wrappers of one pool share one cache; pools of different databases never do.
 */
export function knownRowsOf(pool: object): KnownRows {
  const owner = (pool as { pool?: object }).pool ?? pool;
  let known = byPool.get(owner);
  if (!known) {
    known = { cities: new Map(), stations: new Map(), latest: new Map(), skipGuesses: 0 };
    byPool.set(owner, known);
  }
  return known;
}

/** Forgets everything: after a batch met rows that were not what the cache said. */
export function forgetKnownRows(known: KnownRows): void {
  known.cities.clear();
  known.stations.clear();
  known.latest.clear();
  known.skipGuesses = 0;
}

/** What a committed batch established: its cities' ids and the stations it read under lock. */
export interface CommittedRows {
  readonly cities: ReadonlyMap<string, number>;
  /** Stations as stored under the batch's share locks, by locationKey. */
  readonly stations: ReadonlyMap<string, LocationRow>;
  /** Stations the batch updated, whose other attributes it did not read: to forget. */
  readonly updated: readonly string[];
  /** The latest instant of each station of the batch, by locationKey. */
  readonly latest: ReadonlyMap<string, number>;
}

export function rememberCommitted(known: KnownRows, committed: CommittedRows): void {
  if (known.stations.size + committed.stations.size > MAX_KNOWN_STATIONS) forgetKnownRows(known);
  for (const [key, id] of committed.cities) known.cities.set(key, id);
  for (const [key, row] of committed.stations) known.stations.set(key, row);
  for (const key of committed.updated) known.stations.delete(key);
  for (const [key, time] of committed.latest) {
    if (!(time <= (known.latest.get(key) ?? Number.NEGATIVE_INFINITY))) known.latest.set(key, time);
  }
}
