import type { RowDataPacket } from 'mysql2/promise';
import type { Queryable } from './queryable.js';

/** A city's names in the national languages and English (sql/082-city-names.sql). */
export interface CityNames {
  readonly nl: string;
  readonly fr: string;
  readonly de: string;
  readonly en: string;
}

/**
 * What the reference tables city_name, city_alias and station_city say about names: which city a
 * name means, which city a station is in, and what a city is called in each language. Ingestion
 * stores measurements by it and every GraphQL argument that takes a city name resolves through
 * it, so that both agree on what "the same city" is.
 */
export interface CityDirectory {
  /** The name a city is stored under: the city the name is an alias of, else the name itself. */
  canonicalName(country: string, name: string): string;
  /**
   * The stored names a name may stand for, in one country or (null) in any: the cities it is an
   * alias of, then the name itself (a city stored under that very name before it became an alias
   * is still found).
   */
  candidateNames(name: string, country: string | null): readonly string[];
  /** The municipality of a station, by its national (42R803) or European (BETR803) code. */
  stationCity(country: string, code: string): string | undefined;
  /** The city's names; undefined for a city the table does not know. */
  namesOf(country: string, city: string): CityNames | undefined;
}

const key = (country: string, name: string) => `${country}\u0000${name}`;

interface DirectoryRows {
  readonly names: readonly (CityNames & { country: string; city: string })[];
  readonly aliases: readonly { country: string; alias: string; city: string }[];
  readonly stations: readonly { country: string; code: string; city: string }[];
}

/** The directory of the given rows (what cityDirectory reads). */
export function buildCityDirectory(rows: DirectoryRows): CityDirectory {
  const names = new Map(rows.names.map((row) => [key(row.country, row.city), row]));
  const aliases = new Map(rows.aliases.map((row) => [key(row.country, row.alias), row.city]));
  const byAlias = new Map<string, { country: string; city: string }[]>();
  for (const row of rows.aliases) {
    const found = byAlias.get(row.alias) ?? [];
    found.push({ country: row.country, city: row.city });
    byAlias.set(row.alias, found);
  }
  const stations = new Map(rows.stations.map((row) => [key(row.country, row.code), row.city]));
  return {
    canonicalName: (country, name) => aliases.get(key(country, name)) ?? name,
    candidateNames(name, country) {
      const cities = (byAlias.get(name) ?? [])
        .filter((alias) => country === null || alias.country === country)
        .map((alias) => alias.city);
      return [...new Set([...cities, name])];
    },
    stationCity: (country, code) => stations.get(key(country, code)),
    namesOf(country, city) {
      const row = names.get(key(country, city));
      return row && { nl: row.nl, fr: row.fr, de: row.de, en: row.en };
    },
  };
}

/** Reads the three tables. */
export async function readCityDirectory(db: Queryable): Promise<CityDirectory> {
  const [names] = await db.query<RowDataPacket[]>(
    `/* listCityNames */ SELECT country, city, nl, fr, de, en FROM city_name`,
  );
  const [aliases] = await db.query<RowDataPacket[]>(
    `/* listCityAliases */ SELECT country, alias, city FROM city_alias`,
  );
  const [stations] = await db.query<RowDataPacket[]>(
    `/* listStationCities */ SELECT country, code, city FROM station_city`,
  );
  return buildCityDirectory({
    names: names as unknown as DirectoryRows['names'],
    aliases: aliases as unknown as DirectoryRows['aliases'],
    stations: stations as unknown as DirectoryRows['stations'],
  });
}

const cache = new WeakMap<object, Promise<CityDirectory>>();

/**
 * The directory, read once per pool: like the pollutants, it is reference data that changes only
 * with sql/, i.e. with a new release and a restart (an operator who edits the tables by hand
 * restarts the API to see the change). It is kept by the mysql2 pool underneath the promise
 * wrapper, so that wrappers of one pool (a proxy that counts statements, say) share one read.
 */
export function cachedCityDirectory(db: Queryable): Promise<CityDirectory> {
  const owner = (db as { pool?: object }).pool ?? db;
  let directory = cache.get(owner);
  if (!directory) {
    directory = readCityDirectory(db);
    // A failed read (database down) is not cached: the next call tries again.
    directory.catch(() => cache.delete(owner));
    cache.set(owner, directory);
  }
  return directory;
}

/**
 * Reads the tables again, for what follows a change made by hand without a restart (a tool, a
 * test): the next cachedCityDirectory answers from the new read. Ingestion keeps city ids by the
 * name a city is stored under, after the directory has resolved the name sent, so a name that has
 * become an alias is stored under its city from then on.
 */
export function rereadCityDirectory(db: Queryable): Promise<CityDirectory> {
  cache.delete((db as { pool?: object }).pool ?? db);
  return cachedCityDirectory(db);
}
