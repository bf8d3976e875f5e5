import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateTestData, parseGenerateArguments } from '../src/cli/generate-test-data.js';
import { createGraphqlClient } from '../src/client/graphql-client.js';
import type { MeasurementInput } from '../src/client/measurement.js';
import { ingestMeasurements } from '../src/ingest/ingest-measurements.js';
import { CITIES, STATIONS } from '../src/sources/generator/belgium.js';
import { createMeasurementGenerator, SERIES } from '../src/sources/generator/generate.js';
import { belgianHour, belgianOffsetHours, dailyFactor } from '../src/sources/generator/levels.js';
import { runBackfill } from '../src/sources/generator/run-generator.js';
import { TOKEN, testApp } from './helpers/app.js';
import { createTestDatabase, type TestDatabase, waitFor } from './helpers/database.js';
import { captureOutput } from './helpers/output.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

let t: TestDatabase;
let dir: string;
let configFile: string;

beforeAll(async () => {
  t = await createTestDatabase(import.meta.filename);
  dir = await mkdtemp(join(tmpdir(), 'belair-generate-'));
  configFile = join(dir, 'database.conf');
  // The original project's configuration file, pointing at this file's test database.
  await writeFile(
    configFile,
    [
      `DB_USERNAME = "${t.db.user}"`,
      `DB_PASSWORD = "${t.db.password}"`,
      `DB_HOSTNAME = "${t.db.host}"`,
      `DB_PORT = "${t.db.port}"`,
      `DB_DATABASE = "${t.db.database}"`,
      '',
    ].join('\n'),
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await t?.drop();
});

async function count(sql: string, values: unknown[] = []): Promise<number> {
  const [rows] = await t.pool.query<RowDataPacket[]>(sql, values);
  return Number(rows[0]?.n);
}

async function clear() {
  await t.pool.query('DELETE FROM city_air_quality');
  await t.pool.query('DELETE FROM air_quality_run');
  await t.pool.query('DELETE FROM measurement');
  await t.pool.query('DELETE FROM location');
  await t.pool.query('DELETE FROM city');
}

function capture() {
  return { ...captureOutput(), env: {} };
}

describe('the generated data', () => {
  it('covers the original eight cities at their coordinates, with stations in each', () => {
    expect(CITIES.map((c) => [c.name, c.latitude, c.longitude])).toEqual([
      ['Genk', 50.965, 5.5008],
      ['Diepenbeek', 50.9077, 5.4191],
      ['Leuven', 50.8798, 4.7005],
      ['Antwerpen', 51.2194, 4.4025],
      ['Hasselt', 50.9307, 5.3325],
      ['Brussel', 50.8467, 4.3525],
      ['Gent', 51.0543, 3.7174],
      ['Landen', 50.7528, 5.082],
    ]);
    for (const city of CITIES) {
      const stations = STATIONS.filter((s) => s.city === city.name);
      expect(stations.length, city.name).toBeGreaterThanOrEqual(2);
      for (const station of stations) {
        // within 5 km of the town centre
        expect(Math.abs(station.latitude - city.latitude), station.code).toBeLessThan(0.045);
        expect(Math.abs(station.longitude - city.longitude), station.code).toBeLessThan(0.07);
        expect(station.code).toMatch(/^BET[RNB]\d{3}$/);
      }
    }
    expect(new Set(STATIONS.map((s) => s.code)).size).toBe(STATIONS.length);
    expect(new Set(SERIES.map((s) => s.pollutant))).toEqual(
      new Set(['pm25', 'pm10', 'no2', 'o3', 'so2', 'co', 'bc']),
    );
    expect(new Set(SERIES.filter((s) => s.unit === 'ppm').map((s) => s.pollutant))).toEqual(
      new Set(['no2', 'o3', 'so2', 'co']),
    );
  });

  it('follows the day: traffic peaks in the rush hours, ozone in the afternoon, in Belgian time', () => {
    expect(dailyFactor('traffic', 8)).toBeGreaterThan(1.2);
    expect(dailyFactor('traffic', 18)).toBeGreaterThan(1.2);
    expect(dailyFactor('traffic', 3)).toBeLessThan(0.7);
    expect(dailyFactor('sunlight', 15)).toBe(1.5);
    expect(dailyFactor('sunlight', 3)).toBe(0.5);
    expect(belgianOffsetHours(Date.parse('2026-01-15T12:00:00Z'))).toBe(1);
    expect(belgianOffsetHours(Date.parse('2026-03-29T00:59:59Z'))).toBe(1);
    expect(belgianOffsetHours(Date.parse('2026-03-29T01:00:00Z'))).toBe(2);
    expect(belgianOffsetHours(Date.parse('2026-10-25T00:59:59Z'))).toBe(2);
    expect(belgianOffsetHours(Date.parse('2026-10-25T01:00:00Z'))).toBe(1);
    expect(belgianHour(Date.parse('2026-07-01T06:30:00Z'))).toBe(8.5);
  });

  it('is reproducible: the same seed and clock give the same measurements, another seed others', () => {
    const now = Date.parse('2026-11-27T12:00:00.000Z');
    const run = (seed: string) => {
      const generator = createMeasurementGenerator({ seed });
      return [generator.batch(500, now), generator.batch(500, now + 1000)];
    };
    const first = run('belgium');
    expect(run('belgium')).toEqual(first);
    expect(run('another')).not.toEqual(first);
  });

  it('mixes in late, repeated and corrected measurements, repeating earlier batches only', () => {
    const now = Date.parse('2026-11-27T12:00:00.000Z');
    const generator = createMeasurementGenerator({ seed: 'mix' });
    const key = (m: MeasurementInput) =>
      `${m.location}|${m.parameter}|${(m.measuredAt as Date).toISOString()}`;
    const age = (m: MeasurementInput, at: number) => at - (m.measuredAt as Date).getTime();

    const first = generator.batch(2000, now);
    // Nothing was sent before the first batch, so nothing in it is a repeat.
    expect(new Set(first.map(key)).size).toBe(2000);
    expect([generator.made.repeat, generator.made.correction]).toEqual([0, 0]);
    // Late ones are 20 to 170 minutes old, the others at most 10 minutes.
    expect(first.filter((m) => age(m, now) >= 20 * 60_000).length).toBe(generator.made.late);
    expect(generator.made.late).toBeGreaterThan(150);
    expect(first.every((m) => age(m, now) > 0 && age(m, now) <= 170 * 60_000)).toBe(true);

    const second = generator.batch(2000, now + 60_000);
    const firstKeys = new Set(first.map(key));
    const again = second.filter((m) => firstKeys.has(key(m)));
    expect(again.length).toBe(generator.made.repeat + generator.made.correction);
    expect(generator.made.repeat).toBeGreaterThan(40);
    expect(generator.made.correction).toBeGreaterThan(10);
  });

  it('passes the ingestion’s validation, every item of it', async () => {
    await clear();
    const generator = createMeasurementGenerator({ seed: 'valid' });
    const items = generator.batch(5000, Date.now());
    const result = await ingestMeasurements(t.pool, items);
    expect(result.rejected).toEqual([]);
    expect(result.inserted + result.updated + result.unchanged).toBe(5000);
    expect(await count('SELECT COUNT(*) AS n FROM measurement')).toBe(result.inserted);
  });
});

describe('direct-database mode, with the original configuration file', () => {
  beforeEach(clear);

  it('stores what it reports, at the asked rate, with nothing rejected', async () => {
    const io = capture();
    const args = parseGenerateArguments(
      // Ten seconds at 100 a second: the last batch, sent after the run's end, then weighs a few
      // per cent of the time, even on a machine that other tests keep busy.
      ['6000', configFile, '--duration', '10', '--seed', 'rate'],
      {},
    );
    if (args === 'help') throw new Error('unexpected help');
    const report = await generateTestData(args, io);
    const live = report.live;
    if (!live) throw new Error('no live run');
    expect(report.ok).toBe(true);
    expect(live.generated).toBe(1000);
    expect(live.sent).toBe(1000);
    expect(live.failed).toBe(0);
    expect(live.rejected).toBe(0);
    expect(live.inserted + live.updated + live.unchanged).toBe(1000);
    expect(await count('SELECT COUNT(*) AS n FROM measurement')).toBe(live.inserted);
    expect(Math.abs(live.achievedPerMinute - 6000) / 6000).toBeLessThan(0.1);
    expect(io.text().out).toContain('generate-test-data summary');
    expect(io.text().out).toContain('/min achieved, 6,000/min asked');
  });

  it('backfills and computes the window in the database itself', async () => {
    const args = parseGenerateArguments(
      ['100', configFile, '--backfill', '1', '--duration', '0'],
      {},
    );
    if (args === 'help') throw new Error('unexpected help');
    const report = await generateTestData(args, capture());
    expect([report.ok, report.backfill?.rejected, report.live]).toEqual([true, 0, undefined]);
    expect(await count('SELECT COUNT(*) AS n FROM measurement')).toBe(report.backfill?.inserted);
    expect(await count('SELECT COUNT(*) AS n FROM air_quality_run')).toBe(1);
    expect(await count('SELECT COUNT(DISTINCT city_id) AS n FROM city_air_quality')).toBe(8);
  });

  it('backfills the same measurements again for the same seed and clock: nothing new is stored', async () => {
    const sink = {
      ingest: (items: Parameters<typeof ingestMeasurements>[1]) =>
        ingestMeasurements(t.pool, items),
    };
    const now = () => Date.parse('2026-11-27T12:00:00.000Z');
    const backfill = (seed: string) =>
      runBackfill({
        generator: createMeasurementGenerator({ seed }),
        sink,
        hours: 3,
        perMinute: 100,
        seriesCount: SERIES.length,
        now,
      });
    // 100 a minute over the series: every series once every ceil(92 × 60 / 100) s.
    const intervalMs = Math.max(60_000, Math.ceil((SERIES.length * 60_000) / 100));
    const expected = Math.floor((3 * 3_600_000) / intervalMs) * SERIES.length;
    const first = await backfill('window');
    expect([first.sent, first.inserted, first.rejected, first.failed]).toEqual([
      expected,
      expected,
      0,
      0,
    ]);
    const second = await backfill('window');
    expect([second.inserted, second.updated, second.unchanged]).toEqual([0, 0, expected]);
    const other = await backfill('another');
    expect(other.inserted).toBe(0);
    expect(other.updated).toBeGreaterThan(expected * 0.95);
    expect(await count('SELECT COUNT(*) AS n FROM measurement')).toBe(expected);
  });
});

describe('the script', () => {
  beforeEach(clear);

  it('stops cleanly on Ctrl-C (SIGINT): sends what it made, prints the summary, exits 0', async () => {
    const child = spawn(
      TSX,
      ['src/cli/generate-test-data.ts', '1200', configFile, '--seed', 'sigint'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await waitFor(
      async () => (out.includes('live at 1,200/min') ? true : undefined),
      30_000,
      'the live run',
    );
    await waitFor(
      async () => ((await count('SELECT COUNT(*) AS n FROM measurement')) > 0 ? true : undefined),
      30_000,
      'a first batch',
    );
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(out).toContain('generate-test-data summary');
    const sent =
      /sent +([\d,]+) \(([\d,]+) inserted, ([\d,]+) updated, ([\d,]+) unchanged, 0 rejected\)/.exec(
        out,
      );
    if (!sent) throw new Error(`no summary line in:\n${out}`);
    const [, total, inserted] = sent.map((n) => Number(n?.replaceAll(',', '')));
    expect(total).toBeGreaterThan(0);
    expect(await count('SELECT COUNT(*) AS n FROM measurement')).toBe(inserted);
  });
});

describe('through the API', () => {
  let app: ReturnType<typeof testApp>;
  let endpoint: string;
  beforeAll(async () => {
    app = testApp(t);
    const { port } = await app.start(0, '127.0.0.1');
    endpoint = `http://127.0.0.1:${port}/graphql`;
  });
  afterAll(async () => {
    await app?.stop();
  });
  beforeEach(clear);

  async function run(argv: string[]) {
    const args = parseGenerateArguments(argv, { API_TOKENS: TOKEN });
    if (args === 'help') throw new Error('unexpected help');
    return generateTestData(args, capture());
  }

  it('stores what it reports, within 10 % of the asked rate, with nothing rejected', async () => {
    // As in direct mode: ten seconds at 100 a second, so that the last batch weighs little.
    const report = await run(['6000', '--endpoint', endpoint, '--duration', '10', '--seed', 'api']);
    const live = report.live;
    if (!live) throw new Error('no live run');
    expect(report.ok).toBe(true);
    expect([live.generated, live.sent, live.failed, live.rejected]).toEqual([1000, 1000, 0, 0]);
    expect(live.inserted + live.updated + live.unchanged).toBe(1000);
    expect(await count('SELECT COUNT(*) AS n FROM measurement')).toBe(live.inserted);
    expect(Math.abs(live.achievedPerMinute - 6000) / 6000).toBeLessThan(0.1);
  });

  it('backfills three hours and refreshes: every city has a window at once', async () => {
    const report = await run(['600', '--endpoint', endpoint, '--backfill', '3', '--duration', '0']);
    const backfill = report.backfill;
    if (!backfill) throw new Error('no backfill');
    expect([report.ok, backfill.rejected, backfill.failed, report.live]).toEqual([
      true,
      0,
      0,
      undefined,
    ]);
    expect(await count('SELECT COUNT(*) AS n FROM measurement')).toBe(backfill.inserted);

    const client = createGraphqlClient({ endpoint });
    const data = await client.request<{
      airQualityRuns: {
        windowStart: string;
        windowEnd: string;
        measurements: number;
        cities: number;
      }[];
      airQuality: {
        city: { names: { nl: string } };
        pollutants: { parameter: string; count: number }[];
      }[];
    }>(`{
      airQualityRuns(last: 1) { windowStart windowEnd measurements cities }
      airQuality { city { names { nl } } pollutants { parameter count } }
    }`);
    const [current] = data.airQualityRuns;
    if (!current) throw new Error('the backfill left no run');
    const inWindow = await count(
      'SELECT COUNT(*) AS n FROM measurement WHERE measured_at > ? AND measured_at <= ?',
      [new Date(current.windowStart), new Date(current.windowEnd)],
    );
    expect(current.measurements).toBe(inWindow);
    expect(current.cities).toBe(8);
    // By the cities' Dutch names, the generator's: Brussel is stored as the city Brussels.
    const windows = Object.fromEntries(
      data.airQuality.map((w) => [w.city.names.nl, w.pollutants.map((p) => p.parameter).sort()]),
    );
    const measured = (city: string) =>
      [
        ...new Set(
          STATIONS.filter((s) => s.city === city).flatMap((s) => Object.keys(s.pollutants)),
        ),
      ]
        .map((code) => code.toUpperCase())
        .sort();
    expect(windows).toEqual(Object.fromEntries(CITIES.map((c) => [c.name, measured(c.name)])));
    const counted = data.airQuality.flatMap((w) => w.pollutants).reduce((n, p) => n + p.count, 0);
    expect(counted).toBe(inWindow);
  });
});
