import type { Pool } from 'mysql2/promise';
import { cityKey, ensureCities } from '../db/cities.js';
import { type CityDirectory, cachedCityDirectory } from '../db/city-directory.js';
import { ensureLocations, type LocationInput, locationKey } from '../db/locations.js';
import { type UpsertCounts, upsertMeasurements } from '../db/measurements.js';
import { cachedPollutants } from '../db/pollutants.js';
import type { Queryable } from '../db/queryable.js';
import { withTransaction } from '../db/transaction.js';
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

/**
 * Cities, then stations, then measurements, all on one connection inside one transaction. That is
 * also the order in which every batch takes its locks, each step in index order (new cities, new
 * stations, every station of the batch, measurements by primary key): overlapping batches wait
 * for each other, and never deadlock among themselves.
 */
async function store(db: Queryable, valid: readonly ValidMeasurement[]): Promise<UpsertCounts> {
  const cities = new Map(valid.map((m) => [cityKey({ country: m.country, name: m.city }), m]));
  const cityIds = await ensureCities(
    db,
    [...cities.values()].map((m) => ({ country: m.country, name: m.city })),
  );
  const cityIdOf = (m: ValidMeasurement) =>
    cityIds.get(cityKey({ country: m.country, name: m.city })) as number;

  // One entry per station; attributes sent later in the batch win, and a null never erases.
  const stations = new Map<string, LocationInput>();
  for (const m of valid) {
    const key = locationKey({ cityId: cityIdOf(m), name: m.location });
    const before = stations.get(key);
    stations.set(key, {
      cityId: cityIdOf(m),
      name: m.location,
      latitude: m.latitude ?? before?.latitude ?? null,
      longitude: m.longitude ?? before?.longitude ?? null,
      sourceName: m.sourceName ?? before?.sourceName ?? null,
      sourceType: m.sourceType ?? before?.sourceType ?? null,
      licence: m.licence ?? before?.licence ?? null,
      attribution: m.attribution ?? before?.attribution ?? null,
    });
  }
  const locationIds = await ensureLocations(db, [...stations.values()]);

  return upsertMeasurements(
    db,
    valid.map((m) => ({
      locationId: locationIds.get(locationKey({ cityId: cityIdOf(m), name: m.location })) as number,
      pollutant: m.pollutant,
      measuredAt: m.measuredAt,
      originalValue: m.value,
      originalUnit: m.unit,
    })),
  );
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
    valid.length === 0
      ? { inserted: 0, updated: 0, unchanged: 0 }
      : await withTransaction(pool, (connection) => store(connection, valid));
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
