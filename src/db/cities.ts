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

/**
 * The ids of the given cities, creating those that do not exist yet. Existing cities are looked
 * up first and only the missing ones are inserted, so that no auto-increment id is burnt by a
 * city that already exists.
 */
export async function ensureCities(
  db: Queryable,
  cities: readonly CityKey[],
): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  await findCityIds(db, cities, ids);
  const missing = cities.filter((city) => !ids.has(cityKey(city)));
  if (missing.length > 0) {
    for (let i = 0; i < missing.length; i += CHUNK) {
      const chunk = missing.slice(i, i + CHUNK);
      // IGNORE: another batch may create the same city at the same moment.
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
