import {
  type FakeUpstream,
  type Recorded,
  type Replay,
  type Reply,
  readFixture,
  replay,
  shiftTimes,
  startFakeUpstream,
} from './fake-upstream.js';

/** The instant test/fixtures/openaq/ was recorded at. */
export const OPENAQ_RECORDED_AT = Date.UTC(2026, 10, 21, 12);
export const OPENAQ_KEY = 'test-openaq-key';

const fixture = (name: string) => readFixture('openaq', name);

interface Instant {
  utc: string;
  local: string;
}
interface Measurement {
  value: unknown;
  period: { datetimeFrom: Instant; datetimeTo: Instant };
}
interface Location {
  id: number;
  name: string;
  coordinates: { latitude: unknown; longitude: unknown };
  sensors: { id: number }[];
  datetimeLast: Instant | null;
}

export interface FakeOpenaqOptions {
  readonly key?: string;
  /** Requests the stand-in allows per window before it answers 429 (default 60 a minute). */
  readonly perWindow?: number;
  readonly windowMs?: number;
  /** Locations added to the Belgian list that measure nothing belair follows (pagination). */
  readonly filler?: number;
  /** Locations whose latest values answer 404 (default: Namur - Rue de Fer). */
  readonly missing?: readonly number[];
  /** A second NO2 sensor at BETR801, in ppm (id 5404), as OpenAQ lists some stations. */
  readonly secondSensor?: boolean;
}

export interface FakeOpenaq extends FakeUpstream, Replay {
  /** The latest answer of a location, as the stand-in gives it now. */
  latest(id: number): unknown;
  count(): {
    locations: number;
    latest: number;
    measurements: number;
    tooMany: number;
    all: number;
  };
}

/**
 * OpenAQ API v3 for Belgium as the fixtures recorded it, replayed so that the recorded hour is
 * the last full hour but one. It checks X-API-Key, counts requests against its own rate limit
 * with x-ratelimit-* headers on every answer (429 past the limit), pages locations as OpenAQ does
 * (meta.found ">1000" when there are more), and derives latest values and datetimeLast from the
 * measurements it has published.
 */
