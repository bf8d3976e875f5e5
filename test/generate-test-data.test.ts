import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateTestData, parseGenerateArguments } from '../src/cli/generate-test-data.js';
import { createGraphqlClient } from '../src/client/graphql-client.js';
import { ingestMeasurements } from '../src/ingest/ingest-measurements.js';
import { CITIES, STATIONS } from '../src/sources/generator/belgium.js';
import { createMeasurementGenerator } from '../src/sources/generator/generate.js';
import { TOKEN, useApp } from './helpers/app.js';
import { backfillThreeHours, THREE_HOURS_OF_BACKFILL } from './helpers/backfill.js';
import {
  clearMeasurements,
  countOf,
  useTestDatabase,
  waitFor,
  writeLegacyConfig,
} from './helpers/database.js';
import { fakeClock } from './helpers/fake-clock.js';
import { captureOutput } from './helpers/output.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

const t = useTestDatabase(import.meta.filename);
let dir: string;
let configFile: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'belair-generate-'));
  configFile = join(dir, 'database.conf');
  // The original project's configuration file, pointing at this file's test database.
  await writeLegacyConfig(configFile, t.db);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const count = (sql: string, values: unknown[] = []) => countOf(t.pool, sql, values);
const clear = () => clearMeasurements(t.pool);

function capture() {
  return { ...captureOutput(), env: {} };
}

describe('the generated data', () => {
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
    // Ten seconds at 100 a second on a clock that moves only when the generator waits: the rate
    // is the schedule's, exactly, however long MariaDB takes (test/unit/generator.test.ts).
    const io = { ...capture(), clock: fakeClock(Date.now()) };
    const args = parseGenerateArguments(
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
    expect(live.achievedPerMinute).toBe(6000);
    expect(io.text().out).toContain('generate-test-data summary');
    expect(io.text().out).toContain('6,000/min achieved, 6,000/min asked');
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
    const clock = fakeClock(Date.parse('2026-11-27T12:00:00.000Z'));
    const backfill = (seed: string) => backfillThreeHours(sink, seed, clock);
    const expected = THREE_HOURS_OF_BACKFILL;
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
  const api = useApp(t);
  beforeEach(clear);

  async function run(argv: string[], clock = fakeClock(Date.now())) {
    const args = parseGenerateArguments(argv, { API_TOKENS: TOKEN });
    if (args === 'help') throw new Error('unexpected help');
    return generateTestData(args, { ...capture(), clock });
  }

  it('stores what it reports, at the asked rate, with nothing rejected', async () => {
    // As in direct mode: ten seconds at 100 a second, on the fake clock.
    const report = await run(['6000', '--endpoint', api.url, '--duration', '10', '--seed', 'api']);
    const live = report.live;
    if (!live) throw new Error('no live run');
    expect(report.ok).toBe(true);
    expect([live.generated, live.sent, live.failed, live.rejected]).toEqual([1000, 1000, 0, 0]);
    expect(live.inserted + live.updated + live.unchanged).toBe(1000);
    expect(await count('SELECT COUNT(*) AS n FROM measurement')).toBe(live.inserted);
    expect(live.achievedPerMinute).toBe(6000);
  });

  it('backfills three hours and refreshes: every city has a window at once', async () => {
    const report = await run(['600', '--endpoint', api.url, '--backfill', '3', '--duration', '0']);
    const backfill = report.backfill;
    if (!backfill) throw new Error('no backfill');
    expect([report.ok, backfill.rejected, backfill.failed, report.live]).toEqual([
      true,
      0,
      0,
      undefined,
    ]);
    expect(await count('SELECT COUNT(*) AS n FROM measurement')).toBe(backfill.inserted);

    const client = createGraphqlClient({ endpoint: api.url });
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
