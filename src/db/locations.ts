import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { CityKey } from './cities.js';
import { findOrInsert, forEachChunk } from './find-or-insert.js';
import type { Queryable } from './queryable.js';

/** A station as a batch describes it. Null attributes mean "not sent", never "erase". */
export interface LocationInput {
  readonly cityId: number;
  readonly name: string;
  readonly latitude: number | null;
  readonly longitude: number | null;
  readonly sourceName: string | null;
  readonly sourceType: string | null;
  /** The licence of its data, as the upstream names it (CC BY 4.0). */
  readonly licence: string | null;
  /** Whom the licence asks to credit. */
  readonly attribution: string | null;
}

export interface LocationRow extends LocationInput {
  readonly id: number;
}

/** The map key of a station: (city, name). */
export function locationKey(location: { cityId: number; name: string }): string {
  return `${location.cityId}\u0000${location.name}`;
}

const COLUMNS = `id, city_id AS cityId, name, latitude, longitude,
                 source_name AS sourceName, source_type AS sourceType, licence, attribution`;

/** Adds the stations of the chunk that exist to `found`. */
async function findLocations(
  db: Queryable,
  chunk: readonly LocationInput[],
  found: Map<string, LocationRow>,
) {
  const [rows] = await db.query<RowDataPacket[]>(
    `/* findLocations */
     SELECT ${COLUMNS} FROM location
     WHERE (city_id, name) IN (${chunk.map(() => '(?, ?)').join(', ')})`,
    chunk.flatMap((location) => [location.cityId, location.name]),
  );
  for (const row of rows) found.set(locationKey(row as LocationRow), row as LocationRow);
}

const ATTRIBUTES = [
  'latitude',
  'longitude',
  'sourceName',
  'sourceType',
  'licence',
  'attribution',
] as const;

/** The order of location_city_name: city, then name byte for byte (binary collation). */
function compareLocationKeys(a: LocationInput, b: LocationInput): number {
  return a.cityId - b.cityId || Buffer.compare(Buffer.from(a.name), Buffer.from(b.name));
}

/** Whether the station as stored already says everything the batch says of it. */
export function agreesWith(input: LocationInput, stored: LocationInput): boolean {
  return ATTRIBUTES.every((field) => input[field] === null || input[field] === stored[field]);
}

/**
 * What a batch believed of its stations (a cache of ids and attributes, or a read made before the
 * locks) turned out wrong under the locks: a station gone, another station under that id, a city
 * that is not the one expected, attributes that another writer changed. Nothing was written that
 * must stay: the transaction is to be rolled back and run again on fresh reads.
 */
export class StaleRowsError extends Error {
  constructor(detail: string) {
    super(`stations or cities changed under the batch: ${detail}`);
    this.name = 'StaleRowsError';
  }
}

interface LockedLocation {
  readonly input: LocationInput;
  /** What the batch believes is stored: from a cache, or read before the locks. */
  readonly believed: LocationRow;
}

/**
 * Locks the given stations in id order: the exclusive lock of an UPDATE where the batch changes a
 * station's coordinates or source, a share lock on the others. Each lock also checks what the
 * batch believed: the share-locking SELECT reads each station with its city (the latest committed
 * version, which nobody can change before this transaction ends), the UPDATE matches its station
 * by id, city and name; anything else is a StaleRowsError. Answers the stations as they are
 * stored under the share locks; those updated are not read back.
 *
 * The measurements' foreign-key checks take a share lock on their station anyway, one station at a
 * time in between the measurement rows they insert. Taken that late, an attribute update (before
 * the measurements) deadlocks with another batch that holds measurement rows this one needs and
 * waits for the updated station. Taken here, in one order by every batch before any measurement
 * row, stations are locked first, then measurements, each in one order: batches wait for each
 * other, never in a circle. (Cities are only ever share-locked, and only inserted otherwise.)
 */
