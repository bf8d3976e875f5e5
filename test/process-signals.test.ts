import type { Connection, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiProcess, killApiProcesses, startApiProcess } from './helpers/api-process.js';
import {
  callRefresh,
  connect,
  useTestDatabase,
  waitFor,
  withEventScheduler,
} from './helpers/database.js';
import { sseSubscribe, wsClient, wsSubscribe } from './helpers/live-clients.js';
import { INGEST, measurement as measurementOf, minutesAgo } from './helpers/measurements.js';
import { type ProductionBuild, productionBuild } from './helpers/production-build.js';

const TOKEN = 'signals-token';
const STATION = 'BETR-SIGNAL';
const BATCH_SIZE = 10_000;
const MINUTE = 60_000;

const t = useTestDatabase(import.meta.filename);
let build: ProductionBuild;
let blocker: Connection;
/** One instant for the whole file, so that every batch names the same measurements. */
const now = Date.now();

/** The real API (npm run start:prod) on the test database. */
function startApi(): Promise<ApiProcess> {
  // The entry point turns the global event scheduler on where it is off: hold it ON meanwhile.
  return withEventScheduler('ON', () =>
    // The production entry point, as the image runs it: node itself gets the signals.
    startApiProcess(
      { DB_DATABASE: t.db.database, API_TOKENS: TOKEN },
      { args: [build.entry('serve')], cwd: build.root },
    ),
  );
}

function measurement(minutes: number, value: number) {
  return measurementOf('Antwerpen', STATION, 'PM10', value, minutesAgo(minutes, now));
}

/**
 * 10,000 measurements of one station, one a minute; the latest one is already stored (value 1)
 * and comes last in the order ingestion writes rows, here with value 2.
 */
const BATCH = Array.from({ length: BATCH_SIZE }, (_, i) =>
  measurement(BATCH_SIZE - i, i === BATCH_SIZE - 1 ? 2 : 20),
);

