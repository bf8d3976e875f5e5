import DataLoader from 'dataloader';
import { type CityWindow, listCityHistory, listCurrentWindows } from './db/air-quality.js';
import { type City, findCitiesByIds } from './db/cities.js';
import { type LocationRow, listLocationsByCityIds } from './db/locations.js';
import type { Queryable } from './db/queryable.js';

/**
 * Per-request batching of every field that fans out over a list: however many cities a query
 * selects, each of these costs one SQL statement per request (per distinct range for history).
 */
export interface Loaders {
  readonly city: DataLoader<number, City | null>;
  /** A city's window in the current run; null when the city has no rows in it. */
  readonly currentWindow: DataLoader<number, CityWindow | null>;
  readonly locations: DataLoader<number, readonly LocationRow[]>;
  /** A city's windows from the runs with from ≤ evaluatedAt ≤ to, oldest first. */
  history(from: Date, to: Date): DataLoader<number, readonly CityWindow[]>;
}

function byKey<K, V, R>(
  keys: readonly K[],
  items: readonly V[],
  keyOf: (item: V) => K,
  reduce: (found: V[]) => R,
) {
  const groups = new Map<K, V[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return keys.map((key) => reduce(groups.get(key) ?? []));
}

export function createLoaders(db: Queryable): Loaders {
  const histories = new Map<string, DataLoader<number, readonly CityWindow[]>>();
  return {
    city: new DataLoader(async (ids) =>
      byKey(
        ids,
        await findCitiesByIds(db, ids),
        (c) => c.id,
        (found) => found[0] ?? null,
      ),
    ),
    currentWindow: new DataLoader(async (cityIds) =>
      byKey(
        cityIds,
        await listCurrentWindows(db, { cityIds }),
        (w) => w.cityId,
        (found) => found[0] ?? null,
      ),
    ),
    locations: new DataLoader(async (cityIds) =>
      byKey(
        cityIds,
        await listLocationsByCityIds(db, cityIds),
        (l) => l.cityId,
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