export async function startFakeOpenaq(options: FakeOpenaqOptions = {}): Promise<FakeOpenaq> {
  const key = options.key ?? OPENAQ_KEY;
  const perWindow = options.perWindow ?? 60;
  const windowMs = options.windowMs ?? 60_000;
  const missing = new Set(options.missing ?? [1234602]);
  const time = replay(OPENAQ_RECORDED_AT);
  const { offset } = time;
  const recorded = shiftTimes(
    (fixture('locations.json') as { results: Location[] }).results,
    offset,
  );
  const filler: Location[] = Array.from({ length: options.filler ?? 0 }, (_, i) => ({
    id: 900_000 + i,
    name: `Particle counter ${i + 1}`,
    locality: 'Antwerpen',
    timezone: 'Europe/Brussels',
    country: { id: 21, code: 'BE', name: 'Belgium' },
    provider: { id: 166, name: 'AirGradient' },
    isMobile: false,
    isMonitor: false,
    sensors: [
      {
        id: 950_000 + i,
        name: 'um003 particles/cm³',
        parameter: { id: 130, name: 'um003', units: 'particles/cm³', displayName: 'PM0.3 count' },
      },
    ],
    coordinates: { latitude: 51.2, longitude: 4.4 },
    licenses: null,
    datetimeLast: null,
  }));
  const measurements = shiftTimes(
    fixture('measurements.json') as Record<string, Measurement[]>,
    offset,
  );
  if (options.secondSensor) {
    recorded
      .find((l) => l.id === 2881)
      ?.sensors.push({
        id: 5404,
        name: 'no2 ppm',
        parameter: { id: 7, name: 'no2', units: 'ppm', displayName: 'NO₂' },
      } as Location['sensors'][number]);
    measurements['5404'] = (measurements['5401'] ?? []).map((m) => ({
      ...m,
      value: Math.round(((m.value as number) / 1880) * 10_000) / 10_000,
    }));
  }
  const state = { tooMany: 0 };
  const window = { start: Date.now(), used: 0 };
  const published = (sensor: number) =>
    (measurements[String(sensor)] ?? []).filter(
      (m) => Date.parse(m.period.datetimeTo.utc) <= time.latestHour(),
    );
  const newest = (sensor: number) =>
    published(sensor).reduce<Measurement | undefined>(
      (last, m) =>
        !last || Date.parse(m.period.datetimeTo.utc) >= Date.parse(last.period.datetimeTo.utc)
          ? m
          : last,
      undefined,
    );
  const locations = () =>
    [...recorded, ...filler].map((location) => {
      const last = location.sensors
        .map((s) => newest(s.id)?.period.datetimeTo)
        .filter((t): t is Instant => t !== undefined)
        .sort((a, b) => Date.parse(a.utc) - Date.parse(b.utc))
        .at(-1);
      return last ? { ...location, datetimeLast: last } : location;
    });
  const latest = (id: number) => {
    const location = recorded.find((l) => l.id === id);
    if (!location) return null;
    const results = location.sensors.flatMap((s) => {
      const m = newest(s.id);
      return m
        ? [
            {
              datetime: m.period.datetimeTo,
              value: m.value,
              coordinates: location.coordinates,
              sensorsId: s.id,
              locationsId: id,
            },
          ]
        : [];
    });
    return {
      meta: { name: 'openaq-api', website: '/', page: 1, limit: 100, found: results.length },
      results,
    };
  };
  const paged = <T>(all: T[], query: Record<string, string>) => {
    const limit = Number(query.limit ?? 100);
    const page = Number(query.page ?? 1);
    return {
      meta: {
        name: 'openaq-api',
        website: '/',
        page,
        limit,
        // OpenAQ does not count past the limit: it says ">1000".
        found: all.length > limit ? `>${limit}` : all.length,
      },
      results: all.slice((page - 1) * limit, page * limit),
    };
  };

  const handle = (request: Recorded): Reply => {
    const now = Date.now();
    if (now - window.start >= windowMs) {
      window.start = now;
      window.used = 0;
    }
    window.used += 1;
    const headers = () => ({
      'x-ratelimit-limit': String(perWindow),
      'x-ratelimit-used': String(window.used),
      'x-ratelimit-remaining': String(Math.max(0, perWindow - window.used)),
      'x-ratelimit-reset': String(Math.max(1, Math.ceil((window.start + windowMs - now) / 1000))),
    });
    if (request.headers['x-api-key'] !== key) {
      return {
        status: 401,
        json: {
          message: 'Unauthorized. A valid API key must be provided in the X-API-Key header.',
        },
      };
    }
    if (window.used > perWindow) {
      state.tooMany += 1;
      return { status: 429, headers: headers(), json: { message: 'Too many requests' } };
    }
    const reply = (json: unknown, status = 200): Reply => ({ status, headers: headers(), json });
    if (request.path === '/v3/locations') {
      if (request.query.iso !== 'BE') return reply('iso must be a country code such as BE', 422);
      return reply(paged(locations(), request.query));
    }
    const latestOf = /^\/v3\/locations\/(\d+)\/latest$/.exec(request.path);
    if (latestOf) {
      const id = Number(latestOf[1]);
      const answer = missing.has(id) ? null : latest(id);
      return answer ? reply(answer) : reply({ detail: 'Location not found' }, 404);
    }
    const measurementsOf = /^\/v3\/sensors\/(\d+)\/measurements$/.exec(request.path);
    if (measurementsOf) {
      const from = Date.parse(request.query.datetime_from ?? '');
      const to = Date.parse(request.query.datetime_to ?? '');
      if (Number.isNaN(from) || Number.isNaN(to))
        return reply('datetime_from and datetime_to must be dates', 422);
      if (from > to) return reply('datetime_from must be before datetime_to', 422);
      const found = published(Number(measurementsOf[1])).filter((m) => {
        const time = Date.parse(m.period.datetimeTo.utc);
        return time >= from && time <= to;
      });
      return reply(paged(found, request.query));
    }
    return reply({ detail: 'Not Found' }, 404);
  };

  const upstream = await startFakeUpstream(handle);
  return Object.assign(upstream, time, {
    latest,
    count() {
      const r = upstream.requests;
      return {
        locations: r.filter((q) => q.path === '/v3/locations').length,
        latest: r.filter((q) => q.path.endsWith('/latest')).length,
        measurements: r.filter((q) => q.path.endsWith('/measurements')).length,
        tooMany: state.tooMany,
        all: r.length,
      };
    },
  });
}
