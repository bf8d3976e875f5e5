import { type CityKey, cityKey } from '../db/cities.js';
import { type LocationInput, locationKey } from '../db/locations.js';
import type { MeasurementRow } from '../db/measurements.js';
import type { ValidMeasurement } from './validate-measurement.js';

/** What a batch of valid measurements names: its cities and stations, once each. */

/** The cities of a batch, once each, by cityKey. */
export function citiesOf(valid: readonly ValidMeasurement[]): Map<string, CityKey> {
  const cities = new Map<string, CityKey>();
  for (const m of valid) {
    const key = cityKey({ country: m.country, name: m.city });
    if (!cities.has(key)) cities.set(key, { country: m.country, name: m.city });
  }
  return cities;
}

/** The stations of a batch, once each, and the station of each item, by locationKey. */
export interface StationPlan {
  readonly stations: Map<string, LocationInput>;
  readonly keyOfItem: readonly string[];
  /** The latest instant of each station in the batch. */
  readonly latest: Map<string, number>;
}

/** One entry per station; attributes sent later in the batch win, and a null never erases. */
export function planStations(
  valid: readonly ValidMeasurement[],
  cityIds: ReadonlyMap<string, number>,
): StationPlan {
  const stations = new Map<string, LocationInput>();
  const keyOfItem: string[] = [];
  const latest = new Map<string, number>();
  for (const m of valid) {
    const cityId = cityIds.get(cityKey({ country: m.country, name: m.city })) as number;
    const key = locationKey({ cityId, name: m.location });
    keyOfItem.push(key);
    const time = m.measuredAt.getTime();
    if (!(time <= (latest.get(key) ?? Number.NEGATIVE_INFINITY))) latest.set(key, time);
    const before = stations.get(key);
    if (
      before &&
      m.latitude === null &&
      m.longitude === null &&
      m.sourceName === null &&
      m.sourceType === null &&
      m.licence === null &&
      m.attribution === null
    ) {
      continue;
    }
    stations.set(key, {
      cityId,
      name: m.location,
      latitude: m.latitude ?? before?.latitude ?? null,
      longitude: m.longitude ?? before?.longitude ?? null,
      sourceName: m.sourceName ?? before?.sourceName ?? null,
      sourceType: m.sourceType ?? before?.sourceType ?? null,
      licence: m.licence ?? before?.licence ?? null,
      attribution: m.attribution ?? before?.attribution ?? null,
    });
  }
  return { stations, keyOfItem, latest };
}

export function measurementRows(
  valid: readonly ValidMeasurement[],
  plan: StationPlan,
  locationIds: ReadonlyMap<string, number>,
): MeasurementRow[] {
  return valid.map((m, i) => ({
    locationId: locationIds.get(plan.keyOfItem[i] as string) as number,
    pollutant: m.pollutant,
    measuredAt: m.measuredAt,
    originalValue: m.value,
    originalUnit: m.unit,
  }));
}