async function lockLocations(
  db: Queryable,
  stations: readonly LockedLocation[],
  cities: ReadonlyMap<number, CityKey>,
  updateAll: boolean,
): Promise<LocationRow[]> {
  const ordered = [...stations].sort((a, b) => a.believed.id - b.believed.id);
  const read: LocationRow[] = [];
  let shared: LockedLocation[] = [];
  const lockShared = async () => {
    await forEachChunk(shared, async (chunk) => {
      const [rows] = await db.query<RowDataPacket[]>(
        `/* lockLocations */
         SELECT l.id, l.city_id AS cityId, l.name, l.latitude, l.longitude,
                l.source_name AS sourceName, l.source_type AS sourceType, l.licence,
                l.attribution, c.country, c.name AS cityName
         FROM location l JOIN city c ON c.id = l.city_id
         WHERE l.id IN (?) ORDER BY l.id LOCK IN SHARE MODE`,
        [chunk.map((station) => station.believed.id)],
      );
      const byId = new Map(rows.map((row) => [row.id as number, row]));
      for (const { input, believed } of chunk) {
        const row = byId.get(believed.id);
        const city = cities.get(input.cityId);
        if (
          !row ||
          row.cityId !== input.cityId ||
          row.name !== input.name ||
          row.country !== city?.country ||
          row.cityName !== city?.name
        ) {
          throw new StaleRowsError(`station ${believed.id} is not ${JSON.stringify(input.name)}`);
        }
        if (!agreesWith(input, row as LocationRow)) {
          throw new StaleRowsError(`station ${believed.id} has other attributes`);
        }
        const { country: _country, cityName: _cityName, ...stored } = row;
        read.push(stored as LocationRow);
      }
    });
    shared = [];
  };
  for (const station of ordered) {
    const { input, believed } = station;
    const sendsNothing = ATTRIBUTES.every((field) => input[field] === null);
    if (updateAll ? sendsNothing : agreesWith(input, believed)) {
      shared.push(station);
      continue;
    }
    await lockShared();
    const city = cities.get(input.cityId);
    const [result] = await db.query<ResultSetHeader>(
      `/* updateLocation */
       UPDATE location l JOIN city c ON c.id = l.city_id
       SET l.latitude = COALESCE(?, l.latitude), l.longitude = COALESCE(?, l.longitude),
           l.source_name = COALESCE(?, l.source_name), l.source_type = COALESCE(?, l.source_type),
           l.licence = COALESCE(?, l.licence), l.attribution = COALESCE(?, l.attribution)
       WHERE l.id = ? AND l.city_id = ? AND l.name = ? AND c.country = ? AND c.name = ?`,
      [
        input.latitude,
        input.longitude,
        input.sourceName,
        input.sourceType,
        input.licence,
        input.attribution,
        believed.id,
        input.cityId,
        input.name,
        city?.country ?? null,
        city?.name ?? null,
      ],
    );
    // Without FOUND_ROWS, affectedRows counts changed rows only: the info says what matched.
    if (!/Rows matched:\s*1\b/.test(result.info ?? '')) {
      throw new StaleRowsError(`station ${believed.id} is not ${JSON.stringify(input.name)}`);
    }
  }
  await lockShared();
  return read;
}

export interface EnsuredLocations {
  /** Every station's id, by locationKey. */
  readonly ids: Map<string, number>;
  /**
   * The stations the batch did not change, as stored under its share locks: what another batch
   * may believe of them after this transaction commits (and only then).
   */
  readonly unchanged: readonly LocationRow[];
}

/**
 * The ids of the given stations, by locationKey: missing ones are inserted (without burning ids,
 * never deadlocking with a batch that creates the same ones: see findOrInsert), and existing ones
 * whose coordinates or source the batch changes are updated. One entry per station is expected
 * (the caller merges a batch's items); `cities` holds the (country, name) of each city id they
 * name. Stations in options.known are not looked up: the locks check them. Every station is locked until the transaction ends (see
 * lockLocations): call this before writing measurements. Throws StaleRowsError where what was
 * known or read before the locks is no longer true.
 */
export interface EnsureLocationsOptions {
  /** Stations of earlier batches, by locationKey: not looked up, the locks check them. */
  readonly known?: ReadonlyMap<string, LocationRow>;
  /**
   * Update every station the batch sends attributes of, whatever it believes of them: a batch
   * that keeps meeting stations changed under it (StaleRowsError) ends this way, each station
   * updated under its exclusive lock, with nothing left to believe.
   */
  readonly updateAll?: boolean;
}

export async function ensureLocations(
  db: Queryable,
  locations: readonly LocationInput[],
  cities: ReadonlyMap<number, CityKey>,
  options: EnsureLocationsOptions = {},
): Promise<EnsuredLocations> {
  const known = options.known ?? new Map<string, LocationRow>();
  const believed = new Map<string, LocationRow>();
  const unknown: LocationInput[] = [];
  for (const location of locations) {
    const row = known.get(locationKey(location));
    if (row) believed.set(locationKey(location), row);
    else unknown.push(location);
  }
  if (unknown.length > 0) {
    const found = await findOrInsert({
      items: unknown,
      keyOf: locationKey,
      compare: compareLocationKeys,
      find: (chunk, rows: Map<string, LocationRow>) => findLocations(db, chunk, rows),
      insert: (chunk) =>
        db.query(
          `/* insertLocations */
             INSERT IGNORE INTO location
               (city_id, name, latitude, longitude, source_name, source_type, licence, attribution)
             VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
          chunk.flatMap((l) => [
            l.cityId,
            l.name,
            l.latitude,
            l.longitude,
            l.sourceName,
            l.sourceType,
            l.licence,
            l.attribution,
          ]),
        ),
    });
    for (const location of unknown) {
      const row = found.get(locationKey(location));
      // INSERT IGNORE skips a row whose city id names no city (any more) with a warning only.
      if (!row) throw new StaleRowsError(`city ${location.cityId} of a new station does not exist`);
      believed.set(locationKey(location), row);
    }
  }
  const unchanged = await lockLocations(
    db,
    locations.flatMap((input) => {
      const row = believed.get(locationKey(input));
      return row ? [{ input, believed: row }] : [];
    }),
    cities,
    options.updateAll ?? false,
  );
  return { ids: new Map([...believed].map(([key, row]) => [key, row.id])), unchanged };
}

/** The stations of the given cities, by name. */
export async function listLocationsByCityIds(
  db: Queryable,
  cityIds: readonly number[],
): Promise<LocationRow[]> {
  if (cityIds.length === 0) return [];
  const [rows] = await db.query<RowDataPacket[]>(
    `/* listLocationsByCityIds */
     SELECT ${COLUMNS} FROM location WHERE city_id IN (?) ORDER BY city_id, name`,
    [cityIds],
  );
  return rows as LocationRow[];
}
