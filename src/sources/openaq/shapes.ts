import type { UpstreamValue } from '../feed/poll.js';

/**
 * The shapes of OpenAQ API v3 that the feed reads, checked as they come (docs.openaq.org, API
 * reference: locations, latest, sensors):
 *
 *   GET /v3/locations?iso=BE&limit=1000&page=N
 *     { meta: { found: 123 | ">1000", page, limit }, results: [{ id, name, locality (nullable),
 *       country: { code }, coordinates: { latitude, longitude }, provider: { name },
 *       isMobile, isMonitor, sensors: [{ id, parameter: { id, name, units } }],
 *       licenses: [{ name, attribution: { name, url }, dateFrom, dateTo }] | null,
 *       datetimeLast: { utc, local } | null }] }
 *   GET /v3/locations/{id}/latest
 *     { results: [{ datetime: { utc, local }, value, coordinates, sensorsId, locationsId }] }
 *   GET /v3/sensors/{id}/measurements?datetime_from=...&datetime_to=...&limit=1000&page=N
 *     { results: [{ value, parameter, period: { datetimeFrom: { utc }, datetimeTo: { utc } },
 *       coordinates }] }
 */

export type Parsed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly problem: string };

export interface Sensor {
  readonly id: number;
  readonly parameterId: number | null;
  readonly parameterName: string;
  readonly units: unknown;
}

export interface Licence {
  readonly name: string;
  readonly attributionName: string | null;
  readonly attributionUrl: string | null;
  readonly dateTo: string | null;
}

export interface Location {
  readonly id: number;
  readonly name: string | null;
  readonly locality: string | null;
  readonly country: string | null;
  readonly latitude: unknown;
  readonly longitude: unknown;
  readonly provider: string | null;
  readonly isMobile: boolean;
  readonly isMonitor: boolean;
  readonly sensors: readonly Sensor[];
  readonly licences: readonly Licence[];
  /** Epoch ms of its newest measurement; null when unknown. */
  readonly datetimeLast: number | null;
}

export interface LatestValue extends UpstreamValue {
  readonly sensorId: number;
  readonly latitude: unknown;
  readonly longitude: unknown;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const text = (value: unknown): string | null =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : null;

const integer = (value: unknown): number | null =>
  typeof value === 'number' && Number.isInteger(value) ? value : null;

/** An instant of { utc } as epoch ms; null when it is not one. */
function utcOf(value: unknown): number | null {
  if (!isObject(value) || typeof value.utc !== 'string') return null;
  const ms = Date.parse(value.utc);
  return Number.isFinite(ms) && /(Z|[+-]\d{2}:?\d{2})$/.test(value.utc) ? ms : null;
}

function resultsOf(body: unknown): unknown[] | null {
  return isObject(body) && Array.isArray(body.results) ? body.results : null;
}

export interface LocationsPage {
  readonly locations: Location[];
  /** meta.found: a count, or text such as ">1000" when OpenAQ did not count them all. */
  readonly found: number | string | null;
  /** Entries without an id: left out. */
  readonly broken: number;
  /** Entries in the page, broken ones included: a full page means there may be another. */
  readonly size: number;
}

export function parseLocations(body: unknown): Parsed<LocationsPage> {
  const results = resultsOf(body);
  if (!results) return { ok: false, problem: 'no list of results' };
  const meta = isObject(body) && isObject(body.meta) ? body.meta : {};
  const found =
    typeof meta.found === 'number' || typeof meta.found === 'string' ? meta.found : null;
  const locations: Location[] = [];
  let broken = 0;
  for (const entry of results) {
    const id = isObject(entry) ? integer(entry.id) : null;
    if (id === null || !isObject(entry)) {
      broken += 1;
      continue;
    }
    const coordinates = isObject(entry.coordinates) ? entry.coordinates : {};
    const sensors = Array.isArray(entry.sensors) ? entry.sensors : [];
    locations.push({
      id,
      name: text(entry.name),
      locality: text(entry.locality),
      country: isObject(entry.country) ? text(entry.country.code) : null,
      latitude: coordinates.latitude ?? null,
      longitude: coordinates.longitude ?? null,
      provider: isObject(entry.provider) ? text(entry.provider.name) : null,
      isMobile: entry.isMobile === true,
      isMonitor: entry.isMonitor === true,
      sensors: sensors.flatMap((sensor): Sensor[] => {
        const sensorId = isObject(sensor) ? integer(sensor.id) : null;
        if (sensorId === null || !isObject(sensor)) return [];
        const parameter = isObject(sensor.parameter) ? sensor.parameter : {};
        return [
          {
            id: sensorId,
            parameterId: integer(parameter.id),
            parameterName: text(parameter.name) ?? `parameter ${String(parameter.id)}`,
            units: parameter.units ?? null,
          },
        ];
      }),
      licences: (Array.isArray(entry.licenses) ? entry.licenses : []).flatMap(
        (licence): Licence[] => {
          if (!isObject(licence) || text(licence.name) === null) return [];
          const attribution = isObject(licence.attribution) ? licence.attribution : {};
          return [
            {
              name: text(licence.name) as string,
              attributionName: text(attribution.name),
              attributionUrl: text(attribution.url),
              dateTo: text(licence.dateTo),
            },
          ];
        },
      ),
      datetimeLast: utcOf(entry.datetimeLast),
    });
  }
  return { ok: true, value: { locations, found, broken, size: results.length } };
}

export function parseLatest(body: unknown): Parsed<{ values: LatestValue[]; broken: number }> {
  const results = resultsOf(body);
  if (!results) return { ok: false, problem: 'no list of results' };
  const values: LatestValue[] = [];
  let broken = 0;
  for (const entry of results) {
    const sensorId = isObject(entry) ? integer(entry.sensorsId) : null;
    const time = isObject(entry) ? utcOf(entry.datetime) : null;
    if (sensorId === null || time === null || !isObject(entry)) {
      broken += 1;
      continue;
    }
    const coordinates = isObject(entry.coordinates) ? entry.coordinates : {};
    values.push({
      sensorId,
      time,
      value: entry.value ?? null,
      latitude: coordinates.latitude ?? null,
      longitude: coordinates.longitude ?? null,
    });
  }
  return { ok: true, value: { values, broken } };
}

export interface MeasuredValue extends UpstreamValue {
  readonly latitude: unknown;
  readonly longitude: unknown;
}

export function parseMeasurements(
  body: unknown,
): Parsed<{ values: MeasuredValue[]; broken: number; size: number }> {
  const results = resultsOf(body);
  if (!results) return { ok: false, problem: 'no list of results' };
  const values: MeasuredValue[] = [];
  let broken = 0;
  for (const entry of results) {
    // The time of a measurement is the end of its period.
    const period = isObject(entry) && isObject(entry.period) ? entry.period : {};
    const time = utcOf(period.datetimeTo);
    if (time === null || !isObject(entry)) {
      broken += 1;
      continue;
    }
    const coordinates = isObject(entry.coordinates) ? entry.coordinates : {};
    values.push({
      time,
      value: entry.value ?? null,
      latitude: coordinates.latitude ?? null,
      longitude: coordinates.longitude ?? null,
    });
  }
  return { ok: true, value: { values, broken, size: results.length } };
}