function ingest(api: ApiProcess, items: unknown[]) {
  return fetch(`${api.base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ query: INGEST, variables: { m: items } }),
  });
}

/** The station's measurements: how many, and the value of the latest. */
async function stored(): Promise<{ count: number; latestValue: number | null }> {
  const [[row]] = await t.pool.query<RowDataPacket[]>(
    `SELECT COUNT(*) AS count,
            (SELECT m2.original_value FROM measurement m2 WHERE m2.location_id = l.id
              ORDER BY m2.measured_at DESC LIMIT 1) AS latestValue
     FROM location l LEFT JOIN measurement m ON m.location_id = l.id
     WHERE l.name = ? GROUP BY l.id`,
    [STATION],
  );
  return { count: Number(row?.count), latestValue: row?.latestValue ?? null };
}

/**
 * Locks the stored latest measurement from another connection: the batch's transaction writes
 * every other row, then waits for this lock, provably in progress.
 */
async function holdLatestRow(): Promise<void> {
  const [[station]] = await blocker.query<RowDataPacket[]>(
    'SELECT id FROM location WHERE name = ?',
    [STATION],
  );
  // READ COMMITTED and the full primary key: that one row locked, no gap around it.
  await blocker.query('SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
  await blocker.beginTransaction();
  const [locked] = await blocker.query<RowDataPacket[]>(
    `SELECT original_value AS value FROM measurement
     WHERE location_id = ? AND pollutant = 'pm10' AND measured_at = ? FOR UPDATE`,
    [station?.id, new Date(now - MINUTE)],
  );
  expect(locked).toEqual([{ value: 1 }]);
}

/**
 * The API's ingestion transaction, once it has written rows and waits for the held one; fails at
 * once, with what the API said, if the request ends first.
 */
function untilIngestionWaits(answer: Promise<unknown>): Promise<number> {
  let ended: unknown;
  answer.then(
    async (response) => {
      ended = response instanceof Response ? await response.text() : response;
    },
    (error: unknown) => {
      ended = error;
    },
  );
  // What the database's transactions were doing at the last look, for the message of a timeout.
  let seen: unknown[] = [];
  return waitFor(
    async () => {
      if (ended !== undefined) throw new Error(`the ingestion ended before it waited: ${ended}`);
      const [rows] = await t.pool.query<RowDataPacket[]>(
        `SELECT t.trx_state AS state, t.trx_rows_modified AS modified, LEFT(p.INFO, 40) AS statement
         FROM information_schema.INNODB_TRX t
         JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
         WHERE p.DB = DATABASE() AND t.trx_mysql_thread_id <> ?`,
        [blocker.threadId],
      );
      seen = rows;
      const waiting = rows.find((row) => row.state === 'LOCK WAIT' && Number(row.modified) > 0);
      return waiting ? Number(waiting.modified) : undefined;
    },
    60_000,
    'the ingestion transaction to write rows and wait for the held one',
    // MariaDB refreshes what INNODB_TRX shows only when nobody read it for 100 ms: polled more
    // often, it would show the same old snapshot for ever.
    250,
  ).catch((error: Error) => {
    throw new Error(`${error.message}; transactions seen last: ${JSON.stringify(seen)}`);
  });
}

/** No transaction of the test database left open, bar this file's own connections. */
function untilNoTransaction(): Promise<true> {
  return waitFor(
    async () => {
      const [rows] = await t.pool.query<RowDataPacket[]>(
        `SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX t
         JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
         WHERE p.DB = DATABASE() AND t.trx_mysql_thread_id <> ?`,
        [blocker.threadId],
      );
      return Number(rows[0]?.n) === 0 ? true : undefined;
    },
    30_000,
    'the killed process’s transaction to end',
    250,
  );
}

beforeAll(async () => {
  build = await productionBuild();
  blocker = await connect(t.db);
}, 180_000);

afterAll(async () => {
  killApiProcesses();
  await blocker?.end();
});

describe('the API process under signals', () => {
  it('SIGKILL during a 10,000-item ingestion leaves nothing of the batch', async () => {
    const api = await startApi();
    const first = await ingest(api, [measurement(1, 1)]);
    expect((await first.json()).data.ingestMeasurements).toMatchObject({ inserted: 1 });
    await holdLatestRow();
    try {
      const answer = ingest(api, BATCH).then(
        (response) => response.status,
        (error: Error) => error,
      );
      const modified = await untilIngestionWaits(answer);
      // The other 9,999 rows are written, inside the transaction.
      expect(modified).toBe(BATCH_SIZE - 1);

      api.child.kill('SIGKILL');
      expect(await api.exited).toEqual({ code: null, signal: 'SIGKILL' });
      expect(await answer).toBeInstanceOf(Error);
    } finally {
      await blocker.rollback();
    }
    await untilNoTransaction();
    expect(await stored()).toEqual({ count: 1, latestValue: 1 });
  }, 120_000);

  it('SIGTERM lets the ingestion in flight finish, refuses new connections, ends subscriptions and exits 0', async () => {
    const api = await startApi();
    await callRefresh(t.db);
    const ws = wsClient(`${api.base.replace('http', 'ws')}/graphql`);
    const viaWs = wsSubscribe(ws, { query: 'subscription { airQualityRuns { id } }' });
    const viaSse = sseSubscribe(`${api.base}/graphql`, {
      query: 'subscription { airQualityRuns { id } }',
    });
    await viaWs.until((r) => r.results.length === 1, 'the current run over graphql-ws');
    await viaSse.until((r) => r.results.length === 1, 'the current run over SSE');

    await holdLatestRow();
    let answer: Promise<Response> | undefined;
    try {
      answer = ingest(api, BATCH);
      // Awaited below; a failure before then must not go unhandled.
      answer.catch(() => {});
      await untilIngestionWaits(answer.then((response) => response.clone()));

      api.child.kill('SIGTERM');
      await waitFor(
        async () =>
          api.output.text.includes('SIGTERM: finishing requests in flight') ? true : undefined,
        30_000,
        'the API to start stopping',
      );
      // No new connections, while the ingestion still waits.
      await waitFor(
        async () =>
          fetch(`${api.base}/healthz`).then(
            () => undefined,
            (error: Error) =>
              (error.cause as { code?: string })?.code === 'ECONNREFUSED' ? true : undefined,
          ),
        30_000,
        'new connections to be refused',
      );
      // The subscriptions are ended: SSE completes, the WebSocket is closed as going away.
      await viaSse.until((r) => r.completed, 'the SSE subscription to complete');
      await viaWs.until((r) => r.completed || r.failures.length > 0, 'the WebSocket to close');
      expect(viaWs.failures.map((f) => (f as { code?: number }).code)).toEqual(
        viaWs.completed ? [] : [1001],
      );
      expect(api.child.exitCode).toBeNull();
    } finally {
      await blocker.rollback();
    }

    const response = await (answer as Promise<Response>);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      data: {
        ingestMeasurements: {
          received: BATCH_SIZE,
          inserted: BATCH_SIZE - 1,
          updated: 1,
          unchanged: 0,
          rejected: [],
        },
      },
    });
    expect(await api.exited).toEqual({ code: 0, signal: null });
    expect(api.output.text).toContain('stopped');
    expect(await stored()).toEqual({ count: BATCH_SIZE, latestValue: 2 });
    await ws.dispose();
  }, 120_000);
});
