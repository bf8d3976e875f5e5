import type { RowDataPacket } from 'mysql2/promise';
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

/**
 * Locks the given stations in id order: the exclusive lock of an UPDATE where the batch changes a
 * station's coordinates or source, a share lock on the others.
 *
 * The measurements' foreign-key checks take a share lock on their station anyway, one station at a
 * time in between the measurement rows they insert. Taken that late, an attribute update (before
 * the measurements) deadlocks with another batch that holds measurement rows this one needs and
 * waits for the updated station. Taken here, in one order by every batch before any measurement
 * row, stations are locked first, then measurements, each in one order: batches wait for each
 * other, never in a circle.
 */
async function lockLocations(
  db: Queryable,
  stations: readonly { input: LocationInput; stored: LocationRow }[],
) {
  const ordered = [...stations].sort((a, b) => a.stored.id - b.stored.id);
  let shared: number[] = [];
  const lockShared = async () => {
    await forEachChunk(shared, (chunk) =>
      db.query(
        `/* lockLocations */
         SELECT id FROM location WHERE id IN (?) ORDER BY id LOCK IN SHARE MODE`,
        [chunk],
      ),
    );
    shared = [];
  };
  for (const { input, stored } of ordered) {
    if (ATTRIBUTES.some((field) => input[field] !== null && input[field] !== stored[field])) {
      await lockShared();
      await db.query(
        `/* updateLocation */
         UPDATE location
         SET latitude = COALESCE(?, latitude), longitude = COALESCE(?, longitude),
             source_name = COALESCE(?, source_name), source_type = COALESCE(?, source_type),
             licence = COALESCE(?, licence), attribution = COALESCE(?, attribution)
         WHERE id = ?`,
        [
          input.latitude,
          input.longitude,
          input.sourceName,
          input.sourceType,
          input.licence,
          input.attribution,
          stored.id,
        ],
      );
    } else {
      shared.push(stored.id);
    }
  }
  await lockShared();
}

/**
 * The ids of the given stations, by locationKey: missing ones are inserted (without burning ids,
 * never deadlocking with a batch that creates the same ones: see findOrInsert), and existing ones
 * whose coordinates or source the batch changes are updated. One entry per station is expected
 * (the caller merges a batch's items). Every station is locked until the transaction ends (see
 * lockLocations): call this before writing measurements.
 */
export async function ensureLocations(
  db: Queryable,
  locations: readonly LocationInput[],
): Promise<Map<string, number>> {
  const found = await findOrInsert({
    items: locations,
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
  await lockLocations(
    db,
    locations.flatMap((input) => {
      const stored = found.get(locationKey(input));
      return stored ? [{ input, stored }] : [];
    }),
  );
  return new Map([...found].map(([key, row]) => [key, row.id]));
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
