import type { Connection, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transactionRetries } from '../src/db/transaction.js';
import { createRandom } from '../src/generator/random.js';
import { toMicrograms } from './helpers/air-quality-reference.js';
import { TOKEN, testApp } from './helpers/app.js';
import { connect, createTestDatabase, type TestDatabase, waitFor } from './helpers/database.js';
import { MINUTE, sqlTime } from './helpers/seed.js';

/*
 * Overlapping batches ingested in parallel through the API while refreshes run in a loop, for a
 * bounded wall time. The batches are planned so that the final state is exactly predictable
 * whatever order the server runs them in:
 * - every measurement key (station, pollutant, measuredAt) has a final value that is a function of
 *   the key, and most keys are sent by several clients at once, in different orders;
 * - a "correction" sends a different value first and the final value afterwards, from the same
 *   client: whatever interleaving, the last write of such a key is a final value;
 * - every round brings new cities and stations that every client's batches name at the same
 *   time (in BE, and in NL under the same names), and a new station in an existing city;
 * - coordinates of a station come with about half of its items; null never erases them.
 * Rounds are separated by a barrier, so that keys of earlier rounds are known to be stored when a
 * later round corrects them.
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

const POLLUTANTS = ['pm10', 'no2', 'o3'] as const;
/** Minutes before T0 at which stations measure; 180 is the window's excluded lower bound. */
const OFFSETS_MIN = [5, 30, 55, 80, 105, 130, 155, 180, 205];
/** The instant every refreshAirQuality of the test evaluates; data lies before it. */
const T0 = Math.floor(Date.now() / MINUTE) * MINUTE - 10 * MINUTE;
const WINDOW_START = T0 - 180 * MINUTE;
const inWindow = (measuredAt: number) => measuredAt > WINDOW_START && measuredAt <= T0;

interface Station {
  readonly country: string;
  readonly city: string;
  readonly name: string;
}
interface Key {
  readonly id: string;
  readonly station: Station;
  readonly pollutant: string;
  readonly measuredAt: number;
  readonly unit: 'µg/m³' | 'ppm';
}
/** One item of a batch: a key, the value sent, and whether the station's attributes come with it. */
interface Send {
  readonly key: Key;
  readonly value: number;
  readonly withAttributes: boolean;
}

const stationId = (s: Station) => `${s.country}|${s.city}|${s.name}`;
const cityId = (c: { country: string; city: string }) => `${c.country}|${c.city}`;
/** A number in [0, 1) that depends only on the text. */
const hash = (text: string) => createRandom(text).next();

/** The value every key ends with. */
function finalValue(key: Key): number {
  const u = hash(`value ${key.id}`);
  return key.unit === 'ppm' ? Math.round(u * 100) / 1000 : Math.round(u * 2000) / 10;
}
/** The value a correction sends before the final one: always different from it. */
const correctionValue = (key: Key) => finalValue(key) + (key.unit === 'ppm' ? 0.05 : 50);

function attributes(station: Station) {
  const id = stationId(station);
  return {
    latitude: 49.5 + Math.round(hash(`lat ${id}`) * 1e6) / 1e6,
    longitude: 2.5 + Math.round(hash(`lon ${id}`) * 1e6) / 1e6,
    sourceName: `source ${station.name}`,
  };
}

/** The stations round r brings: two cities of BE (and every third round NL), one new station. */
function roundStations(r: number): Station[] {
  const cities: [string, string][] = [
    ['BE', `Stad ${r}A`],
    ['BE', `Stad ${r}B`],
  ];
  if (r % 3 === 0) cities.push(['NL', `Stad ${r}A`]);
  const stations = cities.flatMap(([country, city]) =>
    ['ST-1', 'ST-2'].map((name) => ({ country, city, name })),
  );
  if (r > 0) stations.push({ country: 'BE', city: `Stad ${r - 1}A`, name: `ST-X${r}` });
  return stations;
}

function keysOf(stations: readonly Station[]): Key[] {
  return stations.flatMap((station) =>
    POLLUTANTS.flatMap((pollutant) =>
      OFFSETS_MIN.map((offset) => {
        const measuredAt = T0 - offset * MINUTE;
        const unit = pollutant === 'no2' && station.city.endsWith('B') ? 'ppm' : 'µg/m³';
        const id = `${stationId(station)}|${pollutant}|${measuredAt}`;
        return { id, station, pollutant, measuredAt, unit } as const;
      }),
    ),
  );
}

