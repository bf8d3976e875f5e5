import type { RowDataPacket } from 'mysql2/promise';
import type { Queryable } from './queryable.js';

/** A station as a batch describes it. Null attributes mean "not sent", never "erase". */
export interface LocationInput {
  readonly cityId: number;
  readonly name: string;
  readonly latitude: number | null;
  readonly longitude: number | null;
  readonly sourceName: string | null;
  readonly sourceType: string | null;
}

export interface LocationRow extends LocationInput {
  readonly id: number;
}

/** The map key of a station: (city, name). */
export function locationKey(location: { cityId: number; name: string }): string {
  return `${location.cityId}\u0000${location.name}`;
}

const CHUNK = 500;
const COLUMNS = `id, city_id AS cityId, name, latitude, longitude,
                 source_name AS sourceName, source_type AS sourceType`;

async function findLocations(
  db: Queryable,
  locations: readonly LocationInput[],
  found: Map<string, LocationRow>,
) {
  for (let i = 0; i < locations.length; i += CHUNK) {
    const chunk = locations.slice(i, i + CHUNK);
    const [rows] = await db.query<RowDataPacket[]>(
      `/* findLocations */
       SELECT ${COLUMNS} FROM location
       WHERE (city_id, name) IN (${chunk.map(() => '(?, ?)').join(', ')})`,
      chunk.flatMap((location) => [location.cityId, location.name]),
    );
    for (const row of rows) found.set(locationKey(row as LocationRow), row as LocationRow);
  }
}

const ATTRIBUTES = ['latitude', 'longitude', 'sourceName', 'sourceType'] as const;

/**
 * The ids of the given stations: missing ones are inserted (looked up first, so that no
 * auto-increment id is burnt), and existing ones whose coordinates or source the batch changes are
 * updated. One entry per station is expected (the caller merges a batch's items).
 */
export async function ensureLocations(
  db: Queryable,
  locations: readonly LocationInput[],
): Promise<Map<string, number>> {
  const found = new Map<string, LocationRow>();
  await findLocations(db, locations, found);

  const missing = locations.filter((location) => !found.has(locationKey(location)));
  for (let i = 0; i < missing.length; i += CHUNK) {
    const chunk = missing.slice(i, i + CHUNK);
    // IGNORE: another batch may create the same station at the same moment.
    await db.query(
      `/* insertLocations */
       INSERT IGNORE INTO location (city_id, name, latitude, longitude, source_name, source_type)
       VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?)').join(', ')}`,
      chunk.flatMap((l) => [l.cityId, l.name, l.latitude, l.longitude, l.sourceName, l.sourceType]),
    );
  }
  if (missing.length > 0) await findLocations(db, missing, found);

  for (const location of locations) {
    const stored = found.get(locationKey(location));
    if (
      stored &&
      ATTRIBUTES.some((field) => location[field] !== null && location[field] !== stored[field])
    ) {
      await db.query(
        `/* updateLocation */
         UPDATE location
         SET latitude = COALESCE(?, latitude), longitude = COALESCE(?, longitude),
             source_name = COALESCE(?, source_name), source_type = COALESCE(?, source_type)
         WHERE id = ?`,
        [
          location.latitude,
          location.longitude,
          location.sourceName,
          location.sourceType,
          stored.id,
        ],
      );
    }
  }
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
