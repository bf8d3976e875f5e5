import type { RowDataPacket } from 'mysql2/promise';
import type { Queryable } from './queryable.js';

export interface CityKey {
  readonly country: string;
  readonly name: string;
}

/** The map key of a city: (country, name), compared byte for byte like the binary collation. */
export function cityKey(city: CityKey): string {
  return `${city.country}\u0000${city.name}`;
}

const CHUNK = 500;

async function findCityIds(db: Queryable, cities: readonly CityKey[], ids: Map<string, number>) {
  for (let i = 0; i < cities.length; i += CHUNK) {
    const chunk = cities.slice(i, i + CHUNK);
    const [rows] = await db.query<RowDataPacket[]>(
      `/* findCityIds */
       SELECT id, country, name FROM city
       WHERE (country, name) IN (${chunk.map(() => '(?, ?)').join(', ')})`,
      chunk.flatMap((city) => [city.country, city.name]),
    );
    for (const row of rows) ids.set(cityKey(row as CityKey), row.id as number);
  }
}

/** The order of city_country_name (binary collation): country, then name, byte for byte. */
function compareCityKeys(a: CityKey, b: CityKey): number {
  return (
    Buffer.compare(Buffer.from(a.country), Buffer.from(b.country)) ||
    Buffer.compare(Buffer.from(a.name), Buffer.from(b.name))
  );
}

/**
 * The ids of the given cities, creating those that do not exist yet. Existing cities are looked
 * up first and only the missing ones are inserted, so that no auto-increment id is burnt by a
 * city that already exists.
 *
 * Two batches may create the same new cities at the same moment: the second one's INSERT IGNORE
 * waits for the first to commit, then skips them. The missing cities are inserted in index order,
 * so that such batches wait for each other in one direction and never deadlock.
 */
export async function ensureCities(
  db: Queryable,
  cities: readonly CityKey[],
): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  await findCityIds(db, cities, ids);
  const missing = cities.filter((city) => !ids.has(cityKey(city))).sort(compareCityKeys);
  if (missing.length > 0) {
    for (let i = 0; i < missing.length; i += CHUNK) {
      const chunk = missing.slice(i, i + CHUNK);
      await db.query(
        `/* insertCities */
         INSERT IGNORE INTO city (country, name) VALUES ${chunk.map(() => '(?, ?)').join(', ')}`,
        chunk.flatMap((city) => [city.country, city.name]),
      );
    }
    await findCityIds(db, missing, ids);
  }
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