interface RoundPlan {
  /** batches[client][0 | 1]: each client sends its first batch, then its second. */
  readonly batches: Send[][][];
  readonly newKeys: Key[];
  /** Keys of this round corrected in this round: 1 or 2 updates each, depending on the order. */
  readonly correctedNew: number;
  /** Keys of the previous round corrected in this one: exactly 2 updates each (F → I → F). */
  readonly correctedPrevious: number;
}

/**
 * Round r's batches. Every new key goes to a random first client and to each other client with
 * probability 0.4; 15% of new keys and 10% of the previous round's keys are corrected by one
 * client (correction in its first batch, final value in its second); 15% of the previous round's
 * keys are sent again, unchanged, by each other client. Each batch is shuffled.
 */
function planRound(r: number, previous: readonly Key[]): RoundPlan {
  const random = createRandom(`concurrency round ${r}`);
  const batches = Array.from({ length: INGESTERS }, (): Send[][] => [[], []]);
  const add = (client: number, batch: number, key: Key, value: number) =>
    batches[client]?.[batch]?.push({ key, value, withAttributes: random.next() < 0.5 });
  const pickClient = () => Math.floor(random.next() * INGESTERS);
  const pickBatch = () => (random.next() < 0.5 ? 0 : 1);

  const newKeys = keysOf(roundStations(r));
  let correctedNew = 0;
  for (const key of newKeys) {
    const first = pickClient();
    if (random.next() < 0.15) {
      add(first, 0, key, correctionValue(key));
      add(first, 1, key, finalValue(key));
      correctedNew += 1;
    } else {
      add(first, pickBatch(), key, finalValue(key));
    }
    for (let c = 0; c < INGESTERS; c += 1) {
      if (c !== first && random.next() < 0.4) add(c, pickBatch(), key, finalValue(key));
    }
  }
  let correctedPrevious = 0;
  for (const key of previous) {
    let corrector = -1;
    if (random.next() < 0.1) {
      corrector = pickClient();
      add(corrector, 0, key, correctionValue(key));
      add(corrector, 1, key, finalValue(key));
      correctedPrevious += 1;
    }
    for (let c = 0; c < INGESTERS; c += 1) {
      if (c !== corrector && random.next() < 0.15) add(c, pickBatch(), key, finalValue(key));
    }
  }
  for (const pair of batches) {
    for (const batch of pair) {
      for (let i = batch.length - 1; i > 0; i -= 1) {
        const j = Math.floor(random.next() * (i + 1));
        [batch[i], batch[j]] = [batch[j] as Send, batch[i] as Send];
      }
    }
  }
  return { batches, newKeys, correctedNew, correctedPrevious };
}

const PARAMETER: Record<string, string> = { pm10: 'PM10', no2: 'NO2', o3: 'O3' };

function toItem({ key, value, withAttributes }: Send) {
  return {
    location: key.station.name,
    city: key.station.city,
    country: key.station.country,
    parameter: PARAMETER[key.pollutant],
    value,
    unit: key.unit,
    measuredAt: new Date(key.measuredAt).toISOString(),
    ...(withAttributes ? attributes(key.station) : {}),
  };
}

const INGEST = `mutation Ingest($m: [MeasurementInput!]!) {
  ingestMeasurements(measurements: $m) { received inserted updated unchanged rejected { index reason } }
}`;
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

let t: TestDatabase;
let app: ReturnType<typeof testApp>;
let url: string;
let eventConnection: Connection;
beforeAll(async () => {
  t = await createTestDatabase(import.meta.filename);
  // The production default: refreshAirQuality waits up to 5 s for a run in progress.
  app = testApp(t, {}, { refreshWaitSeconds: 5 });
  ({ url } = await app.start(0, '127.0.0.1'));
  eventConnection = await connect(t.db);
});
afterAll(async () => {
  await eventConnection?.end();
  await app?.stop();
  await t?.drop();
});

/** A real HTTP request with the token; a transport failure is an answer too (status 0). */
async function post(
  client: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<Answer> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        authorization: `Bearer ${TOKEN}`,
      },
      body: JSON.stringify({ query, variables }),
    });
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

