import type { GraphQLError } from 'graphql';
import type { RowDataPacket } from 'mysql2/promise';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { belaqiLevel, eaqiLevel, toMicrograms } from './helpers/air-quality-reference.js';
import { graphql, testApp, withToken } from './helpers/app.js';
import { clearMeasurements, connect, countOf, useTestDatabase } from './helpers/database.js';
import { INGEST, type MeasurementJson, measurement as m } from './helpers/measurements.js';

const t = useTestDatabase(import.meta.filename);
let app: ReturnType<typeof testApp>;
beforeAll(() => {
  app = testApp(t);
});

const count = (table: string) => countOf(t.pool, `SELECT COUNT(*) AS n FROM ${table}`);

const REFRESH = `mutation Refresh($at: DateTime) {
  refreshAirQuality(at: $at) { id evaluatedAt windowStart windowEnd measurements cities durationMs }
}`;

const WINDOW_FIELDS = `city { name country } windowStart windowEnd belaqi eaqi run { id evaluatedAt }
  pollutants { parameter unit average min max count locations latestMeasuredAt belaqi eaqi }`;

type Input = MeasurementJson;

const AT = '2026-05-01T12:00:00.000Z';

/** The data set: edges of the window, ppm, band bounds, a city with only old data. */
const DATA: Input[] = [
  m('Antwerpen', 'BETR801', 'PM10', 20, '2026-05-01T10:00:00Z'),
  m('Antwerpen', 'BETR801', 'PM10', 35, '2026-05-01T11:00:00Z'),
  m('Antwerpen', 'BETR802', 'PM10', 50, '2026-05-01T12:00:00Z'), // = at: inside
  m('Antwerpen', 'BETR801', 'PM10', 500, '2026-05-01T09:00:00Z'), // = at - 3 h: outside
  m('Antwerpen', 'BETR802', 'PM10', 400, '2026-05-01T12:00:00.001Z'), // after at: outside
  m('Antwerpen', 'BETR801', 'NO2', 0.02, '2026-05-01T11:30:00Z', 'ppm'),
  m('Antwerpen', 'BETR802', 'NO2', 25, '2026-05-01T10:30:00Z'),
  m('Antwerpen', 'BETR802', 'CO', 0.5, '2026-05-01T10:30:00+01:00', 'ppm'),
  m('Gent', 'BETN012', 'PM25', 7.5, '2026-05-01T10:00:00Z'),
  m('Gent', 'BETN012', 'O3', 240, '2026-05-01T11:00:00Z'),
  m('Leuven', 'BETL001', 'PM10', 12, '2026-05-01T08:00:00Z'),
];

// Levels from the reference model of the tests (helpers/air-quality-reference.ts), which does not
// read the database's copy of the tables: the EAQI levels 1-6 by their GraphQL names.
const EAQI_NAMES = ['GOOD', 'FAIR', 'MODERATE', 'POOR', 'VERY_POOR', 'EXTREMELY_POOR'];

/** The windows at `at`, computed from the inputs alone, shaped like the GraphQL answer. */
function expectedWindows(inputs: Input[], at: string) {
  const end = Date.parse(at);
  const start = end - 3 * 3600_000;
  type Point = { value: number; location: string; time: number };
  const groups = new Map<string, Map<string, Point[]>>();
  for (const input of inputs) {
    const time = Date.parse(input.measuredAt);
    if (!(time > start && time <= end)) continue;
    const code = input.parameter.toLowerCase();
    const value = toMicrograms(code, input.value, input.unit);
    const city = groups.get(input.city) ?? new Map<string, Point[]>();
    groups.set(input.city, city);
    const list = city.get(code) ?? [];
    city.set(code, list);
    list.push({ value, location: input.location, time });
  }
  return [...groups.keys()].sort().map((name) => {
    const pollutants = [...(groups.get(name) ?? new Map<string, Point[]>()).entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([code, list]) => {
        const values = list.map((x) => x.value);
        const average = values.reduce((a, b) => a + b, 0) / values.length;
        return {
          parameter: code.toUpperCase(),
          unit: 'µg/m³',
          average,
          min: Math.min(...values),
          max: Math.max(...values),
          count: values.length,
          locations: new Set(list.map((x) => x.location)).size,
          latestMeasuredAt: new Date(Math.max(...list.map((x) => x.time))).toISOString(),
          belaqi: belaqiLevel(code, average),
          eaqi: eaqiLevel(code, average),
        };
      });
    const worst = (levels: (number | null)[]) => {
      const known = levels.filter((x): x is number => x !== null);
      return known.length ? Math.max(...known) : null;
    };
    const overallEaqi = worst(pollutants.map((p) => p.eaqi));
    return {
      city: { name, country: 'BE' },
      windowStart: new Date(start).toISOString(),
      windowEnd: at,
      belaqi: worst(pollutants.map((p) => p.belaqi)),
      eaqi: overallEaqi === null ? null : EAQI_NAMES[overallEaqi - 1],
      pollutants: pollutants.map((p) => ({
        ...p,
        eaqi: p.eaqi === null ? null : EAQI_NAMES[p.eaqi - 1],
      })),
    };
  });
}

