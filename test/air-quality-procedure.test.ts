import type { Connection, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BELAQI,
  belaqiLevel,
  type CityOf,
  EAQI,
  type ExpectedWindow,
  eaqiLevel,
  expectedWindows,
  MOLAR_MASS,
  POLLUTANTS,
  toMicrograms,
  windowKey,
} from './helpers/air-quality-reference.js';
import { connect, useTestDatabase, waitFor } from './helpers/database.js';
import {
  DAY,
  HOUR,
  insertCity,
  insertLocation,
  insertMeasurements,
  MINUTE,
  random,
  type SeedMeasurement,
  sqlTime,
} from './helpers/seed.js';

// The timeline of this file: each part works at instants of its own, later parts later, so that
// "the current run" (latest evaluated_at) of a later part is never one of an earlier part.
const T0 = Date.parse('2026-03-10T12:00:00.000Z'); // generated data, window boundaries
const T1 = T0 + DAY; // windows whose averages sit on band boundaries
const T2 = T0 + 10 * DAY; // concurrency

const t = useTestDatabase(import.meta.filename);
let session: Connection; // one connection, so that @refresh_air_quality_run_id can be read back
const cityOf = new Map<number, CityOf>();
const rows: SeedMeasurement[] = [];

const RANGES: Readonly<Record<string, number>> = {
  pm25: 80,
  pm10: 150,
  no2: 120,
  o3: 250,
  so2: 300,
  co: 2000,
  bc: 10,
};

async function addCity(country: string, city: string, stations: number): Promise<number[]> {
  const cityId = await insertCity(t.pool, country, city);
  const ids: number[] = [];
  for (let s = 1; s <= stations; s++) {
    const id = await insertLocation(t.pool, cityId, `${city}-${s}`);
    cityOf.set(id, { country, city });
    ids.push(id);
  }
  return ids;
}

/** Every station measures most pollutants, every 10-30 minutes at irregular milliseconds, some gases in ppm. */
function generate(locations: readonly number[], from: number, to: number, seed: number) {
  const next = random(seed);
  const generated: SeedMeasurement[] = [];
  for (const locationId of locations) {
    for (const pollutant of POLLUTANTS) {
      if (next() < 0.1) continue; // this station does not measure it
      for (let at = from + Math.floor(next() * 20 * MINUTE); at < to; ) {
        const micrograms = next() * (RANGES[pollutant] ?? 100);
        const mass = MOLAR_MASS[pollutant];
        const ppm = mass !== undefined && next() < 0.3;
        generated.push({
          locationId,
          pollutant,
          measuredAt: at,
          value: ppm ? Math.round((micrograms / ((1000 * mass) / 24.45)) * 1e5) / 1e5 : micrograms,
          unit: ppm ? 'ppm' : 'µg/m³',
        });
        at += 10 * MINUTE + Math.floor(next() * 20 * MINUTE);
      }
    }
  }
  return generated;
}

async function refresh(connection: Connection, pAt: number): Promise<number> {
  await connection.query('CALL refresh_air_quality(?)', [sqlTime(pAt)]);
  const [[row]] = await connection.query<RowDataPacket[]>(
    'SELECT @refresh_air_quality_run_id AS id',
  );
  return Number(row?.id);
}

interface StoredWindow extends ExpectedWindow {
  readonly unit: string;
}

async function runWindows(runId: number): Promise<Map<string, StoredWindow>> {
  const [stored] = await t.pool.query<RowDataPacket[]>(
    `SELECT c.country, c.name AS city, q.pollutant, q.unit, q.average, q.min, q.max, q.count,
            q.locations, q.latest_measured_at AS latestMeasuredAt, q.belaqi, q.eaqi
     FROM city_air_quality q JOIN city c ON c.id = q.city_id
     WHERE q.run_id = ?`,
    [runId],
  );
  return new Map(
    stored.map((r) => [
      windowKey(r as StoredWindow),
      { ...(r as StoredWindow), latestMeasuredAt: (r.latestMeasuredAt as Date).getTime() },
    ]),
  );
}

