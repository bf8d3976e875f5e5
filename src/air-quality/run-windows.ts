import type { CityWindow } from '../db/air-quality.js';
import type { AirQualityRun } from '../db/runs.js';
import { groupBy } from '../util/group-by.js';

/**
 * One run's windows, indexed for the ways subscriptions and queries pick them. The poller builds
 * one per new current run and hands the very same object to every stream, which is what lets
 * subscribers share one execution per run (see plugins/use-shared-execution.ts).
 */
export interface RunWindows {
  readonly run: AirQualityRun;
  /** By country, then city name. */
  readonly windows: readonly CityWindow[];
  /** Windows by city name (a name may exist in several countries), in the order of windows. */
  readonly byName: ReadonlyMap<string, readonly CityWindow[]>;
  readonly byCountry: ReadonlyMap<string, readonly CityWindow[]>;
  /** Each window's index in windows. */
  readonly position: ReadonlyMap<CityWindow, number>;
  readonly byCityId: ReadonlyMap<number, CityWindow>;
  /**
   * Each city's BelAQI as last known before this run: from the run the poller held before it
   * (its predecessor), carried over the runs where the city had none (no window, or only
   * pollutants without a BelAQI table). What alerts compare a run with (see alerts.ts).
   */
  readonly levelsBefore: ReadonlyMap<number, number>;
  /** The same, this run included. */
  readonly levels: ReadonlyMap<number, number>;
}

/**
 * The windows of a run (by country, then city name) with their indexes; predecessor is the run
 * held before it, whose levels it carries on. Only the levels are kept of the predecessor, so
 * that runs never hold on to each other.
 */
export function indexRunWindows(
  run: AirQualityRun,
  windows: readonly CityWindow[],
  predecessor: Pick<RunWindows, 'levels'> | null = null,
): RunWindows {
  const levelsBefore = predecessor?.levels ?? new Map<number, number>();
  const levels = new Map(levelsBefore);
  for (const window of windows)
    if (window.belaqi !== null) levels.set(window.cityId, window.belaqi);
  return {
    run,
    windows,
    byName: groupBy(windows, (w) => w.city?.name ?? ''),
    byCountry: groupBy(windows, (w) => w.city?.country ?? ''),
    position: new Map(windows.map((window, index) => [window, index])),
    byCityId: new Map(windows.map((window) => [window.cityId, window])),
    levelsBefore,
    levels,
  };
}

/** Which windows a query or subscription asks for. */
export interface WindowFilter {
  /** City names; null: every city. */
  readonly cityNames: readonly string[] | null;
  /** A country code; null: any country. */
  readonly country: string | null;
}

/** Windows of the given cities (all when null) of a country (any when null), by country and name. */
export function selectWindows(filter: WindowFilter): (event: RunWindows) => readonly CityWindow[] {
  const { country } = filter;
  const names = filter.cityNames ? [...new Set(filter.cityNames)] : null;
  return (event) => {
    if (!names) return country ? (event.byCountry.get(country) ?? []) : event.windows;
    const found: CityWindow[] = [];
    for (const name of names) {
      for (const window of event.byName.get(name) ?? []) {
        if (!country || window.city?.country === country) found.push(window);
      }
    }
    if (found.length > 1) {
      found.sort((a, b) => (event.position.get(a) ?? 0) - (event.position.get(b) ?? 0));
    }
    return found;
  };
}
