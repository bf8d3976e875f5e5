/** The shapes the page's operations select (see api.ts). */
export interface LatestMeasurement {
  readonly parameter: string;
  readonly value: number;
  readonly unit: string;
  readonly measuredAt: string;
}

export interface Station {
  readonly name: string;
  readonly latitude: number | null;
  readonly longitude: number | null;
  readonly sourceName: string | null;
  /** The licence of its data (CC BY 4.0 for IRCEL-CELINE); null where none came with it. */
  readonly licence: string | null;
  /** Whom to credit: a name, then a link, after a comma ("IRCEL-CELINE, https://…"). */
  readonly attribution: string | null;
  readonly latest: readonly LatestMeasurement[];
}

export interface CityNames {
  readonly nl: string;
  readonly fr: string;
  readonly de: string;
  readonly en: string;
}

export interface City {
  readonly name: string;
  readonly names: CityNames;
  readonly country: string;
  readonly latitude: number | null;
  readonly longitude: number | null;
  readonly locations: readonly Station[];
}

export interface PollutantWindow {
  readonly parameter: string;
  readonly unit: string;
  readonly average: number;
  readonly min: number;
  readonly max: number;
  readonly count: number;
  readonly locations: number;
  readonly latestMeasuredAt: string;
  readonly belaqi: number | null;
  readonly eaqi: string | null;
}

export interface CityWindow {
  readonly city: City;
  readonly run: { readonly id: string; readonly evaluatedAt: string };
  readonly windowStart: string;
  readonly windowEnd: string;
  readonly belaqi: number | null;
  readonly eaqi: string | null;
  readonly pollutants: readonly PollutantWindow[];
}

export interface HistoryPoint {
  readonly windowEnd: string;
  readonly belaqi: number | null;
}

export interface Alert {
  readonly city: { readonly name: string; readonly names: CityNames; readonly country: string };
  readonly run: { readonly id: string; readonly evaluatedAt: string };
  readonly previous: number | null;
  readonly current: number;
  readonly rising: boolean;
}

/** A city's key on the page: the API identifies cities by (country, name). */
export function cityKey(city: { readonly country: string; readonly name: string }): string {
  return `${city.country}/${city.name}`;
}