describe('concurrent ingestion and refreshes', () => {
  it(
    'stores overlapping parallel batches exactly, with no error reaching any client',
    async () => {
      const retriesBefore = transactionRetries();
      const started = Date.now();
      const deadline = started + DURATION_MS;

      // Everything every client was answered, in order of arrival.
      const ingestAnswers: (Answer & { sent: Send[] })[] = [];
      const refreshAnswers: (Answer & { acknowledgedBefore: number; sentBefore: number })[] = [];
      const readAnswers: Answer[] = [];
      const eventCalls: { runId?: number; errno?: number; message?: string }[] = [];

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
          const plan = planRound(r, previous);
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

      // As the EVENT would: CALL with UTC_TIMESTAMP(3) on a connection of its own. It does not
      // wait for the lock: a run in progress makes it fail at once, and the next one comes later.
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
      const elapsedMs = Date.now() - started;
      const retries = transactionRetries();
      const absorbed = {
        deadlocks: retries.deadlocks - retriesBefore.deadlocks,
        lockWaitTimeouts: retries.lockWaitTimeouts - retriesBefore.lockWaitTimeouts,
      };

      // The final refresh, once everything is stored.
      const final = await post('refresher', REFRESH, { at: new Date(T0).toISOString() });

      const itemsSent = ingestAnswers.reduce((sum, a) => sum + a.sent.length, 0);
      const sum = (field: 'inserted' | 'updated' | 'unchanged') =>
        ingestAnswers.reduce(
          (total, a) => total + (a.body.data?.ingestMeasurements?.[field] ?? 0),
          0,
        );
      const eventRuns = eventCalls.filter((call) => call.runId !== undefined);
      console.log(
        `concurrency: ${rounds} rounds in ${elapsedMs} ms, ${ingestAnswers.length} batches of ` +
          `${itemsSent} items from ${INGESTERS} clients, ${allKeys.length} keys; ` +
          `${refreshAnswers.length} API refreshes, ${eventRuns.length} event-like runs ` +
          `(${eventCalls.length - eventRuns.length} skipped: a run in progress), ` +
          `${readAnswers.length} reads; retried inside: ${absorbed.deadlocks} deadlocks, ` +
          `${absorbed.lockWaitTimeouts} lock wait timeouts`,
      );

      // No client ever saw an error, whatever it asked.
      const failed = [...ingestAnswers, ...refreshAnswers, ...readAnswers, final].filter(
        (a) => a.status !== 200 || a.body.errors !== undefined || a.body.data == null,
      );
      expect(
        failed.slice(0, 5).map((a) => ({ client: a.client, status: a.status, body: a.body })),
      ).toEqual([]);
      expect(failed.length).toBe(0);
      // Nor did the server meet an unexpected error it masked to the client.
      expect(app.logger.errors.map((args) => String(args[0]))).toEqual([]);
      expect(rounds).toBeGreaterThan(1);

      // Every batch accounted for every item it was sent.
      for (const answer of ingestAnswers) {
        const result = answer.body.data.ingestMeasurements;
        expect(result.rejected).toEqual([]);
        expect(result.received).toBe(answer.sent.length);
        expect(result.inserted + result.updated + result.unchanged).toBe(answer.sent.length);
      }
      // Each key inserted exactly once, by whichever client came first.
      const [{ stored, distinct }] = (await rows<{ stored: number; distinct: number }>(
        `SELECT COUNT(*) AS stored,
                COUNT(DISTINCT location_id, pollutant, measured_at) AS \`distinct\`
         FROM measurement`,
      )) as [{ stored: number; distinct: number }];
      expect(sum('inserted')).toBe(allKeys.length);
      expect(stored).toBe(allKeys.length);
      expect(distinct).toBe(allKeys.length);
      expect(sum('inserted') + sum('updated') + sum('unchanged')).toBe(itemsSent);
      // Updates happen only where a correction changed a value: 2 per corrected key of an earlier
      // round (final → correction → final), 1 or 2 per key corrected in its own round.
      expect(sum('updated')).toBeGreaterThanOrEqual(2 * correctedPrevious + correctedNew);
      expect(sum('updated')).toBeLessThanOrEqual(2 * correctedPrevious + 2 * correctedNew);

      // Every stored value is the key's final value.
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
      const wrong = allKeys
        .map((key) => {
          const expected = {
            id: key.id,
            originalValue: finalValue(key),
            originalUnit: key.unit,
            value: round12(toMicrograms(key.pollutant, finalValue(key), key.unit)),
          };
          const row = byId.get(key.id);
          const actual = row && { ...row, value: round12(row.value) };
          return { expected, actual };
        })
        .filter(({ expected, actual }) => JSON.stringify(expected) !== JSON.stringify(actual));
      expect(wrong.slice(0, 5)).toEqual([]);
      expect(wrong.length).toBe(0);

      // Cities and stations: exactly the expected sets, each once, with their attributes.
      const expectedStations = new Map<string, Station>();
      for (const key of allKeys) expectedStations.set(stationId(key.station), key.station);
      const expectedCities = [...new Set([...expectedStations.values()].map(cityId))].sort();
      const cities = await rows<{ id: string }>(
        "SELECT CONCAT(country, '|', name) AS id FROM city ORDER BY id",
      );
      expect(cities.map((c) => c.id).sort()).toEqual(expectedCities);
      const locations = await rows<Record<string, unknown>>(
        `SELECT CONCAT(c.country, '|', c.name, '|', l.name) AS id, l.latitude, l.longitude,
                l.source_name AS sourceName
         FROM location l JOIN city c ON c.id = l.city_id`,
      );
      const expectedLocations = [...expectedStations.values()].map((station) => {
        const id = stationId(station);
        return stationsWithAttributes.has(id)
          ? { id, ...attributes(station) }
          : { id, latitude: null, longitude: null, sourceName: null };
      });
      const byIdOrder = (a: { id?: unknown }, b: { id?: unknown }) =>
        String(a.id) < String(b.id) ? -1 : 1;
      expect(locations.sort(byIdOrder)).toEqual(expectedLocations.sort(byIdOrder));

      // Every API refresh made a run of its own, at T0, that saw every batch acknowledged before it
      // was asked for and nothing that had not been sent before it answered; runs only grow.
      const runs = refreshAnswers.map((a) => a.body.data.refreshAirQuality);
      expect(new Set(runs.map((run) => run.id)).size).toBe(runs.length);
      expect(refreshAnswers.length).toBeGreaterThan(1);
      for (const [i, answer] of refreshAnswers.entries()) {
        const run = runs[i];
        expect(run.evaluatedAt).toBe(new Date(T0).toISOString());
        expect(run.measurements).toBeGreaterThanOrEqual(answer.acknowledgedBefore);
        expect(run.measurements).toBeLessThanOrEqual(answer.sentBefore);
        if (i > 0) expect(run.measurements).toBeGreaterThanOrEqual(runs[i - 1].measurements);
      }
      // The event-like CALLs: a run each, or skipped because a run was in progress; nothing else.
      expect(
        eventCalls.filter(
          (call) =>
            call.runId === undefined &&
            !(call.errno === 1644 && /another run is in progress/.test(call.message ?? '')),
        ),
      ).toEqual([]);
      expect(eventRuns.length).toBeGreaterThan(0);
      for (let i = 1; i < eventRuns.length; i += 1) {
        expect(eventRuns[i]?.runId).toBeGreaterThan(eventRuns[i - 1]?.runId as number);
      }
      const storedRuns = await rows<{ id: number; evaluatedAt: Date; measurements: number }>(
        'SELECT id, evaluated_at AS evaluatedAt, measurements FROM air_quality_run ORDER BY id',
      );
      const finalRun = final.body.data.refreshAirQuality;
      expect(storedRuns.map((run) => String(run.id)).sort()).toEqual(
        [
          ...runs.map((run) => String(run.id)),
          ...eventRuns.map((call) => String(call.runId)),
          String(finalRun.id),
        ].sort(),
      );
      const eventMeasurements = storedRuns
        .filter((run) => eventRuns.some((call) => call.runId === run.id))
        .map((run) => run.measurements);
      for (let i = 1; i < eventMeasurements.length; i += 1) {
        expect(eventMeasurements[i]).toBeGreaterThanOrEqual(eventMeasurements[i - 1] as number);
      }

      // The final run holds exactly what the window holds: per city and pollutant, as a direct
      // aggregate of the measurements says, and as the plan says.
      const windowKeys = allKeys.filter((key) => inWindow(key.measuredAt));
      const [{ inWindowCount }] = (await rows<{ inWindowCount: number }>(
        'SELECT COUNT(*) AS inWindowCount FROM measurement WHERE measured_at > ? AND measured_at <= ?',
        [sqlTime(WINDOW_START), sqlTime(T0)],
      )) as [{ inWindowCount: number }];
      expect(finalRun.measurements).toBe(windowKeys.length);
      expect(inWindowCount).toBe(windowKeys.length);
      expect(finalRun.cities).toBe(new Set(windowKeys.map((key) => cityId(key.station))).size);

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
    },
    DURATION_MS + 120_000,
  );
  it('absorbs a real deadlock inside: the batch is stored once, the client sees no error', async () => {
    // Another writer (a script, Adminer) updates two stations in the opposite order of a batch's
    // locks: a genuine deadlock, whose victim InnoDB picks by weight. That writer has written 200
    // rows first, so the batch is the lighter transaction and the victim.
    const measuredAt = (minutes: number) => new Date(T0 - minutes * MINUTE).toISOString();
    const item = (location: string, minutes: number) => ({
      location,
      city: 'Deadlock',
      country: 'BE',
      parameter: 'PM10',
      value: minutes,
      unit: 'µg/m³',
      measuredAt: measuredAt(minutes),
    });
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
