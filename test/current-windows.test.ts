import type { Pool } from 'mysql2/promise';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ingestMeasurements } from '../src/ingest/ingest-measurements.js';
import type { App } from '../src/server/app.js';
import { graphql, refreshMutation, useApps } from './helpers/app.js';
import { countingPool } from './helpers/counting-pool.js';
import { callRefresh, createPool, useTestDatabase } from './helpers/database.js';
import { until } from './helpers/live-clients.js';
import { measurement, minutesAgo } from './helpers/measurements.js';
import { startTcpProxy } from './helpers/tcp-proxy.js';

const t = useTestDatabase(import.meta.filename);
const pools: Pool[] = [];
afterEach(async () => {
  for (const pool of pools.splice(0)) await pool.end();
});
/** Apps of this file, each stopped after the test that made it (before its pool is ended). */
const app = useApps(t, 'each').make;

const WINDOWS = `{ airQuality {
  city { name country latitude longitude } run { id evaluatedAt } windowStart windowEnd belaqi eaqi
  pollutants { parameter unit average min max count locations latestMeasuredAt belaqi eaqi } } }`;
const FILTERED =
  '{ airQuality(cities: ["Gent", "Antwerpen", "Nowhere"], country: "be") { city { name } belaqi run { id } } }';
const NESTED = '{ airQuality { city { name airQuality { belaqi run { id } } } } }';
const NONE = '{ airQuality(country: "NL") { belaqi } }';
const CITY = `{ antwerpen: city(name: "Antwerpen") { airQuality { run { id } belaqi pollutants { parameter average } } }
  leuven: city(name: "Leuven") { name airQuality { belaqi } } }`;

async function query(on: App, operation: string) {
  const result = await graphql(on, operation);
  expect(result.errors).toBeUndefined();
  return result.data;
}

/** The run ids of the current windows, as Query.airQuality answers. */
async function currentRunIds(on: App): Promise<number[]> {
  const data = await query(on, '{ airQuality { run { id } } }');
  return data.airQuality.map((w: { run: { id: string } }) => Number(w.run.id));
}

const notThePollers = (statements: string[]) =>
  statements.filter((s) => s !== 'findCurrentRun' && s !== 'listRunWindows');

beforeAll(async () => {
  await ingestMeasurements(t.pool, [
    { ...measurement('Antwerpen', 'BETR801', 'PM10', 20, minutesAgo(30)), latitude: 51.2 },
    { ...measurement('Antwerpen', 'BETR802', 'NO2', 25, minutesAgo(40)), latitude: 51.3 },
    measurement('Gent', 'BETN012', 'PM25', 7.5, minutesAgo(20)),
    // Leuven has no measurement in the window: no current window.
    measurement('Leuven', 'BETL001', 'PM10', 12, minutesAgo(5 * 60)),
  ]);
  await callRefresh(t.db);
});

