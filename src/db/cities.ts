import type { RowDataPacket } from 'mysql2/promise';
import { findOrInsert } from './find-or-insert.js';
import type { Queryable } from './queryable.js';

export interface CityKey {
  readonly country: string;
  readonly name: string;
}

/** The map key of a city: (country, name), compared byte for byte like the binary collation. */
export function cityKey(city: CityKey): string {
  return `${city.country}\u0000${city.name}`;
}

/** Adds the ids of the cities of the chunk that exist to `ids`. */
async function findCityIds(db: Queryable, chunk: readonly CityKey[], ids: Map<string, number>) {
  const [rows] = await db.query<RowDataPacket[]>(
    `/* findCityIds */
     SELECT id, country, name FROM city
     WHERE (country, name) IN (${chunk.map(() => '(?, ?)').join(', ')})`,
    chunk.flatMap((city) => [city.country, city.name]),
  );
  for (const row of rows) ids.set(cityKey(row as CityKey), row.id as number);
}

/** The order of city_country_name (binary collation): country, then name, byte for byte. */
function compareCityKeys(a: CityKey, b: CityKey): number {
  return (
    Buffer.compare(Buffer.from(a.country), Buffer.from(b.country)) ||
    Buffer.compare(Buffer.from(a.name), Buffer.from(b.name))
  );
}

/**
 * The ids of the given cities, by cityKey, creating those that do not exist yet (without burning
 * ids, never deadlocking with a batch that creates the same ones: see findOrInsert). Cities in
 * `known` (a cache of ids that earlier batches committed, by cityKey) are not looked up: a city is
 * never changed once created, and the stations' locks (ensureLocations) check every city id of a
 * batch before a measurement is written under it.
 */
export async function ensureCities(
  db: Queryable,
  cities: readonly CityKey[],
  known: ReadonlyMap<string, number> = new Map(),
): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  const unknown: CityKey[] = [];
  for (const city of cities) {
    const id = known.get(cityKey(city));
    if (id === undefined) unknown.push(city);
    else ids.set(cityKey(city), id);
  }
  if (unknown.length === 0) return ids;
  const found = await findOrInsert({
    items: unknown,
    keyOf: cityKey,
    compare: compareCityKeys,
    find: (chunk, rows: Map<string, number>) => findCityIds(db, chunk, rows),
    insert: (chunk) =>
      db.query(
        `/* insertCities */
         INSERT IGNORE INTO city (country, name) VALUES ${chunk.map(() => '(?, ?)').join(', ')}`,
        chunk.flatMap((city) => [city.country, city.name]),
      ),
  });
  for (const [key, id] of found) ids.set(key, id);
  return ids;
}

/** A city with the mean position of its stations (null where none has coordinates). */
export interface City {
  readonly id: number;
  readonly country: string;
  readonly name: string;
  readonly latitude: number | null;
  readonly longitude: number | null;
}

// Grouped by every column of city below, not by its id alone: MariaDB does not infer that they
// depend on the id, and a server in ONLY_FULL_GROUP_BY mode would refuse the query.
const CITY_SELECT = `
  SELECT c.id, c.country, c.name, AVG(l.latitude) AS latitude, AVG(l.longitude) AS longitude
  FROM city c LEFT JOIN location l ON l.city_id = c.id`;

/** Every city, or those of one country, by country and name. */
export async function listCities(
  db: Queryable,
  args: { country?: string | null },
): Promise<City[]> {
  const [rows] = await db.query<RowDataPacket[]>(
    `/* listCities */ ${CITY_SELECT}
     WHERE ? IS NULL OR c.country = ?
     GROUP BY c.id, c.country, c.name ORDER BY c.country, c.name`,
    [args.country ?? null, args.country ?? null],
  );
  return rows as City[];
}

export async function findCity(
  db: Queryable,
  args: { country: string; name: string },
): Promise<City | null> {
  const [rows] = await db.query<RowDataPacket[]>(
    `/* findCity */ ${CITY_SELECT}
     WHERE c.country = ? AND c.name = ? GROUP BY c.id, c.country, c.name`,
    [args.country, args.name],
  );
  return (rows[0] as City | undefined) ?? null;
}

export async function findCitiesByIds(db: Queryable, ids: readonly number[]): Promise<City[]> {
  if (ids.length === 0) return [];
  const [rows] = await db.query<RowDataPacket[]>(
    `/* findCitiesByIds */ ${CITY_SELECT}
     WHERE c.id IN (?) GROUP BY c.id, c.country, c.name`,
    [ids],
  );
  return rows as City[];
}
