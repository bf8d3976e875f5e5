import type { Connection, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transactionRetries } from '../src/db/transaction.js';
import { toMicrograms } from './helpers/air-quality-reference.js';
import { postWithToken, useApp } from './helpers/app.js';
import { connect, useTestDatabase, waitFor } from './helpers/database.js';
import { INGEST, measurement } from './helpers/measurements.js';
import {
  attributes,
  cityId,
  finalValue,
  type Key,
  planRound,
  type Send,
  type Station,
  stationId,
  toItem,
} from './helpers/overlapping-batches.js';
import { MINUTE, sqlTime } from './helpers/seed.js';

/*
 * Overlapping batches ingested in parallel through the API (real HTTP, a token) while refreshes
 * run in a loop, for a bounded wall time; then the exact final state. The batches are planned in
 * helpers/overlapping-batches.ts so that the final state does not depend on the order the server
 * runs them in. Then a real deadlock with another writer, absorbed inside.
 */

/** Wall time during which new work is issued; what is in flight at the deadline is awaited. */
const DURATION_MS = 60_000;
/** Concurrent ingesting clients. */
const INGESTERS = 5;
/** A round lasts at least this long, so that the load stays moderate on a shared 2-core machine. */
const ROUND_MIN_MS = 250;
/** Pause between two refreshAirQuality calls of the refreshing client. */
const REFRESH_PAUSE_MS = 100;
/** Pause between two CALLs of the procedure from a connection of its own, as the EVENT makes. */
const EVENT_PAUSE_MS = 400;
/** Pause between two reads of the reading client. */
const READ_PAUSE_MS = 300;

/** The instant every refreshAirQuality of the test evaluates; data lies before it. */
const T0 = Math.floor(Date.now() / MINUTE) * MINUTE - 10 * MINUTE;
const WINDOW_START = T0 - 180 * MINUTE;
const inWindow = (measuredAt: number) => measuredAt > WINDOW_START && measuredAt <= T0;

const REFRESH = `mutation Refresh($at: DateTime) {
  refreshAirQuality(at: $at) { id evaluatedAt windowStart windowEnd measurements cities }
}`;
const READ = `{ airQuality { city { name country } pollutants { parameter count } } cities { name country } }`;

interface Answer {
  readonly client: string;
  readonly status: number;
  // biome-ignore lint/suspicious/noExplicitAny: the shape the operation asked for
  readonly body: any;
}

const t = useTestDatabase(import.meta.filename);
// The production default: refreshAirQuality waits up to 5 s for a run in progress.
// One token for every client, writing as fast as the machine allows: the per-token rate limit
// (tested in hostile-queries.test.ts) would answer RATE_LIMITED on a fast one.
const api = useApp(t, { env: { WRITE_RATE_LIMIT: '0' }, options: { refreshWaitSeconds: 5 } });
let eventConnection: Connection;
beforeAll(async () => {
  eventConnection = await connect(t.db);
});
afterAll(async () => {
  await eventConnection?.end();
});