describe('the current windows, cached per run', () => {
  it('answers a query right after refreshAirQuality with the new run, in the process that made it', async () => {
    // No poll of its own within the test: only the mutation can show the new runs.
    const api = app({ POLL_INTERVAL_MS: '600000' });
    const first = await currentRunIds(api);
    expect(first).toHaveLength(2);
    for (let i = 0; i < 3; i += 1) {
      const run = await refreshMutation(api);
      expect(run).toBeGreaterThan(first[0] ?? 0);
      expect(await currentRunIds(api)).toEqual([run, run]);
      const city = await query(api, CITY);
      expect(Number(city.antwerpen.airQuality.run.id)).toBe(run);
      expect(city.leuven).toEqual({ name: 'Leuven', airQuality: null });
    }
  });

  it('shows a run made by a CALL elsewhere within two polls', async () => {
    const counted = countingPool(t.pool);
    const api = app({ POLL_INTERVAL_MS: '50' }, { pool: counted.pool });
    const before = await currentRunIds(api);
    const made = await callRefresh(t.db);
    expect(made).toBeGreaterThan(before[0] ?? 0);
    // A poll that starts after the CALL sees its run; one more started means that one is done.
    const polls = api.liveStats().poller.polls;
    await until(() => api.liveStats().poller.polls >= polls + 2, 'two more polls');
    expect(await currentRunIds(api)).toEqual([made, made]);
    expect(Number((await query(api, CITY)).antwerpen.airQuality.run.id)).toBe(made);
    // Only the feed read the windows; the city query found its city with SQL of its own.
    expect(notThePollers(counted.statements)).toEqual(['findCity', 'findCity']);
  });

  it('answers airQuality from the snapshot with no SQL, and the same as MariaDB does', async () => {
    const counted = countingPool(t.pool);
    const api = app({ POLL_INTERVAL_MS: '600000' }, { pool: counted.pool });
    await refreshMutation(api);
    counted.statements.length = 0;
    const feedBefore = api.liveStats().poller;
    const answers = new Map<string, unknown>();
    for (let i = 0; i < 20; i += 1) {
      for (const operation of [WINDOWS, FILTERED, NESTED, NONE]) {
        const data = await query(api, operation);
        if (i === 0) answers.set(operation, data);
        else expect(data).toEqual(answers.get(operation));
      }
    }
    expect(counted.statements).toEqual([]);
    // The first answer of each operation was executed and stored, the 76 others served whole.
    expect(api.windowCacheStats()).toEqual({ hits: 76, stored: 4, entries: 4 });
    const feed = api.liveStats().poller;
    expect(feed.snapshotReads - feedBefore.snapshotReads).toBe(80);
    expect(feed.fallbackReads).toBe(0);

    // An operation that also selects what is not per run is executed, its windows read from the
    // snapshot all the same: the only SQL is the other field's.
    for (let i = 0; i < 5; i += 1) {
      await query(api, '{ airQuality { city { name } belaqi } airQualityRuns(last: 1) { id } }');
    }
    expect(counted.statements).toEqual(Array(5).fill('listRuns'));
    expect(api.windowCacheStats().stored).toBe(4);

    // MariaDB's own answers, read by an app whose feed is stopped (the fallback path).
    const direct = app({});
    await direct.stop();
    for (const operation of [WINDOWS, FILTERED, NESTED, NONE, CITY]) {
      expect(await query(direct, operation)).toEqual(await query(api, operation));
    }
    expect((await query(api, WINDOWS)).airQuality).toMatchObject([
      { city: { name: 'Antwerpen', latitude: 51.25 }, pollutants: [{ parameter: 'NO2' }, {}] },
      { city: { name: 'Gent', latitude: null }, pollutants: [{ parameter: 'PM25', average: 7.5 }] },
    ]);
    // One read per request, however many fields of it need the windows.
    expect(direct.liveStats().poller.fallbackReads).toBe(5);
  });

  it('stops polling once queries stop; idle, it sends no SQL; the next query polls afresh', async () => {
    const counted = countingPool(t.pool);
    const api = app({ POLL_INTERVAL_MS: '50' }, { pool: counted.pool, live: { queryIdleMs: 300 } });
    await currentRunIds(api);
    const reading = api.liveStats().poller;
    expect(reading.timerActive || reading.polling).toBe(true);
    await until(() => {
      const { timerActive, polling } = api.liveStats().poller;
      return !timerActive && !polling;
    }, 'the poller to stop');

    const idle = api.liveStats().poller;
    const statements = counted.statements.length;
    const made = await callRefresh(t.db);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(counted.statements.length).toBe(statements);
    expect(api.liveStats().poller).toEqual(idle);

    // The snapshot is older than a poll interval: the query waits for a poll, never serving it.
    expect(await currentRunIds(api)).toEqual([made, made]);
    expect(counted.statements.slice(statements, statements + 2)).toEqual([
      'findCurrentRun',
      'listRunWindows',
    ]);
    // The windows came from that poll's load (later statements are the poller's, running again).
    expect(counted.statements.slice(statements + 2)).not.toContain('listCurrentWindows');
    expect(api.liveStats().poller.fallbackReads).toBe(0);
  });

  it('answers an error while MariaDB is unreachable, never the windows it last saw', async () => {
    const proxy = await startTcpProxy({ host: t.db.host, port: t.db.port });
    try {
      const pool = createPool({ ...t.db, host: '127.0.0.1', port: proxy.port }, 4);
      pools.push(pool);
      const api = app({ POLL_INTERVAL_MS: '50' }, { pool, live: { maxBackoffMs: 400 } });
      const before = await currentRunIds(api);
      expect(before).toHaveLength(2);

      proxy.cut();
      await until(() => api.liveStats().poller.down, 'a failed poll');
      const made = await callRefresh(t.db);
      const hits = api.windowCacheStats().hits;
      for (const operation of [WINDOWS, NESTED]) {
        const during = await graphql(api, operation);
        expect(during.data).toBeNull();
        expect(during.errors).toEqual([
          {
            message: expect.stringMatching(
              /^The database is unavailable \(connection (lost|reset)\)\. Try again in 5 seconds/,
            ),
            locations: [{ line: 1, column: 3 }],
            path: ['airQuality'],
            extensions: { code: 'DATABASE_UNAVAILABLE', retryable: true },
          },
        ]);
      }
      expect(api.windowCacheStats().hits).toBe(hits);

      // Back: the first query reads MariaDB itself, then wakes the feed.
      proxy.restore();
      expect(await currentRunIds(api)).toEqual([made, made]);
      await until(() => !api.liveStats().poller.down, 'the feed to be up again');
      expect(await currentRunIds(api)).toEqual([made, made]);
      // The two queries during the outage and the first one after it.
      expect(api.liveStats().poller.fallbackReads).toBe(3);
    } finally {
      await proxy.close();
    }
  });

  it('answers the same current windows after a backfill run', async () => {
    const counted = countingPool(t.pool);
    const api = app({ POLL_INTERVAL_MS: '600000' }, { pool: counted.pool });
    const run = await refreshMutation(api);
    const before = await query(api, WINDOWS);
    counted.statements.length = 0;
    const backfill = await refreshMutation(api, minutesAgo(60));
    expect(backfill).toBeGreaterThan(run);
    // The mutation's poll found the same current run: nothing to load (the run itself is made on
    // a connection of its own, which the counting pool does not see).
    expect(counted.statements).toEqual(['findCurrentRun']);
    const hits = api.windowCacheStats().hits;
    expect(await query(api, WINDOWS)).toEqual(before);
    expect(api.windowCacheStats().hits).toBe(hits + 1);
    expect(await currentRunIds(api)).toEqual([run, run]);
  });

  it('caches no answer that ingestion or a backfill changes, and no error', async () => {
    const api = app({ POLL_INTERVAL_MS: '600000' });
    await refreshMutation(api);
    const LOCATIONS = '{ airQuality(cities: ["Gent"]) { city { name locations { name } } } }';
    const CITIES = '{ cities { name } }';
    const RUNS = '{ airQualityRuns(last: 100) { id } }';
    const windows = await query(api, WINDOWS);
    expect(await query(api, LOCATIONS)).toEqual({
      airQuality: [{ city: { name: 'Gent', locations: [{ name: 'BETN012' }] } }],
    });
    const cities = (await query(api, CITIES)).cities.length;
    const runs = (await query(api, RUNS)).airQualityRuns.length;
    const bad = await graphql(api, '{ airQuality(country: "Belgium") { belaqi } }');
    expect(bad.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT' });
    expect(api.windowCacheStats().stored).toBe(1);

    await ingestMeasurements(t.pool, [
      measurement('Gent', 'BETN099', 'PM25', 9, minutesAgo(10)),
      measurement('Brugge', 'BEBR01', 'PM25', 9, minutesAgo(10)),
    ]);
    await refreshMutation(api, minutesAgo(90));
    expect(await query(api, LOCATIONS)).toEqual({
      airQuality: [
        { city: { name: 'Gent', locations: [{ name: 'BETN012' }, { name: 'BETN099' }] } },
      ],
    });
    expect((await query(api, CITIES)).cities).toHaveLength(cities + 1);
    expect((await query(api, RUNS)).airQualityRuns).toHaveLength(runs + 1);
    // The windows are those of the current run still, until a run is made.
    expect(await query(api, WINDOWS)).toEqual(windows);
    expect(api.windowCacheStats()).toMatchObject({ stored: 1, entries: 1 });
  });
});