/** Compares windows exactly, floating-point aggregates to 9 decimals. */
// biome-ignore lint/suspicious/noExplicitAny: GraphQL answers
function expectSameWindows(actual: any[], expected: ReturnType<typeof expectedWindows>) {
  const rounded = (windows: typeof expected) =>
    windows.map((w) => ({
      ...w,
      pollutants: w.pollutants.map((p) => ({
        ...p,
        average: Number(p.average.toFixed(9)),
        min: Number(p.min.toFixed(9)),
        max: Number(p.max.toFixed(9)),
      })),
    }));
  expect(actual).toHaveLength(expected.length);
  expect(rounded(actual.map(({ run: _r, ...w }) => w))).toEqual(rounded(expected));
}

describe('the GraphQL API', () => {
  beforeEach(() => clearMeasurements(t.pool));

  it('ingest, refresh, query: the windows are exactly what the data says', async () => {
    const ingested = await graphql(app, INGEST, { m: DATA }, withToken);
    expect(ingested.errors).toBeUndefined();
    expect(ingested.data.ingestMeasurements).toEqual({
      received: DATA.length,
      inserted: DATA.length,
      updated: 0,
      unchanged: 0,
      rejected: [],
    });

    const refreshed = await graphql(app, REFRESH, { at: AT }, withToken);
    expect(refreshed.errors).toBeUndefined();
    const expected = expectedWindows(DATA, AT);
    expect(refreshed.data.refreshAirQuality).toEqual({
      id: expect.any(String),
      evaluatedAt: AT,
      windowStart: '2026-05-01T09:00:00.000Z',
      windowEnd: AT,
      measurements: 8,
      cities: 2,
      durationMs: expect.any(Number),
    });
    const run = refreshed.data.refreshAirQuality;

    const all = await graphql(app, `{ airQuality { ${WINDOW_FIELDS} } }`);
    expect(all.errors).toBeUndefined();
    expectSameWindows(all.data.airQuality, expected);
    for (const window of all.data.airQuality) {
      expect(window.run).toEqual({ id: run.id, evaluatedAt: AT });
    }
    // Spot checks of the independent computation itself: band bounds are inclusive.
    expect(expected.map((w) => [w.city.name, w.belaqi, w.eaqi])).toEqual([
      ['Antwerpen', 5, 'FAIR'],
      ['Gent', 9, 'POOR'],
    ]);

    const gent = await graphql(
      app,
      `{ airQuality(cities: ["Gent", "Nowhere"], country: "be") { ${WINDOW_FIELDS} } }`,
    );
    expectSameWindows(gent.data.airQuality, expected.slice(1));

    const city = await graphql(
      app,
      `{ antwerpen: city(name: "Antwerpen") { name country latitude airQuality { ${WINDOW_FIELDS} }
                                         locations { name city { name } } }
         leuven: city(name: "Leuven", country: "BE") { name airQuality { belaqi } }
         nowhere: city(name: "Antwerpen", country: "NL") { name } }`,
    );
    expect(city.errors).toBeUndefined();
    expectSameWindows([city.data.antwerpen.airQuality], expected.slice(0, 1));
    expect(city.data.antwerpen.locations).toEqual([
      { name: 'BETR801', city: { name: 'Antwerpen' } },
      { name: 'BETR802', city: { name: 'Antwerpen' } },
    ]);
    expect(city.data.leuven).toEqual({ name: 'Leuven', airQuality: null });
    expect(city.data.nowhere).toBeNull();

    const cities = await graphql(app, '{ cities(country: "BE") { name country } }');
    expect(cities.data.cities.map((c: { name: string }) => c.name)).toEqual([
      'Antwerpen',
      'Gent',
      'Leuven',
    ]);
  });

  it('re-ingesting says unchanged and changes nothing; a changed value is updated', async () => {
    await graphql(app, INGEST, { m: DATA }, withToken);
    const snapshot = async () => {
      const [rows] = await t.pool.query(
        'SELECT * FROM measurement ORDER BY location_id, pollutant, measured_at',
      );
      const [places] = await t.pool.query('SELECT * FROM location ORDER BY id');
      const [cities] = await t.pool.query('SELECT * FROM city ORDER BY id');
      return { rows, places, cities };
    };
    const before = await snapshot();
    const again = await graphql(app, INGEST, { m: DATA }, withToken);
    expect(again.data.ingestMeasurements).toEqual({
      received: DATA.length,
      inserted: 0,
      updated: 0,
      unchanged: DATA.length,
      rejected: [],
    });
    expect(await snapshot()).toEqual(before);

    const changed = DATA.map((input, i) => (i === 0 ? { ...input, value: 21 } : input));
    const update = await graphql(app, INGEST, { m: changed }, withToken);
    expect(update.data.ingestMeasurements).toMatchObject({
      inserted: 0,
      updated: 1,
      unchanged: DATA.length - 1,
    });
    await graphql(app, REFRESH, { at: AT }, withToken);
    const window = await graphql(app, `{ airQuality(cities: ["Antwerpen"]) { ${WINDOW_FIELDS} } }`);
    expectSameWindows(window.data.airQuality, expectedWindows(changed, AT).slice(0, 1));
  });

  it('rejects bad items one by one, a malformed measuredAt included, and stores the rest', async () => {
    const good = DATA[0] as Input;
    const result = await graphql(
      app,
      INGEST,
      {
        m: [
          good,
          { ...good, measuredAt: '2026-05-01T25:00:00Z' },
          { ...good, location: 'BETR802', parameter: 'PM25', unit: 'ppm' },
          { ...good, country: 'Belgium' },
          { ...good, measuredAt: '2099-01-01T00:00:00Z' },
          { ...good, location: 'BETR803', latitude: 100 },
          { ...good, city: ' ' },
          { ...good, location: 'BETR804', measuredAt: '2026-05-01T10:00:00' },
          { ...good, location: 'BETR805', value: -1 },
          { ...good, location: 'BETR806', unit: 'mg/m³' },
        ],
      },
      withToken,
    );
    expect(result.errors).toBeUndefined();
    expect(result.data.ingestMeasurements.rejected).toEqual([
      {
        index: 1,
        reason:
          'measuredAt "2026-05-01T25:00:00Z" is not a real date and time, such as 2024-05-01T12:00:00Z.',
      },
      {
        index: 2,
        reason:
          'unit ppm does not apply to pm25: send particulate matter and black carbon in µg/m³.',
      },
      { index: 3, reason: 'country "Belgium" is not a two-letter ISO 3166-1 code such as BE.' },
      {
        index: 4,
        reason: expect.stringMatching(
          /^measuredAt 2099-01-01T00:00:00.000Z is more than 10 minutes ahead of the server's clock \(\d{4}-.+Z\): send the instant the measurement was taken, with its time zone\.$/,
        ),
      },
      { index: 5, reason: 'latitude 100 is not a number from -90 to 90 (degrees).' },
      { index: 6, reason: 'city is empty: it is required.' },
      {
        index: 7,
        reason:
          'measuredAt "2026-05-01T10:00:00" has no time zone: add Z for UTC (OpenAQ date.utc) or an offset such as +02:00.',
      },
      { index: 8, reason: 'value -1 is negative: a concentration is 0 or more.' },
      { index: 9, reason: 'unit "mg/m³" is not known: use µg/m³ (or ug/m3), or ppm for gases.' },
    ]);
    expect(result.data.ingestMeasurements).toMatchObject({ received: 10, inserted: 1 });
    expect(await count('measurement')).toBe(1);
    expect(await count('location')).toBe(1);

    // A date that is not even a string, written in the operation itself: still one item's problem.
    const literal = await graphql(
      app,
      `mutation { ingestMeasurements(measurements: [
         { location: "L", city: "C", country: "BE", parameter: PM10, value: 1, unit: "µg/m³", measuredAt: 12345 },
         { location: "L", city: "C", country: "BE", parameter: PM10, value: 1, unit: "µg/m³", measuredAt: "2026-05-01T10:00:00Z" }
       ]) { inserted rejected { index reason } } }`,
      undefined,
      withToken,
    );
    expect(literal.data.ingestMeasurements).toEqual({
      inserted: 1,
      rejected: [
        {
          index: 0,
          reason:
            'measuredAt "12345" is not an ISO-8601 date and time with a time zone, such as 2024-05-01T12:00:00Z.',
        },
      ],
    });
  });

  it('rejects items GraphQL itself would refuse one by one, instead of failing the batch', async () => {
    const good = DATA[0] as Input;
    const { city: _city, ...withoutCity } = good;
    const result = await graphql(
      app,
      INGEST,
      {
        m: [
          { ...good, location: 'BETR811' },
          withoutCity,
          { ...good, location: 'BETR812', value: '12.5' },
          { ...good, location: 'BETR813', parameter: 'pm2.5' },
          { ...good, location: 'BETR814', colour: 'red' },
          'not a measurement',
          { ...good, location: 'BETR815', latitude: 'north', sourceName: 7 },
          { ...good, location: 'BETR816', value: 12.5 },
        ],
      },
      withToken,
    );
    expect(result.errors).toBeUndefined();
    expect(result.data.ingestMeasurements).toEqual({
      received: 8,
      inserted: 2,
      updated: 0,
      unchanged: 0,
      rejected: [
        { index: 1, reason: 'city is missing: it is required.' },
        { index: 2, reason: 'value: Float cannot represent non numeric value: "12.5".' },
        {
          index: 3,
          reason: expect.stringMatching(
            /^parameter: Value "pm2\.5" does not exist in "Pollutant" enum\./,
          ),
        },
        { index: 4, reason: 'colour is not a field of MeasurementInput.' },
        {
          index: 5,
          reason: 'The item "not a measurement" is not an object with measurement fields.',
        },
        {
          index: 6,
          reason:
            'latitude: Float cannot represent non numeric value: "north". sourceName: String cannot represent a non string value: 7.',
        },
      ],
    });
    const [rows] = await t.pool.query<RowDataPacket[]>(
      'SELECT l.name FROM measurement m JOIN location l ON l.id = m.location_id ORDER BY l.name',
    );
    expect(rows.map((r) => r.name)).toEqual(['BETR811', 'BETR816']);

    // Indices stay those of the batch sent when the item-level checks also reject something.
    const mixed = await graphql(
      app,
      INGEST,
      { m: [{ ...good, value: 'x' }, { ...good, location: 'BETR817', value: -3 }, good] },
      withToken,
    );
    expect(mixed.data.ingestMeasurements.rejected.map((r: { index: number }) => r.index)).toEqual([
      0, 1,
    ]);
    expect(mixed.data.ingestMeasurements).toMatchObject({ received: 3, unchanged: 0, inserted: 1 });
  });

  it('refuses writes without a token or with a wrong one, storing nothing', async () => {
    for (const [headers, message] of [
      [{}, 'This operation writes data: send the header Authorization: Bearer <token>'],
      [{ authorization: 'Bearer wrong-token' }, 'The Authorization header does not hold a token'],
      [{ authorization: 'test-token' }, 'The Authorization header does not hold a token'],
    ] as const) {
      const ingest = await graphql(app, INGEST, { m: DATA }, headers);
      expect(ingest.status).toBe(401);
      expect(ingest.data).toBeNull();
      expect(ingest.errors?.[0]?.message).toContain(message);
      expect(ingest.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED' });
      const refresh = await graphql(app, REFRESH, { at: AT }, headers);
      expect(refresh.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED' });
    }
    expect([
      await count('measurement'),
      await count('city'),
      await count('air_quality_run'),
    ]).toEqual([0, 0, 0]);

    const noTokens = testApp(t, { API_TOKENS: '' });
    const refused = await graphql(noTokens, INGEST, { m: DATA }, withToken);
    expect(refused.status).toBe(403);
    expect(refused.errors?.[0]).toMatchObject({
      message: 'Writes are disabled on this server: it was started without API_TOKENS.',
      extensions: { code: 'FORBIDDEN' },
    });
    expect(await count('measurement')).toBe(0);
  });

  it('keeps history: past runs in order, a backfill does not change the current window', async () => {
    await graphql(app, INGEST, { m: DATA }, withToken);
    const at = (minutes: number) => new Date(Date.parse(AT) + minutes * 60_000).toISOString();
    // Out of order on purpose: the current run is the latest evaluatedAt, not the latest made.
    for (const minutes of [0, -60, -30, -90]) {
      const result = await graphql(app, REFRESH, { at: at(minutes) }, withToken);
      expect(result.errors).toBeUndefined();
    }
    const current = await graphql(app, '{ airQuality { city { name } run { evaluatedAt } } }');
    expect(current.data.airQuality).toEqual([
      { city: { name: 'Antwerpen' }, run: { evaluatedAt: AT } },
      { city: { name: 'Gent' }, run: { evaluatedAt: AT } },
    ]);

    const history = await graphql(
      app,
      `query H($from: DateTime!, $to: DateTime!) {
         city(name: "Antwerpen") { history(from: $from, to: $to) { ${WINDOW_FIELDS} } }
       }`,
      { from: at(-60), to: AT },
    );
    expect(history.errors).toBeUndefined();
    const windows = history.data.city.history;
    expect(windows.map((w: { run: { evaluatedAt: string } }) => w.run.evaluatedAt)).toEqual([
      at(-60),
      at(-30),
      at(0),
    ]);
    for (const [i, minutes] of [-60, -30, 0].entries()) {
      expectSameWindows([windows[i]], expectedWindows(DATA, at(minutes)).slice(0, 1));
    }

    const runs = await graphql(app, '{ airQualityRuns(last: 3) { evaluatedAt cities } }');
    expect(runs.data.airQualityRuns).toEqual([
      { evaluatedAt: at(0), cities: 2 },
      { evaluatedAt: at(-30), cities: 2 },
      { evaluatedAt: at(-60), cities: 2 },
    ]);
    const defaults = await graphql(app, '{ airQualityRuns { evaluatedAt } }');
    expect(defaults.data.airQualityRuns).toHaveLength(4);
  });

  it('bounds history ranges, run counts and malformed instants with BAD_USER_INPUT', async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      [
        'query($from: DateTime!, $to: DateTime!) { cities { history(from: $from, to: $to) { belaqi } } }',
        { from: '2026-01-01T00:00:00Z', to: '2026-02-01T00:00:01Z' },
        'The range from 2026-01-01T00:00:00.000Z to 2026-02-01T00:00:01.000Z spans more than 31 days: ask for it in parts.',
      ],
      [
        'query($from: DateTime!, $to: DateTime!) { cities { history(from: $from, to: $to) { belaqi } } }',
        { from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' },
        'from 2026-01-02T00:00:00.000Z is after to 2026-01-01T00:00:00.000Z.',
      ],
      [
        'query($from: DateTime!, $to: DateTime!) { cities { history(from: $from, to: $to) { belaqi } } }',
        { from: 'last week', to: '2026-01-01T00:00:00Z' },
        'from "last week" is not an ISO-8601 date and time with a time zone, such as 2024-05-01T12:00:00Z.',
      ],
      ['{ airQualityRuns(last: 0) { id } }', {}, 'last 0 must be from 1 to 1000.'],
      ['{ airQualityRuns(last: 1001) { id } }', {}, 'last 1001 must be from 1 to 1000.'],
      [
        '{ cities(country: "BEL") { name } }',
        {},
        'country "BEL" is not a two-letter ISO 3166-1 code such as BE.',
      ],
      [
        REFRESH,
        { at: '2026-13-01T00:00:00Z' },
        'at "2026-13-01T00:00:00Z" is not a real date and time, such as 2024-05-01T12:00:00Z.',
      ],
    ];
    // history is resolved per city: give it one.
    await graphql(app, INGEST, { m: [DATA[0]] }, withToken);
    for (const [query, variables, message] of cases) {
      const result = await graphql(app, query, variables, withToken);
      expect(result.errors?.[0]).toMatchObject({ message, extensions: { code: 'BAD_USER_INPUT' } });
    }
    expect(await count('air_quality_run')).toBe(0);
  });

  it('answers REFRESH_BUSY when a run holds the lock longer than the wait', async () => {
    const other = await connect(t.db);
    try {
      await other.query("SELECT GET_LOCK(belair_lock_name('refresh_air_quality'), 0)");
      const busy = await graphql(app, REFRESH, { at: AT }, withToken);
      expect(busy.errors?.[0]).toMatchObject({
        message:
          'Another aggregation run is in progress and did not finish within 1 s: try again shortly.',
        extensions: { code: 'REFRESH_BUSY' },
      });
      expect(await count('air_quality_run')).toBe(0);
      await other.query("DO RELEASE_LOCK(belair_lock_name('refresh_air_quality'))");
      const done = await graphql(app, REFRESH, {}, withToken);
      expect(done.errors).toBeUndefined();
      expect(Date.now() - Date.parse(done.data.refreshAirQuality.evaluatedAt)).toBeLessThan(60_000);
    } finally {
      await other.end();
    }
  });

  it('refuses a batch over INGEST_MAX_BATCH with a clear error', async () => {
    const small = testApp(t, { INGEST_MAX_BATCH: '3' });
    const result = await graphql(small, INGEST, { m: DATA.slice(0, 4) }, withToken);
    expect(result.errors?.[0]).toMatchObject({
      message:
        'The batch holds 4 measurements, more than the 3 allowed per request: split it into batches of at most 3.',
      extensions: { code: 'BAD_USER_INPUT' },
    });
    expect(await count('measurement')).toBe(0);
  });

  it('masks unexpected errors to the client and logs them in full', async () => {
    const logged = testApp(t);
    await t.pool.query('RENAME TABLE air_quality_run TO air_quality_run_away');
    try {
      const result = await graphql(logged, '{ airQualityRuns { id } }');
      expect(result.errors).toEqual([
        {
          message: 'Unexpected error.',
          locations: [{ line: 1, column: 3 }],
          path: ['airQualityRuns'],
          extensions: { code: 'INTERNAL_SERVER_ERROR' },
        },
      ]);
      expect(logged.logger.errors).toHaveLength(1);
      const [error] = (logged.logger.errors[0] ?? []) as [GraphQLError];
      expect(error.path).toEqual(['airQualityRuns']);
      expect(error.originalError?.message).toBe(
        `Table '${t.db.database}.air_quality_run' doesn't exist`,
      );
      expect(error.stack).toContain('listRuns');
    } finally {
      await t.pool.query('RENAME TABLE air_quality_run_away TO air_quality_run');
    }
  });

  it('limits the depth and cost of an operation', async () => {
    const deep = await graphql(
      app,
      '{ cities { locations { city { locations { city { locations { city { locations { city { locations { name } } } } } } } } } } }',
    );
    expect(deep.errors?.[0]).toMatchObject({
      message:
        "The operation's depth is 11, above the limit of 10: select fewer fields or split it.",
      extensions: { code: 'QUERY_TOO_COMPLEX' },
    });
  });
});