/** A real HTTP request with the token; a transport failure is an answer too (status 0). */
async function post(
  client: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<Answer> {
  try {
    const response = await postWithToken(api.url, JSON.stringify({ query, variables }));
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = { unparsable: text.slice(0, 200) };
    }
    return { client, status: response.status, body };
  } catch (error) {
    return { client, status: 0, body: { transportError: String(error) } };
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function rows<T>(sql: string, values: unknown[] = []): Promise<T[]> {
  const [result] = await t.pool.query<RowDataPacket[]>(sql, values);
  return result as T[];
}

/**
 * Whether a statement named `name` of this database waits for a row lock: the transaction of its
 * thread says LOCK WAIT in InnoDB's status (information_schema.INNODB_TRX leaves out transactions
 * that have only taken share locks).
 */
async function waitsForLock(connection: Connection, name: string): Promise<true | undefined> {
  const [threads] = await connection.query<RowDataPacket[]>(
    'SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND INFO LIKE ?',
    [`/* ${name} */%`],
  );
  const [[status]] = await connection.query<RowDataPacket[]>('SHOW ENGINE INNODB STATUS');
  const transactions = String(status?.Status).split('\n---TRANSACTION ');
  return threads.some((thread) =>
    transactions.some(
      (trx) => trx.includes(`MariaDB thread id ${thread.id},`) && trx.includes('\nLOCK WAIT '),
    ),
  )
    ? true
    : undefined;
}

/** Floating-point results compared to 12 significant digits: the order of a sum may differ. */
const round12 = (x: number) => Number(x.toPrecision(12));

/** What a minute of load left: every answer, and what was planned and sent. */
interface Load {
  readonly ingestAnswers: (Answer & { sent: Send[] })[];
  /** With the size of the window's acknowledged keys when asked, and of its sent keys when answered. */
  readonly refreshAnswers: (Answer & { acknowledgedBefore: number; sentBefore: number })[];
  readonly readAnswers: Answer[];
  readonly eventCalls: { runId?: number; errno?: number; message?: string }[];
  readonly allKeys: Key[];
  readonly stationsWithAttributes: Set<string>;
  readonly correctedNew: number;
  readonly correctedPrevious: number;
  readonly rounds: number;
  readonly absorbed: { deadlocks: number; lockWaitTimeouts: number };
}

/**
 * INGESTERS clients ingest the planned rounds for DURATION_MS, while one client calls
 * refreshAirQuality(at: T0) in a loop, one connection CALLs the procedure as the EVENT does, and
 * one client reads the current windows. Each loop stops issuing work at the deadline and finishes
 * what it has in flight. No client retries anything: every answer is recorded as it came.
 */
async function runLoad(): Promise<Load> {
  const retriesBefore = transactionRetries();
  const started = Date.now();
  const deadline = started + DURATION_MS;
  const ingestAnswers: Load['ingestAnswers'] = [];
  const refreshAnswers: Load['refreshAnswers'] = [];
  const readAnswers: Answer[] = [];
  const eventCalls: Load['eventCalls'] = [];
  // Keys of the API refreshes' window: sent (request issued) and acknowledged (answered).
  const sentInWindow = new Set<string>();
  const acknowledgedInWindow = new Set<string>();
  const allKeys: Key[] = [];
  const stationsWithAttributes = new Set<string>();
  let correctedNew = 0;
  let correctedPrevious = 0;
  let rounds = 0;
  let done = false;

  const ingesting = (async () => {
    let previous: Key[] = [];
    for (let r = 0; Date.now() < deadline; r += 1) {
      const roundStarted = Date.now();
      const plan = planRound(r, previous, { t0: T0, clients: INGESTERS });
      await Promise.all(
        plan.batches.map(async (pair, c) => {
          for (const batch of pair) {
            if (batch.length === 0) continue;
            for (const send of batch) {
              if (inWindow(send.key.measuredAt)) sentInWindow.add(send.key.id);
              if (send.withAttributes) stationsWithAttributes.add(stationId(send.key.station));
            }
            const answer = await post(`ingester ${c}`, INGEST, { m: batch.map(toItem) });
            ingestAnswers.push({ ...answer, sent: batch });
            if (answer.status === 200 && !answer.body.errors) {
              for (const send of batch) {
                if (inWindow(send.key.measuredAt)) acknowledgedInWindow.add(send.key.id);
              }
            }
          }
        }),
      );
      allKeys.push(...plan.newKeys);
      correctedNew += plan.correctedNew;
      correctedPrevious += plan.correctedPrevious;
      previous = plan.newKeys;
      rounds += 1;
      await sleep(Math.max(0, roundStarted + ROUND_MIN_MS - Date.now()));
    }
  })().finally(() => {
    done = true;
  });

  const refreshing = (async () => {
    while (!done) {
      const acknowledgedBefore = acknowledgedInWindow.size;
      const answer = await post('refresher', REFRESH, { at: new Date(T0).toISOString() });
      refreshAnswers.push({ ...answer, acknowledgedBefore, sentBefore: sentInWindow.size });
      await sleep(REFRESH_PAUSE_MS);
    }
  })();

  // As the EVENT does: CALL with UTC_TIMESTAMP(3) on a connection of its own. It does not wait
  // for the lock: a run in progress makes it fail at once, and the next one comes later.
  const calling = (async () => {
    while (!done) {
      try {
        await eventConnection.query('CALL refresh_air_quality(UTC_TIMESTAMP(3))');
        const [[row]] = await eventConnection.query<RowDataPacket[]>(
          'SELECT @refresh_air_quality_run_id AS id',
        );
        eventCalls.push({ runId: Number(row?.id) });
      } catch (error) {
        const { errno, message } = error as { errno?: number; message?: string };
        eventCalls.push({ errno, message });
      }
      await sleep(EVENT_PAUSE_MS);
    }
  })();

  const reading = (async () => {
    while (!done) {
      readAnswers.push(await post('reader', READ));
      await sleep(READ_PAUSE_MS);
    }
  })();

  await Promise.all([ingesting, refreshing, calling, reading]);
  const retries = transactionRetries();
  const load: Load = {
    ingestAnswers,
    refreshAnswers,
    readAnswers,
    eventCalls,
    allKeys,
    stationsWithAttributes,
    correctedNew,
    correctedPrevious,
    rounds,
    absorbed: {
      deadlocks: retries.deadlocks - retriesBefore.deadlocks,
      lockWaitTimeouts: retries.lockWaitTimeouts - retriesBefore.lockWaitTimeouts,
    },
  };
  const eventRuns = eventCalls.filter((call) => call.runId !== undefined).length;
  const [[durations]] = await t.pool.query<RowDataPacket[]>(
    'SELECT MAX(duration_ms) AS longest, AVG(duration_ms) AS mean FROM air_quality_run',
  );
  console.log(
    `concurrency: ${rounds} rounds in ${Date.now() - started} ms, ${ingestAnswers.length} ` +
      `batches of ${ingestAnswers.reduce((sum, a) => sum + a.sent.length, 0)} items from ` +
      `${INGESTERS} clients, ${allKeys.length} keys; ${refreshAnswers.length} API refreshes, ` +
      `${eventRuns} event-like runs (${eventCalls.length - eventRuns} skipped: a run in ` +
      `progress), ${readAnswers.length} reads; retried inside: ${load.absorbed.deadlocks} ` +
      `deadlocks, ${load.absorbed.lockWaitTimeouts} lock wait timeouts; runs took ` +
      `${Math.round(durations?.mean)} ms on average, ${Math.round(durations?.longest)} ms at most`,
  );
  return load;
}

const byIdOrder = (a: { id?: unknown }, b: { id?: unknown }) =>
  String(a.id) < String(b.id) ? -1 : 1;

describe('a minute of overlapping batches in parallel, with refreshes in a loop', () => {
  let load: Load;
  let final: Answer;
  beforeAll(async () => {
    load = await runLoad();
    // The final refresh, once everything is stored.
    final = await post('refresher', REFRESH, { at: new Date(T0).toISOString() });
  }, DURATION_MS + 120_000);

  const sum = (field: 'inserted' | 'updated' | 'unchanged') =>
    load.ingestAnswers.reduce(
      (total, a) => total + (a.body.data?.ingestMeasurements?.[field] ?? 0),
      0,
    );

  it('never answers any client with an error, and masks none', () => {
    expect(load.rounds).toBeGreaterThan(1);
    expect(load.refreshAnswers.length).toBeGreaterThan(1);
    expect(load.readAnswers.length).toBeGreaterThan(1);
    const all = [...load.ingestAnswers, ...load.refreshAnswers, ...load.readAnswers, final];
    const failed = all.filter(
      (a) => a.status !== 200 || a.body.errors !== undefined || a.body.data == null,
    );
    expect(
      failed.slice(0, 5).map((a) => ({ client: a.client, status: a.status, body: a.body })),
    ).toEqual([]);
    expect(failed.length).toBe(0);
    // Nor did the server meet an unexpected error that it masked and logged.
    expect(api.app.logger.errors.map((args) => String(args[0]))).toEqual([]);
  });

  it('accounts for every item, and inserts each key exactly once', async () => {
    for (const answer of load.ingestAnswers) {
      const result = answer.body.data.ingestMeasurements;
      expect(result.rejected).toEqual([]);
      expect(result.received).toBe(answer.sent.length);
      expect(result.inserted + result.updated + result.unchanged).toBe(answer.sent.length);
    }
    const [{ stored }] = (await rows<{ stored: number }>(
      'SELECT COUNT(*) AS stored FROM measurement',
    )) as [{ stored: number }];
    expect(sum('inserted')).toBe(load.allKeys.length);
    expect(stored).toBe(load.allKeys.length);
    // Updates happen only where a correction changed a value: 2 per key of an earlier round
    // (final → correction → final), 1 or 2 per key corrected in its own round (1 when the
    // correction came first and was inserted).
    expect(sum('updated')).toBeGreaterThanOrEqual(2 * load.correctedPrevious + load.correctedNew);
    expect(sum('updated')).toBeLessThanOrEqual(2 * (load.correctedPrevious + load.correctedNew));
    expect(load.correctedNew).toBeGreaterThan(0);
    expect(load.correctedPrevious).toBeGreaterThan(0);
  });

  it('leaves every key with its final value, whatever order the batches ran in', async () => {
    const storedRows = await rows<{
      id: string;
      originalValue: number;
      originalUnit: string;
      value: number;
    }>(
      `SELECT CONCAT_WS('|', c.country, c.name, l.name, m.pollutant,
                        TIMESTAMPDIFF(MICROSECOND, '1970-01-01', m.measured_at) DIV 1000) AS id,
              m.original_value AS originalValue, m.original_unit AS originalUnit, m.value
       FROM measurement m JOIN location l ON l.id = m.location_id JOIN city c ON c.id = l.city_id`,
    );
    const byId = new Map(storedRows.map((row) => [row.id, row]));
    const wrong = load.allKeys
      .map((key) => {
        const expected = {
          id: key.id,
          originalValue: finalValue(key),
          originalUnit: key.unit,
          value: round12(toMicrograms(key.pollutant, finalValue(key), key.unit)),
        };
        const row = byId.get(key.id);
        return { expected, actual: row && { ...row, value: round12(row.value) } };
      })
      .filter(({ expected, actual }) => JSON.stringify(expected) !== JSON.stringify(actual));
    expect(wrong.slice(0, 5)).toEqual([]);
    expect(wrong.length).toBe(0);
  });

  it('creates exactly the cities and stations sent, once each, with their attributes', async () => {
    const expectedStations = new Map<string, Station>();
    for (const key of load.allKeys) expectedStations.set(stationId(key.station), key.station);
    const cities = await rows<{ id: string }>("SELECT CONCAT(country, '|', name) AS id FROM city");
    expect(cities.map((c) => c.id).sort()).toEqual(
      [...new Set([...expectedStations.values()].map(cityId))].sort(),
    );
    const locations = await rows<Record<string, unknown>>(
      `SELECT CONCAT(c.country, '|', c.name, '|', l.name) AS id, l.latitude, l.longitude,
              l.source_name AS sourceName
       FROM location l JOIN city c ON c.id = l.city_id`,
    );
    const expectedLocations = [...expectedStations.values()].map((station) => {
      const id = stationId(station);
      return load.stationsWithAttributes.has(id)
        ? { id, ...attributes(station) }
        : { id, latitude: null, longitude: null, sourceName: null };
    });
    expect(locations.sort(byIdOrder)).toEqual(expectedLocations.sort(byIdOrder));
  });

  it('made a run of every refresh, each seeing every batch acknowledged before it', async () => {
    // Each API refresh: a run of its own at T0, that saw every batch answered before it was asked
    // for and nothing not yet sent when it answered; one after the other, runs only grow.
    const runs = load.refreshAnswers.map((a) => a.body.data.refreshAirQuality);
    expect(new Set(runs.map((run) => run.id)).size).toBe(runs.length);
    for (const [i, answer] of load.refreshAnswers.entries()) {
      const run = runs[i];
      expect(run.evaluatedAt).toBe(new Date(T0).toISOString());
      expect(run.measurements).toBeGreaterThanOrEqual(answer.acknowledgedBefore);
      expect(run.measurements).toBeLessThanOrEqual(answer.sentBefore);
      if (i > 0) expect(run.measurements).toBeGreaterThanOrEqual(runs[i - 1].measurements);
    }
    // The event-like CALLs made a run each, or were skipped because a run was in progress (the
    // API's refreshes hold the lock often): nothing else.
    const eventRuns = load.eventCalls.filter((call) => call.runId !== undefined);
    expect(
      load.eventCalls.filter(
        (call) =>
          call.runId === undefined &&
          !(call.errno === 1644 && /another run is in progress/.test(call.message ?? '')),
      ),
    ).toEqual([]);
    expect(eventRuns.length).toBeGreaterThan(0);
    // Every run in the table is one of those, or the final one.
    const storedRuns = await rows<{ id: number; measurements: number }>(
      'SELECT id, measurements FROM air_quality_run ORDER BY id',
    );
    expect(storedRuns.map((run) => String(run.id)).sort()).toEqual(
      [
        ...runs.map((run) => String(run.id)),
        ...eventRuns.map((call) => String(call.runId)),
        String(final.body.data.refreshAirQuality.id),
      ].sort(),
    );
    // Their window slides by a minute or two during the test, past no measurement instant
    // (OFFSETS_MIN are 25 minutes apart), so they only grow too.
    const eventMeasurements = storedRuns
      .filter((run) => eventRuns.some((call) => call.runId === run.id))
      .map((run) => run.measurements);
    for (let i = 1; i < eventMeasurements.length; i += 1) {
      expect(eventMeasurements[i]).toBeGreaterThanOrEqual(eventMeasurements[i - 1] as number);
    }
  });

  it('ends with a run that holds exactly what the window holds', async () => {
    const finalRun = final.body.data.refreshAirQuality;
    const windowKeys = load.allKeys.filter((key) => inWindow(key.measuredAt));
    const [{ inWindowCount }] = (await rows<{ inWindowCount: number }>(
      'SELECT COUNT(*) AS inWindowCount FROM measurement WHERE measured_at > ? AND measured_at <= ?',
      [sqlTime(WINDOW_START), sqlTime(T0)],
    )) as [{ inWindowCount: number }];
    expect(finalRun.measurements).toBe(windowKeys.length);
    expect(inWindowCount).toBe(windowKeys.length);
    expect(finalRun.cities).toBe(new Set(windowKeys.map((key) => cityId(key.station))).size);

    // Per city and pollutant: as a direct aggregate of the measurements says, and as planned.
    interface WindowRow {
      id: string;
      count: number;
      locations: number;
      min: number;
      max: number;
      average: number;
    }
    const aggregate = await rows<WindowRow>(
      `SELECT CONCAT(c.country, '|', c.name, '|', m.pollutant) AS id, COUNT(*) AS count,
              COUNT(DISTINCT m.location_id) AS locations, MIN(m.value) AS min, MAX(m.value) AS max,
              AVG(m.value) AS average
       FROM measurement m JOIN location l ON l.id = m.location_id JOIN city c ON c.id = l.city_id
       WHERE m.measured_at > ? AND m.measured_at <= ?
       GROUP BY c.country, c.name, m.pollutant`,
      [sqlTime(WINDOW_START), sqlTime(T0)],
    );
    const written = await rows<WindowRow>(
      `SELECT CONCAT(c.country, '|', c.name, '|', w.pollutant) AS id, w.count, w.locations,
              w.min, w.max, w.average
       FROM city_air_quality w JOIN city c ON c.id = w.city_id WHERE w.run_id = ?`,
      [finalRun.id],
    );
    const comparable = (list: WindowRow[]) =>
      list
        .map((w) => ({
          ...w,
          min: round12(w.min),
          max: round12(w.max),
          average: round12(w.average),
        }))
        .sort(byIdOrder);
    expect(comparable(written)).toEqual(comparable(aggregate));
    const planned = new Map<string, { count: number; stations: Set<string> }>();
    for (const key of windowKeys) {
      const id = `${cityId(key.station)}|${key.pollutant}`;
      const group = planned.get(id) ?? { count: 0, stations: new Set<string>() };
      group.count += 1;
      group.stations.add(stationId(key.station));
      planned.set(id, group);
    }
    expect(
      written.map((w) => ({ id: w.id, count: w.count, locations: w.locations })).sort(byIdOrder),
    ).toEqual(
      [...planned]
        .map(([id, g]) => ({ id, count: g.count, locations: g.stations.size }))
        .sort(byIdOrder),
    );
  });
});

describe('a deadlock with another writer', () => {
  it('absorbs a real deadlock inside: the batch is stored once, the client sees no error', async () => {
    // Another writer (a script, Adminer) updates two stations in the opposite order of a batch's
    // locks: a genuine deadlock, whose victim InnoDB picks by weight. That writer has written 200
    // rows first, so the batch is the lighter transaction and the victim.
    const measuredAt = (minutes: number) => new Date(T0 - minutes * MINUTE).toISOString();
    const item = (location: string, minutes: number) =>
      measurement('Deadlock', location, 'PM10', minutes, measuredAt(minutes));
    const seeded = await post('seed', INGEST, {
      m: ['DL-1', 'DL-2', 'DL-3'].map((name) => item(name, 1)),
    });
    expect(seeded.body).toEqual({
      data: {
        ingestMeasurements: { received: 3, inserted: 3, updated: 0, unchanged: 0, rejected: [] },
      },
    });
    const ids = await rows<{ name: string; id: number }>(
      `SELECT l.name, l.id FROM location l JOIN city c ON c.id = l.city_id
       WHERE c.name = 'Deadlock' ORDER BY l.name`,
    );
    const [first, second, third] = ids.map((row) => row.id) as [number, number, number];
    expect(first).toBeLessThan(second);

    const retriesBefore = transactionRetries();
    const other = await connect(t.db);
    try {
      await other.query('START TRANSACTION');
      await other.query(
        `INSERT INTO measurement (location_id, pollutant, measured_at, original_value, original_unit)
         SELECT ?, 'o3', ? - INTERVAL seq MINUTE, 1, 'µg/m³' FROM seq_1_to_200`,
        [third, sqlTime(T0 - 300 * MINUTE)],
      );
      await other.query("UPDATE location SET source_type = 'held' WHERE id = ?", [second]);

      // The batch share-locks its stations in id order: the first, then it waits for the second.
      const batch = [item('DL-2', 2), item('DL-1', 2), item('DL-2', 3)];
      const answering = post('ingester', INGEST, { m: batch });
      await waitFor(() => waitsForLock(other, 'lockLocations'), 20_000, 'the batch to wait', 20);
      // The other writer now wants the first station, which the waiting batch holds: a cycle.
      // InnoDB rolls the batch back at once, and this UPDATE goes through.
      await other.query("UPDATE location SET source_type = 'held' WHERE id = ?", [first]);
      await other.query('ROLLBACK');

      const answer = await answering;
      expect(answer.body).toEqual({
        data: {
          ingestMeasurements: { received: 3, inserted: 3, updated: 0, unchanged: 0, rejected: [] },
        },
      });
      const retries = transactionRetries();
      expect(retries.deadlocks - retriesBefore.deadlocks).toBe(1);
      expect(
        await rows(
          `SELECT l.name, l.source_type AS sourceType, COUNT(*) AS n FROM location l
           JOIN measurement m ON m.location_id = l.id WHERE l.id IN (?) GROUP BY l.id ORDER BY l.name`,
          [[first, second, third]],
        ),
      ).toEqual([
        { name: 'DL-1', sourceType: null, n: 2 },
        { name: 'DL-2', sourceType: null, n: 3 },
        { name: 'DL-3', sourceType: null, n: 1 },
      ]);
    } finally {
      await other.end();
    }
  });
});