/** Equal up to the rounding of a sum taken in another order. */
function expectClose(actual: number, expected: number, what: string) {
  expect(Math.abs(actual - expected), what).toBeLessThanOrEqual(
    1e-9 * Math.max(1, Math.abs(expected)),
  );
}

function expectWindowsToMatch(
  stored: Map<string, StoredWindow>,
  expected: Map<string, ExpectedWindow>,
) {
  expect([...stored.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [key, want] of expected) {
    const got = stored.get(key) as StoredWindow;
    expect(
      {
        count: got.count,
        locations: got.locations,
        latest: got.latestMeasuredAt,
        belaqi: got.belaqi,
        eaqi: got.eaqi,
        unit: got.unit,
      },
      key,
    ).toEqual({
      count: want.count,
      locations: want.locations,
      latest: want.latestMeasuredAt,
      belaqi: want.belaqi,
      eaqi: want.eaqi,
      unit: 'µg/m³',
    });
    expectClose(got.average, want.average, `${key} average`);
    expectClose(got.min, want.min, `${key} min`);
    expectClose(got.max, want.max, `${key} max`);
  }
}

const CURRENT_WINDOW = `
  SELECT q.run_id AS runId, r.evaluated_at AS evaluatedAt, q.city_id AS cityId, q.pollutant
  FROM city_air_quality q JOIN air_quality_run r ON r.id = q.run_id
  WHERE q.run_id = (SELECT id FROM air_quality_run ORDER BY evaluated_at DESC, id DESC LIMIT 1)`;

beforeAll(async () => {
  session = await connect(t.db);
  const stations = [
    ...(await addCity('BE', 'Antwerpen', 3)),
    ...(await addCity('BE', 'Gent', 2)),
    ...(await addCity('BE', 'Leuven', 2)),
    ...(await addCity('BE', 'Baarle', 1)),
    ...(await addCity('NL', 'Eindhoven', 2)),
    ...(await addCity('NL', 'Maastricht', 3)),
    ...(await addCity('NL', 'Baarle', 2)), // same name, other country: another city
  ];
  rows.push(...generate(stations, T0 - 5 * HOUR, T0 + HOUR, 42));
  // Window boundaries, to the millisecond, at a station of their own.
  const [edge] = await addCity('BE', 'Grens', 1);
  const at = (measuredAt: number, value: number): SeedMeasurement => ({
    locationId: edge as number,
    pollutant: 'pm10',
    measuredAt,
    value,
    unit: 'µg/m³',
  });
  rows.push(
    at(T0 - 3 * HOUR, 1000), // exactly p_at − 3 h: out
    at(T0 - 3 * HOUR + 1, 1), // a millisecond later: in
    at(T0, 2), // exactly p_at: in
    at(T0 + 1, 4000), // a millisecond after p_at: out
  );
  await insertMeasurements(t.pool, rows);
});

afterAll(async () => {
  await session?.end();
});

describe('one run of refresh_air_quality', () => {
  let runId: number;
  let expected: Map<string, ExpectedWindow>;

  beforeAll(async () => {
    runId = await refresh(session, T0);
    expected = expectedWindows(rows, cityOf, T0);
  });

  it('aggregates the window per country, city and pollutant as the reference computation does', async () => {
    const stored = await runWindows(runId);
    // Sanity of the generated data: both countries, every pollutant, several stations per city.
    expect(new Set([...expected.values()].map((w) => w.country))).toEqual(new Set(['BE', 'NL']));
    expect(new Set([...expected.values()].map((w) => w.pollutant))).toEqual(new Set(POLLUTANTS));
    expect(Math.max(...[...expected.values()].map((w) => w.locations))).toBe(3);
    expect(expected.size).toBeGreaterThan(40);
    expectWindowsToMatch(stored, expected);
    // Baarle exists in both countries: two cities, not one.
    const baarle = [...stored.values()].filter((w) => w.city === 'Baarle');
    expect(new Set(baarle.map((w) => w.country))).toEqual(new Set(['BE', 'NL']));
  });

  it('keeps p_at − 3 h out and p_at in, to the millisecond', async () => {
    const grens = (await runWindows(runId)).get('BE|Grens|pm10');
    expect(grens).toMatchObject({
      count: 2,
      locations: 1,
      min: 1,
      max: 2,
      average: 1.5,
      latestMeasuredAt: T0,
    });
    // One millisecond later the earliest row has left the window and the one after p_at entered.
    const later = await runWindows(await refresh(session, T0 + 1));
    expect(later.get('BE|Grens|pm10')).toMatchObject({
      count: 2,
      min: 2,
      max: 4000,
      latestMeasuredAt: T0 + 1,
    });
  });

  it('records the run: its window, evaluation instant, counts and duration', async () => {
    const [[run]] = await t.pool.query<RowDataPacket[]>(
      'SELECT * FROM air_quality_run WHERE id = ?',
      [runId],
    );
    const windows = [...expected.values()];
    expect(run).toMatchObject({
      evaluated_at: new Date(T0),
      window_start: new Date(T0 - 3 * HOUR),
      window_end: new Date(T0),
      measurements: windows.reduce((sum, w) => sum + w.count, 0),
      cities: new Set(windows.map((w) => `${w.country}|${w.city}`)).size,
    });
    expect(run?.cities).toBe(8);
    expect(typeof run?.duration_ms).toBe('number');
    expect(run?.duration_ms).toBeGreaterThanOrEqual(0);
  });

  it('sets @refresh_air_quality_run_id to the new run, and to NULL when a call fails', async () => {
    const [[latest]] = await t.pool.query<RowDataPacket[]>(
      'SELECT MAX(id) AS id FROM air_quality_run',
    );
    const id = await refresh(session, T0 + 2);
    expect(id).toBe(Number(latest?.id) + 1);
    await expect(session.query('CALL refresh_air_quality(NULL)')).rejects.toThrow(
      'refresh_air_quality: p_at must be an instant (UTC), not NULL',
    );
    const [[after]] = await session.query<RowDataPacket[]>(
      'SELECT @refresh_air_quality_run_id AS id',
    );
    expect(after?.id).toBeNull();
  });

  it('records an empty window as a run with no rows', async () => {
    const empty = await refresh(session, Date.parse('2020-01-01T00:00:00.000Z'));
    const [[run]] = await t.pool.query<RowDataPacket[]>(
      'SELECT measurements, cities, window_start, window_end FROM air_quality_run WHERE id = ?',
      [empty],
    );
    expect(run).toEqual({
      measurements: 0,
      cities: 0,
      window_start: new Date('2019-12-31T21:00:00.000Z'),
      window_end: new Date('2020-01-01T00:00:00.000Z'),
    });
    expect((await runWindows(empty)).size).toBe(0);
  });

  it('refuses to run inside a transaction of its caller, and leaves that transaction alone', async () => {
    const caller = await connect(t.db);
    try {
      await caller.query('START TRANSACTION');
      await caller.query("INSERT INTO city (country, name) VALUES ('BE', 'Uncommitted')");
      await expect(caller.query('CALL refresh_air_quality(?)', [sqlTime(T0)])).rejects.toThrow(
        'refresh_air_quality: call it outside a transaction, it commits its own',
      );
      const [[mine]] = await caller.query<RowDataPacket[]>(
        "SELECT COUNT(*) AS n FROM city WHERE name = 'Uncommitted'",
      );
      expect(mine?.n).toBe(1); // still there for the caller, who decides
      await caller.query('ROLLBACK');
    } finally {
      await caller.end();
    }
  });
});

describe('units', () => {
  it('stores ppm rows as µg/m³ with pollutant.molar_mass, for every gas', async () => {
    const [stored] = await t.pool.query<RowDataPacket[]>(
      `SELECT m.pollutant, m.original_value AS original, m.original_unit AS unit, m.value,
              p.molar_mass AS mass
       FROM measurement m JOIN pollutant p ON p.code = m.pollutant`,
    );
    const ppm = stored.filter((r) => r.unit === 'ppm');
    expect(new Set(ppm.map((r) => r.pollutant))).toEqual(new Set(['no2', 'o3', 'so2', 'co']));
    for (const r of ppm) {
      // The generated column and the reference table agree, and both agree with docs/database.md.
      expect(r.mass).toBe(MOLAR_MASS[r.pollutant]);
      expectClose(
        r.value,
        (r.original * 1000 * r.mass) / 24.45,
        `${r.pollutant} ${r.original} ppm`,
      );
      expectClose(
        r.value,
        toMicrograms(r.pollutant, r.original, 'ppm'),
        `${r.pollutant} reference`,
      );
    }
    for (const r of stored.filter((r) => r.unit !== 'ppm')) expect(r.value).toBe(r.original);
    const [gases] = await t.pool.query<RowDataPacket[]>(
      'SELECT code FROM pollutant WHERE molar_mass IS NOT NULL ORDER BY code',
    );
    expect(gases.map((g) => g.code)).toEqual(['co', 'no2', 'o3', 'so2']);
  });

  it('refuses ppm for pollutants that have no molar mass', async () => {
    const [location] = [...cityOf.keys()];
    await expect(
      t.pool.query(
        "INSERT INTO measurement (location_id, pollutant, measured_at, original_value, original_unit) VALUES (?, 'pm10', ?, 1, 'ppm')",
        [location, sqlTime(T0 - 7 * DAY)],
      ),
    ).rejects.toThrow(/measurement_ppm_gas/);
  });
});

describe('index levels', () => {
  // Every band boundary of both indexes, and just above it, for every pollutant.
  const cases = POLLUTANTS.flatMap((pollutant) => {
    const bounds = [...new Set([...(BELAQI[pollutant] ?? []), ...(EAQI[pollutant] ?? []), 1, 500])];
    return bounds.flatMap((bound) => [bound, bound + 0.001]).map((value) => ({ pollutant, value }));
  });

  it('belaqi_level and eaqi_level put a value on a bound in that band, and just above in the next', async () => {
    const [levels] = await t.pool.query<RowDataPacket[]>(
      `SELECT ${cases.map((_, i) => `belaqi_level(?, ?) AS b${i}, eaqi_level(?, ?) AS e${i}`).join(', ')}`,
      cases.flatMap((c) => [c.pollutant, c.value, c.pollutant, c.value]),
    );
    const row = levels[0] as RowDataPacket;
    cases.forEach((c, i) => {
      expect([row[`b${i}`], row[`e${i}`]], `${c.pollutant} ${c.value}`).toEqual([
        belaqiLevel(c.pollutant, c.value),
        eaqiLevel(c.pollutant, c.value),
      ]);
    });
    // The same facts spelt out, from the tables of docs/database.md (Levels).
    const [[spelt]] = await t.pool.query<RowDataPacket[]>(
      `SELECT belaqi_level('pm10', 35) AS onBound, belaqi_level('pm10', 35.001) AS above,
              belaqi_level('pm25', 75) AS nine, belaqi_level('pm25', 75.001) AS ten,
              belaqi_level('o3', 5000) AS stillTen,
              eaqi_level('pm25', 800) AS lastBand, eaqi_level('pm25', 800.001) AS beyondLast,
              eaqi_level('so2', 100000) AS farBeyond, eaqi_level('no2', 40) AS good,
              belaqi_level('so2', 50) AS belaqiSo2, belaqi_level('co', 50) AS belaqiCo,
              belaqi_level('bc', 50) AS belaqiBc, eaqi_level('co', 50) AS eaqiCo,
              eaqi_level('bc', 50) AS eaqiBc, belaqi_level('pm10', NULL) AS noValue`,
    );
    expect(spelt).toEqual({
      onBound: 3,
      above: 4,
      nine: 9,
      ten: 10,
      stillTen: 10,
      lastBand: 6,
      beyondLast: 6,
      farBeyond: 6,
      good: 1,
      belaqiSo2: null,
      belaqiCo: null,
      belaqiBc: null,
      eaqiCo: null,
      eaqiBc: null,
      noValue: null,
    });
  });

  it('the procedure writes those levels for windows whose average sits on a boundary', async () => {
    const boundaryRows: SeedMeasurement[] = [];
    const expectedLevels = new Map<string, [number, number | null, number | null]>();
    for (const [i, c] of cases.entries()) {
      const [station] = await addCity('BE', `band-${i}`, 1);
      // Two readings of the same value: their average is the value itself, exactly.
      for (const minutes of [30, 90]) {
        boundaryRows.push({
          locationId: station as number,
          pollutant: c.pollutant,
          measuredAt: T1 - minutes * MINUTE,
          value: c.value,
          unit: 'µg/m³',
        });
      }
      expectedLevels.set(`BE|band-${i}|${c.pollutant}`, [
        c.value,
        belaqiLevel(c.pollutant, c.value),
        eaqiLevel(c.pollutant, c.value),
      ]);
    }
    await insertMeasurements(t.pool, boundaryRows);
    rows.push(...boundaryRows);
    const stored = await runWindows(await refresh(session, T1));
    expect(stored.size).toBe(cases.length);
    for (const [key, levels] of expectedLevels) {
      const window = stored.get(key);
      expect([window?.average, window?.belaqi, window?.eaqi], key).toEqual(levels);
    }
  });

  it("the overall level of a city is its worst pollutant's: MAX over the run's rows of the city", async () => {
    const [station] = await addCity('BE', 'Worst', 1);
    const readings: [string, number][] = [
      ['pm10', 15], // BelAQI 2, EAQI 1 (GOOD)
      ['no2', 55], // BelAQI 8, EAQI 2 (FAIR)
      ['o3', 135], // BelAQI 6, EAQI 4 (POOR)
      ['co', 900], // no band: no say in either index
    ];
    const worst = readings.map(([pollutant, value]) => ({
      locationId: station as number,
      pollutant,
      measuredAt: T1 + 2 * DAY - HOUR,
      value,
      unit: 'µg/m³' as const,
    }));
    await insertMeasurements(t.pool, worst);
    rows.push(...worst);
    const runId = await refresh(session, T1 + 2 * DAY);
    // How a client derives a city's overall levels from the run's rows:
    const [overall] = await t.pool.query<RowDataPacket[]>(
      `SELECT c.country, c.name AS city, MAX(q.belaqi) AS belaqi, e.name AS eaqi
       FROM city_air_quality q
       JOIN city c ON c.id = q.city_id
       LEFT JOIN eaqi_level e ON e.level = (SELECT MAX(q2.eaqi) FROM city_air_quality q2
                                            WHERE q2.run_id = q.run_id AND q2.city_id = q.city_id)
       WHERE q.run_id = ?
       GROUP BY c.id, e.name`,
      [runId],
    );
    expect(overall).toEqual([{ country: 'BE', city: 'Worst', belaqi: 8, eaqi: 'POOR' }]);

    // And over the generated data: the worst sub-index of each city, per index.
    const expected = expectedWindows(rows, cityOf, T0);
    const worstOf = new Map<string, [number, number]>();
    for (const w of expected.values()) {
      const key = `${w.country}|${w.city}`;
      const [b, e] = worstOf.get(key) ?? [0, 0];
      worstOf.set(key, [Math.max(b, w.belaqi ?? 0), Math.max(e, w.eaqi ?? 0)]);
    }
    const [perCity] = await t.pool.query<RowDataPacket[]>(
      `SELECT CONCAT(c.country, '|', c.name) AS city, MAX(q.belaqi) AS belaqi, MAX(q.eaqi) AS eaqi
       FROM city_air_quality q JOIN city c ON c.id = q.city_id
       WHERE q.run_id = (SELECT id FROM air_quality_run WHERE evaluated_at = ? ORDER BY id LIMIT 1)
       GROUP BY c.id`,
      [sqlTime(T0)],
    );
    expect(new Map(perCity.map((r) => [r.city, [r.belaqi, r.eaqi]]))).toEqual(worstOf);
  });
});

describe('history', () => {
  it('keeps every run; the current window is the run with the latest evaluated_at', async () => {
    const [before] = await t.pool.query<RowDataPacket[]>(
      'SELECT id FROM air_quality_run ORDER BY id',
    );
    const latest = await refresh(session, T1 + 3 * DAY);
    const backfill = await refresh(session, T0 - HOUR); // an older instant, computed later
    const [after] = await t.pool.query<RowDataPacket[]>(
      'SELECT id, evaluated_at AS evaluatedAt FROM air_quality_run ORDER BY id',
    );
    expect(after.map((r) => r.id)).toEqual([...before.map((r) => r.id), latest, backfill]);
    expect(new Set(after.map((r) => r.evaluatedAt.getTime())).size).toBe(after.length);

    const [current] = await t.pool.query<RowDataPacket[]>(
      'SELECT id FROM air_quality_run ORDER BY evaluated_at DESC, id DESC LIMIT 1',
    );
    expect(current[0]?.id).toBe(latest);
    // The backfill's windows are kept and are those of its own instant.
    expectWindowsToMatch(await runWindows(backfill), expectedWindows(rows, cityOf, T0 - HOUR));
  });
});

describe('concurrency', () => {
  const expectedAt = new Map<number, Map<string, ExpectedWindow>>();
  const concurrentRows: SeedMeasurement[] = [];

  beforeAll(async () => {
    const stations = [
      ...(await addCity('BE', 'Brugge', 2)),
      ...(await addCity('BE', 'Namur', 2)),
      ...(await addCity('NL', 'Breda', 2)),
    ];
    concurrentRows.push(...generate(stations, T2 - 4 * HOUR, T2 + 4 * HOUR, 7));
    await insertMeasurements(t.pool, concurrentRows);
    for (let minute = 0; minute <= 120; minute++) {
      const pAt = T2 + minute * MINUTE;
      expectedAt.set(pAt, expectedWindows(concurrentRows, cityOf, pAt));
    }
  });

  const isBusy = (error: unknown) =>
    /refresh_air_quality: another run is in progress/.test((error as Error).message);

  it('a reader polling the current window never sees it empty or mixed from two runs', async () => {
    await refresh(session, T2);
    const reader = await connect(t.db);
    const refreshers = await Promise.all([connect(t.db), connect(t.db)]);
    const seen = new Set<number>();
    const problems: string[] = [];
    let polls = 0;
    const poll = async () => {
      const [current] = await reader.query<RowDataPacket[]>(CURRENT_WINDOW);
      polls += 1;
      const runs = new Set(current.map((r) => r.runId as number));
      if (current.length === 0) problems.push(`poll ${polls}: no rows`);
      if (runs.size > 1) problems.push(`poll ${polls}: rows of runs ${[...runs].join(', ')}`);
      const at = (current[0]?.evaluatedAt as Date | undefined)?.getTime();
      const want = at === undefined ? undefined : expectedAt.get(at)?.size;
      if (at !== undefined && current.length !== want) {
        problems.push(
          `poll ${polls}: ${current.length} rows, the run at ${sqlTime(at)} has ${want}`,
        );
      }
      for (const run of runs) seen.add(run);
    };
    try {
      await poll();
      let nextMinute = 1;
      const written: number[] = [];
      let busy = 0;
      let done = false;
      const refreshing = Promise.all(
        refreshers.map(async (connection) => {
          for (let minute = nextMinute++; minute <= 40; minute = nextMinute++) {
            try {
              written.push(await refresh(connection, T2 + minute * MINUTE));
            } catch (error) {
              if (!isBusy(error)) throw error;
              busy += 1;
            }
          }
        }),
      ).finally(() => {
        done = true;
      });
      while (!done) await poll();
      await refreshing;
      await poll();
      expect(problems).toEqual([]);
      expect(written.length + busy).toBe(40);
      expect(written.length).toBeGreaterThan(0);
      expect(seen.size).toBeGreaterThanOrEqual(2);
    } finally {
      await Promise.all([reader.end(), ...refreshers.map((c) => c.end())]);
    }
  });

  it('a refresh fails, writing nothing, while another session holds the run lock', async () => {
    const holder = await connect(t.db);
    const other = await connect(t.db);
    try {
      const [[held]] = await holder.query<RowDataPacket[]>(
        "SELECT GET_LOCK(belair_lock_name('refresh_air_quality'), 0) AS locked",
      );
      expect(held?.locked).toBe(1);
      const [[before]] = await t.pool.query<RowDataPacket[]>(
        'SELECT COUNT(*) AS runs, (SELECT COUNT(*) FROM city_air_quality) AS windows FROM air_quality_run',
      );
      await expect(
        other.query('CALL refresh_air_quality(?)', [sqlTime(T2 + 50 * MINUTE)]),
      ).rejects.toThrow('refresh_air_quality: another run is in progress');
      const [[after]] = await t.pool.query<RowDataPacket[]>(
        'SELECT COUNT(*) AS runs, (SELECT COUNT(*) FROM city_air_quality) AS windows FROM air_quality_run',
      );
      expect(after).toEqual(before);

      // The holder itself gets in (the lock is recursive), and still holds the lock afterwards.
      const own = await refresh(holder, T2 + 51 * MINUTE);
      expect((await runWindows(own)).size).toBe(expectedAt.get(T2 + 51 * MINUTE)?.size);
      const [[still]] = await holder.query<RowDataPacket[]>(
        "SELECT IS_USED_LOCK(belair_lock_name('refresh_air_quality')) = CONNECTION_ID() AS mine",
      );
      expect(still?.mine).toBe(1);

      await holder.query("DO RELEASE_LOCK(belair_lock_name('refresh_air_quality'))");
      const released = await refresh(other, T2 + 52 * MINUTE);
      expect((await runWindows(released)).size).toBe(expectedAt.get(T2 + 52 * MINUTE)?.size);
    } finally {
      await Promise.all([holder.end(), other.end()]);
    }
  });

  it('concurrent refreshes: each call writes one whole run or fails as busy, nothing lost or doubled', async () => {
    const connections = await Promise.all([connect(t.db), connect(t.db), connect(t.db)]);
    const succeeded: number[] = [];
    let busy = 0;
    try {
      await Promise.all(
        connections.map(async (connection, c) => {
          for (let i = 0; i < 10; i++) {
            const pAt = T2 + (60 + c * 10 + i) * MINUTE;
            try {
              await refresh(connection, pAt);
              succeeded.push(pAt);
            } catch (error) {
              if (!isBusy(error)) throw error;
              busy += 1;
            }
          }
        }),
      );
    } finally {
      await Promise.all(connections.map((c) => c.end()));
    }
    expect(succeeded.length + busy).toBe(30);
    const [runs] = await t.pool.query<RowDataPacket[]>(
      `SELECT r.evaluated_at AS evaluatedAt, r.measurements,
              (SELECT COUNT(*) FROM city_air_quality q WHERE q.run_id = r.id) AS windows
       FROM air_quality_run r WHERE r.evaluated_at BETWEEN ? AND ? ORDER BY r.evaluated_at`,
      [sqlTime(T2 + 60 * MINUTE), sqlTime(T2 + 89 * MINUTE)],
    );
    expect(runs.map((r) => r.evaluatedAt.getTime())).toEqual([...succeeded].sort((a, b) => a - b));
    for (const run of runs) {
      const windows = [...(expectedAt.get(run.evaluatedAt.getTime())?.values() ?? [])];
      expect([run.windows, run.measurements]).toEqual([
        windows.length,
        windows.reduce((sum, w) => sum + w.count, 0),
      ]);
    }
  });

  it('does not stall ingestion: a measurement lands in the window while a run is in progress', async () => {
    const blocker = await connect(t.db);
    const runner = await connect(t.db);
    const ingester = await connect(t.db);
    const pAt = T2 + 100 * MINUTE;
    const [station] = [...cityOf.entries()].find(([, c]) => c.city === 'Brugge') ?? [];
    try {
      // Hold one city's row: the run blocks when it writes that city's window (foreign key
      // check), after it has read the whole window, with its transaction open.
      await blocker.query('START TRANSACTION');
      await blocker.query(
        "SELECT id FROM city WHERE country = 'BE' AND name = 'Brugge' FOR UPDATE",
      );
      const running = runner.query('CALL refresh_air_quality(?)', [sqlTime(pAt)]);
      await waitFor(
        async () => {
          const [trx] = await t.pool.query<RowDataPacket[]>(
            "SELECT 1 FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = ? AND trx_state = 'LOCK WAIT'",
            [runner.threadId],
          );
          return trx.length > 0 ? true : undefined;
        },
        30_000,
        'the refresh to wait on the locked city',
      );
      // A lock wait would fail after one second instead of hanging the test.
      await ingester.query('SET SESSION innodb_lock_wait_timeout = 1');
      await ingester.query(
        "INSERT INTO measurement (location_id, pollutant, measured_at, original_value, original_unit) VALUES (?, 'bc', ?, 3.25, 'µg/m³')",
        [station, sqlTime(pAt - 7)],
      );
      await blocker.query('ROLLBACK');
      await running;
      // The run read its window before the measurement arrived: it is not in it.
      const [[run]] = await t.pool.query<RowDataPacket[]>(
        'SELECT measurements FROM air_quality_run WHERE evaluated_at = ?',
        [sqlTime(pAt)],
      );
      const windows = [...(expectedAt.get(pAt)?.values() ?? [])];
      expect(run?.measurements).toBe(windows.reduce((sum, w) => sum + w.count, 0));
    } finally {
      await Promise.all([blocker.end(), runner.end(), ingester.end()]);
    }
  });

  it('(control) the same read at REPEATABLE READ would have stalled that insert', async () => {
    const reader = await connect(t.db);
    const ingester = await connect(t.db);
    const pAt = T2 + 110 * MINUTE;
    const [station] = [...cityOf.entries()].find(([, c]) => c.city === 'Namur') ?? [];
    try {
      await reader.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      await reader.query('START TRANSACTION');
      await reader.query('CREATE TEMPORARY TABLE window_copy (n INT)');
      await reader.query(
        `INSERT INTO window_copy SELECT COUNT(*) FROM measurement FORCE INDEX (measurement_window)
         WHERE measured_at > ? - INTERVAL 3 HOUR AND measured_at <= ?`,
        [sqlTime(pAt), sqlTime(pAt)],
      );
      await ingester.query('SET SESSION innodb_lock_wait_timeout = 1');
      await expect(
        ingester.query(
          "INSERT INTO measurement (location_id, pollutant, measured_at, original_value, original_unit) VALUES (?, 'bc', ?, 3.25, 'µg/m³')",
          [station, sqlTime(pAt - 7)],
        ),
      ).rejects.toThrow(/Lock wait timeout exceeded/);
      await reader.query('ROLLBACK');
    } finally {
      await Promise.all([reader.end(), ingester.end()]);
    }
  });
});
