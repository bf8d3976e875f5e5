import DataLoader from 'dataloader';
import { selectWindows } from '../air-quality/run-windows.js';
import { type CityWindow, listCityHistory, listCurrentWindows } from '../db/air-quality.js';
import { type City, findCitiesByIds, findCity } from '../db/cities.js';
import { type CityNames, cachedCityDirectory } from '../db/city-directory.js';
import { type LatestMeasurement, listLatestMeasurements } from '../db/latest-measurements.js';
import { type LocationRow, listLocationsByCityIds } from '../db/locations.js';
import type { Queryable } from '../db/queryable.js';
import type { Poller } from '../poller/poller.js';
import { groupBy } from '../util/group-by.js';

/**
 * Per-request batching of every field that fans out over a list: however many cities a query
 * selects, each of these costs one SQL statement per request (per distinct range for history).
 *
 * The current windows come from the poller's snapshot of the current run, which costs no SQL
 * while it is fresh (see Poller.read); they are read from MariaDB only when the poller
 * cannot vouch for its snapshot. One request reads the snapshot once, so that all its fields
 * answer from the same run.
 */
export interface Loaders {
  readonly city: DataLoader<number, City | null>;
  /**
   * The one way a city name given as an argument becomes a city: any of its names (Dutch, French,
   * German, English, a former municipality, a Brussels commune) means the city stored under its
   * official name. The city its name is an alias of comes first; a city stored under the very
   * name given is found too.
   */
  cityByName(name: string, country: string): Promise<City | null>;
  /** The stored names the given names may stand for, in a country or (null) in any. */
  cityNames(names: readonly string[], country: string | null): Promise<readonly string[]>;
  /** A city's names in each language; all four are its stored name where no row names it. */
  cityNamesOf(city: Pick<City, 'country' | 'name'>): Promise<CityNames>;
  /** A city's window in the current run; null when the city has no rows in it. */
  readonly currentWindow: DataLoader<number, CityWindow | null>;
  /**
   * The current windows of the given city names (all when null) of a country (any when null),
   * by country and city name.
   */
  currentWindows(filter: {
    readonly cityNames: readonly string[] | null;
    readonly country: string | null;
  }): Promise<readonly CityWindow[]>;
  readonly locations: DataLoader<number, readonly LocationRow[]>;
  /** A station's latest measurement per pollutant, by pollutant code. */
  readonly latest: DataLoader<number, readonly LatestMeasurement[]>;
  /** A city's windows from the runs with from ≤ evaluatedAt ≤ to, oldest first. */
  history(from: Date, to: Date): DataLoader<number, readonly CityWindow[]>;
}

/** For each key, in the order DataLoader asks, what the items hold for it. */
function byKey<K, V, R>(
  keys: readonly K[],
  items: readonly V[],
  keyOf: (item: V) => K,
  reduce: (found: V[]) => R,
) {
  const groups = groupBy(items, keyOf);
  return keys.map((key) => reduce(groups.get(key) ?? []));
}

/** The part of the poller the loaders use. */
export type CurrentWindowSource = Pick<Poller, 'read' | 'wake'>;

export function createLoaders(db: Queryable, poller: CurrentWindowSource): Loaders {
  const histories = new Map<string, DataLoader<number, readonly CityWindow[]>>();
  let snapshot: ReturnType<CurrentWindowSource['read']> | undefined;
  const readSnapshot = () => {
    snapshot ??= poller.read();
    return snapshot;
  };
  /** Reads MariaDB in place of the poller; an answer is news the poller may be waiting for. */
  const fromDatabase = async <T>(read: () => Promise<T>): Promise<T> => {
    const value = await read();
    poller.wake();
    return value;
  };
  return {
    async cityByName(name, country) {
      const directory = await cachedCityDirectory(db);
      for (const candidate of directory.candidateNames(name, country)) {
        const city = await findCity(db, { country, name: candidate });
        if (city) return city;
      }
      return null;
    },
    async cityNames(names, country) {
      const directory = await cachedCityDirectory(db);
      return [...new Set(names.flatMap((name) => directory.candidateNames(name, country)))];
    },
    async cityNamesOf(city) {
      const directory = await cachedCityDirectory(db);
      const { name } = city;
      return directory.namesOf(city.country, name) ?? { nl: name, fr: name, de: name, en: name };
    },
    city: new DataLoader(async (ids) =>
      byKey(
        ids,
        await findCitiesByIds(db, ids),
        (c) => c.id,
        (found) => found[0] ?? null,
      ),
    ),
    currentWindow: new DataLoader(async (cityIds) => {
      const current = await readSnapshot();
      if (current) return cityIds.map((id) => current.event?.byCityId.get(id) ?? null);
      return byKey(
        cityIds,
        await fromDatabase(() => listCurrentWindows(db, { cityIds })),
        (w) => w.cityId,
        (found) => found[0] ?? null,
      );
    }),
    async currentWindows(filter) {
      const current = await readSnapshot();
      if (current) return current.event ? selectWindows(filter)(current.event) : [];
      return fromDatabase(() => listCurrentWindows(db, filter));
    },
    locations: new DataLoader(async (cityIds) =>
      byKey(
        cityIds,
        await listLocationsByCityIds(db, cityIds),
        (l) => l.cityId,
        (found) => found,
      ),
    ),
    latest: new DataLoader(async (locationIds) =>
      byKey(
        locationIds,
        await listLatestMeasurements(db, locationIds),
        (m) => m.locationId,
        (found) => found,
      ),
    ),
    history(from, to) {
      const range = `${from.toISOString()}/${to.toISOString()}`;
      let loader = histories.get(range);
      if (!loader) {
        loader = new DataLoader(async (cityIds) =>
          byKey(
            cityIds,
            await listCityHistory(db, { cityIds, from, to }),
            (w) => w.cityId,
            (f) => f,
          ),
        );
        histories.set(range, loader);
      }
      return loader;
    },
  };
}
