import type { Pool } from 'mysql2/promise';
import { type CityKey, ensureCities } from '../db/cities.js';
import { type CityDirectory, cachedCityDirectory } from '../db/city-directory.js';
import { ensureLocations, locationKey, StaleRowsError } from '../db/locations.js';
import { type UpsertCounts, upsertMeasurements } from '../db/measurements.js';
import { cachedPollutants } from '../db/pollutants.js';
import type { Queryable } from '../db/queryable.js';
import { withTransaction } from '../db/transaction.js';
import { citiesOf, measurementRows, planStations } from './batch-plan.js';
import {
  type CommittedRows,
  forgetKnownRows,
  type KnownRows,
  knownRowsOf,
  rememberCommitted,
} from './known-rows.js';
import { unchangedRepeat } from './unchanged-repeat.js';
import {
  type MeasurementItem,
  type ValidMeasurement,
  validateMeasurement,
} from './validate-measurement.js';

export interface Rejection {
  /** Position of the item in the batch, from 0. */
  readonly index: number;
  readonly reason: string;
}

export interface IngestResult {
  readonly received: number;
  readonly inserted: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly rejected: readonly Rejection[];
}

export interface IngestOptions {
  /** The server's clock, against which "in the future" is judged. Default: now. */
  readonly now?: Date;
  /** The largest batch accepted. Default DEFAULT_MAX_BATCH. */
  readonly maxBatch?: number;
  /**
   * How many items the client sent, where some were set aside before this call (items GraphQL
   * itself refused): the batch limit applies to what was sent. Default: items.length.
   */
  readonly received?: number;
}

export const DEFAULT_MAX_BATCH = 10_000;

/** A batch larger than the configured limit; nothing of it is looked at or stored. */
export class BatchTooLargeError extends Error {
  constructor(
    readonly received: number,
    readonly maxBatch: number,
  ) {
    super(
      `The batch holds ${received} measurements, more than the ${maxBatch} allowed per request: ` +
        `split it into batches of at most ${maxBatch}.`,
    );
    this.name = 'BatchTooLargeError';
  }
}

/**
 * The city a measurement is stored under: its station's municipality where the station table
 * knows its stationCode, else the city its city name is an alias of (Brussel, Bruxelles and
 * Vorst are Brussels; Borgerhout is Antwerpen), else the city as sent.
 */
function storedCity(directory: CityDirectory, m: ValidMeasurement): ValidMeasurement {
  const city =
    (m.stationCode === null ? undefined : directory.stationCity(m.country, m.stationCode)) ??
    directory.canonicalName(m.country, m.city);
  return city === m.city ? m : { ...m, city };
}

interface Stored {
  readonly counts: UpsertCounts;
  readonly committed: CommittedRows;
}

/**
 * Cities, then stations, then measurements, all on one connection inside one transaction. That is
 * also the order in which every batch takes its locks, each step in index order (new cities, new
 * stations, every station of the batch, measurements by primary key): overlapping batches wait
 * for each other, and never deadlock among themselves. What `known` holds is not looked up again;
 * the station locks check it (StaleRowsError otherwise).
 */
async function store(
  db: Queryable,
  valid: readonly ValidMeasurement[],
  known: KnownRows,
  updateAll: boolean,
): Promise<Stored> {
  const cities = citiesOf(valid);
  const cityIds = await ensureCities(db, [...cities.values()], known.cities);
  const cityById = new Map<number, CityKey>();
  for (const [key, city] of cities) cityById.set(cityIds.get(key) as number, city);

  const plan = planStations(valid, cityIds);
  const ensured = await ensureLocations(db, [...plan.stations.values()], cityById, {
    known: known.stations,
    updateAll,
  });
  const counts = await upsertMeasurements(db, measurementRows(valid, plan, ensured.ids));
  const read = new Map(ensured.unchanged.map((row) => [locationKey(row), row]));
  return {
    counts,
    committed: {
      cities: cityIds,
      stations: read,
      updated: [...plan.stations.keys()].filter((key) => !read.has(key)),
      latest: plan.latest,
    },
  };
}

/** Runs of a batch on fresh reads after it met stations changed under it (StaleRowsError). */
const STALE_ATTEMPTS = 3;

/**
 * Stores the valid items, believing what this process knows of their cities and stations, and
 * remembers what the batch established once it has committed. A repeat of stored rows is
 * answered without a write (unchangedRepeat); anything else goes in one transaction, and a batch
 * that finds stations changed under it runs again on fresh reads, the last time updating every
 * station it sends attributes of.
 */
async function storeValid(pool: Pool, valid: readonly ValidMeasurement[]): Promise<UpsertCounts> {
  const known = knownRowsOf(pool);
  const repeat = await unchangedRepeat(pool, valid, known);
  if (repeat) return repeat;
  for (let attempt = 1; ; attempt += 1) {
    try {
      const stored = await withTransaction(pool, (connection) =>
        store(connection, valid, known, attempt === STALE_ATTEMPTS),
      );
      rememberCommitted(known, stored.committed);
      return stored.counts;
    } catch (error) {
      if (!(error instanceof StaleRowsError) || attempt >= STALE_ATTEMPTS) throw error;
      forgetKnownRows(known);
    }
  }
}

/**
 * Validates a batch item by item and stores the valid items together, atomically: their cities
 * and stations are created or updated on the way, and each measurement is inserted, updated
 * (changed value) or left unchanged (sent before). Invalid items are rejected one by one with a
 * reason and never stored. Old measurements are welcome: the feed lags and repeats itself.
 *
 * Throws BatchTooLargeError beyond maxBatch, and the database's error when the transaction fails
 * (after retrying deadlocks), in which case nothing of the batch is stored.
 */
export async function ingestMeasurements(
  pool: Pool,
  items: readonly MeasurementItem[],
  options: IngestOptions = {},
): Promise<IngestResult> {
  const maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
  const received = options.received ?? items.length;
  if (received > maxBatch) throw new BatchTooLargeError(received, maxBatch);
  const now = options.now ?? new Date();
  const pollutants = await cachedPollutants(pool);
  const directory = await cachedCityDirectory(pool);

  const valid: ValidMeasurement[] = [];
  const rejected: Rejection[] = [];
  items.forEach((item, index) => {
    const validation = validateMeasurement(item, pollutants, now);
    if (validation.ok) valid.push(storedCity(directory, validation.measurement));
    else rejected.push({ index, reason: validation.reason });
  });

  const counts =
    valid.length === 0 ? { inserted: 0, updated: 0, unchanged: 0 } : await storeValid(pool, valid);
  return { received: items.length, ...counts, rejected };
}

/**
 * Items of an ingestMeasurements batch that GraphQL itself would refuse, set aside before
 * execution: what the mutation then reports as rejections of those items.
 */
export interface ItemLevelInputErrors {
  /** Items the client sent. */
  readonly received: number;
  /** For each item left in the variable, its index in what the client sent. */
  readonly keptIndex: readonly number[];
  readonly rejected: readonly Rejection[];
}
