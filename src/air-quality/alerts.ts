import type { CityWindow } from '../db/air-quality.js';
import type { AirQualityRun } from '../db/runs.js';
import { type RunWindows, selectWindows, type WindowFilter } from './run-windows.js';

/** The lowest and highest BelAQI levels. */
export const BELAQI_MIN = 1;
export const BELAQI_MAX = 10;

/**
 * A city's BelAQI on one side of a threshold: it reached it from below (rising), or fell back
 * below it. The first alerts of a subscription are the current state instead: every city at or
 * above the threshold, rising.
 */
export interface AirQualityAlert {
  /** The city's window in the run. */
  readonly window: CityWindow;
  readonly run: AirQualityRun;
  /** The city's BelAQI as last known before the run; null when none was. */
  readonly previous: number | null;
  readonly current: number;
  /** At or above the threshold now (it reached it), or below it (it fell back). */
  readonly rising: boolean;
}

export interface AlertFilter extends WindowFilter {
  /** The threshold, a BelAQI level. */
  readonly atLeast: number;
}

type Kind = 'state' | 'crossings';

/**
 * The alerts of one run for one filter, computed once: every subscriber with that filter gets the
 * very same objects, which is what lets them share one execution per alert (see
 * plugins/use-shared-execution.ts), as the windows themselves do.
 */
const computed = new WeakMap<RunWindows, Map<string, readonly AirQualityAlert[]>>();

function filterKey(kind: Kind, filter: AlertFilter): string {
  const names = filter.cityNames ? [...new Set(filter.cityNames)].sort() : null;
  return JSON.stringify([kind, names, filter.country, filter.atLeast]);
}

function alertOf(event: RunWindows, window: CityWindow, rising: boolean): AirQualityAlert {
  return {
    window,
    run: event.run,
    previous: event.levelsBefore.get(window.cityId) ?? null,
    current: window.belaqi as number,
    rising,
  };
}

function compute(kind: Kind, event: RunWindows, filter: AlertFilter): AirQualityAlert[] {
  const { atLeast } = filter;
  const alerts: AirQualityAlert[] = [];
  for (const window of selectWindows(filter)(event)) {
    const current = window.belaqi;
    // No BelAQI in this run: nothing is known to have changed, the last level stands.
    if (current === null) continue;
    const previous = event.levelsBefore.get(window.cityId) ?? null;
    if (kind === 'state') {
      if (current >= atLeast) alerts.push(alertOf(event, window, true));
    } else if (current >= atLeast && (previous === null || previous < atLeast)) {
      alerts.push(alertOf(event, window, true));
    } else if (current < atLeast && previous !== null && previous >= atLeast) {
      alerts.push(alertOf(event, window, false));
    }
  }
  return alerts;
}

function alertsOf(kind: Kind, event: RunWindows, filter: AlertFilter): readonly AirQualityAlert[] {
  let byFilter = computed.get(event);
  if (!byFilter) {
    byFilter = new Map();
    computed.set(event, byFilter);
  }
  const key = filterKey(kind, filter);
  let alerts = byFilter.get(key);
  if (!alerts) {
    alerts = compute(kind, event, filter);
    byFilter.set(key, alerts);
  }
  return alerts;
}

/** Every city of the run at or above the threshold (rising), by country and name. */
export function alertState(event: RunWindows, filter: AlertFilter): readonly AirQualityAlert[] {
  return alertsOf('state', event, filter);
}

/**
 * The cities whose BelAQI crossed the threshold with this run, by country and name: those at or
 * above it whose level before was below it or unknown (rising), and those below it whose level
 * before was at or above it (falling back). A city with no BelAQI in the run keeps its last level.
 */
export function alertCrossings(event: RunWindows, filter: AlertFilter): readonly AirQualityAlert[] {
  return alertsOf('crossings', event, filter);
}

/**
 * What one subscription picks from each event the poller hands it: the current state from the
 * first (the current run when it subscribed), then the crossings of each new run. The poller
 * calls it once per event and subscriber, in order, so the function is that subscriber's own.
 */
export function selectAlerts(
  filter: AlertFilter,
): (event: RunWindows) => readonly AirQualityAlert[] {
  let first = true;
  return (event) => {
    if (first) {
      first = false;
      return alertState(event, filter);
    }
    return alertCrossings(event, filter);
  };
}
