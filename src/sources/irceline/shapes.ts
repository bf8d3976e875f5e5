import type { UpstreamValue } from '../feed/poll.js';

/**
 * The shapes of IRCEL-CELINE's timeseries API (the 52°North Timeseries API, v1) that the feed
 * reads, checked as they come: a wrong shape is a malformed answer, reported and skipped.
 *
 *   GET /phenomena                    [{ id, label }]
 *   GET /timeseries?expanded=true&force_latest_values=true&phenomenon={id}
 *                                     [{ id, uom, station: { properties: { id, label },
 *                                        geometry: { coordinates: [lon, lat, "NaN"] } },
 *                                        lastValue: { timestamp, value } }]
 *   POST /timeseries/getData {timeseries: [ids], timespan}
 *                                     { "<id>": { values: [{ timestamp, value }] } }
 *   GET /timeseries/{id}/getData?timespan=...
 *                                     { values: [{ timestamp, value }] }
 *
 * Timestamps are epoch milliseconds (UTC).
 */

export type Parsed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly problem: string };

export interface Phenomenon {
  readonly id: string;
  readonly label: string;
}

export interface TimeseriesEntry {
  readonly id: string;
  readonly uom: unknown;
  readonly station: { readonly id: string; readonly label: string };
  readonly longitude: unknown;
  readonly latitude: unknown;
  readonly lastValue: UpstreamValue | null;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** An id as the API writes them: a string, sometimes a number. */
function idOf(value: unknown): string | null {
  if (typeof value === 'string' && value.trim() !== '') return value.trim();
  if (typeof value === 'number' && Number.isInteger(value)) return String(value);
  return null;
}

export function parsePhenomena(body: unknown): Parsed<Phenomenon[]> {
  if (!Array.isArray(body)) return { ok: false, problem: 'the phenomena are not a list' };
  const phenomena: Phenomenon[] = [];
  for (const entry of body) {
    const id = isObject(entry) ? idOf(entry.id) : null;
    if (id !== null && isObject(entry) && typeof entry.label === 'string') {
      phenomena.push({ id, label: entry.label });
    }
  }
  return { ok: true, value: phenomena };
}

function upstreamValue(entry: unknown): UpstreamValue | null {
  if (
    !isObject(entry) ||
    typeof entry.timestamp !== 'number' ||
    !Number.isFinite(entry.timestamp)
  ) {
    return null;
  }
  return { time: entry.timestamp, value: entry.value ?? null };
}

/**
 * The series of a timeseries listing; entries without an id or a station label are counted in
 * `broken` (the rest of the listing stands).
 */
export function parseTimeseries(
  body: unknown,
): Parsed<{ entries: TimeseriesEntry[]; broken: number }> {
  if (!Array.isArray(body)) return { ok: false, problem: 'the timeseries are not a list' };
  const entries: TimeseriesEntry[] = [];
  let broken = 0;
  for (const entry of body) {
    const id = isObject(entry) ? idOf(entry.id) : null;
    const station = isObject(entry) && isObject(entry.station) ? entry.station : null;
    const properties = station && isObject(station.properties) ? station.properties : null;
    const label = properties && typeof properties.label === 'string' ? properties.label.trim() : '';
    if (id === null || !isObject(entry) || label === '') {
      broken += 1;
      continue;
    }
    const geometry = station && isObject(station.geometry) ? station.geometry : null;
    const coordinates = geometry && Array.isArray(geometry.coordinates) ? geometry.coordinates : [];
    entries.push({
      id,
      uom: entry.uom ?? null,
      station: { id: idOf(properties?.id) ?? label, label },
      longitude: coordinates[0] ?? null,
      latitude: coordinates[1] ?? null,
      lastValue: upstreamValue(entry.lastValue),
    });
  }
  return { ok: true, value: { entries, broken } };
}

export interface SeriesValues {
  readonly values: UpstreamValue[];
  /** Entries without a numeric timestamp. */
  readonly broken: number;
}

function valuesOf(data: unknown): SeriesValues | null {
  if (!isObject(data) || !Array.isArray(data.values)) return null;
  const values: UpstreamValue[] = [];
  let broken = 0;
  for (const entry of data.values) {
    const value = upstreamValue(entry);
    if (value) values.push(value);
    else broken += 1;
  }
  return { values, broken };
}

/**
 * The values of getData, by timeseries id: the answer to a POST for several series is keyed by
 * id; a GET for one series answers { values } (or, expanded, keyed by its id too).
 */
export function parseData(
  body: unknown,
  ids: readonly string[],
): Parsed<Map<string, SeriesValues>> {
  if (!isObject(body)) return { ok: false, problem: 'the data is not an object' };
  const found = new Map<string, SeriesValues>();
  const single = ids.length === 1 ? valuesOf(body) : null;
  if (single && ids[0] !== undefined) {
    found.set(ids[0], single);
    return { ok: true, value: found };
  }
  for (const id of ids) {
    if (!(id in body)) continue;
    const values = valuesOf(body[id]);
    if (!values)
      return { ok: false, problem: `the data of timeseries ${id} has no list of values` };
    found.set(id, values);
  }
  return { ok: true, value: found };
}
