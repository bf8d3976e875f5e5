import type { Connection, Pool, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { postOperation, testApp } from './helpers/app.js';
import { connect, createPool, createTestDatabase, type TestDatabase } from './helpers/database.js';

/**
 * refreshAirQuality calls made at once in one process share one run (single flight): one pooled
 * connection waits for the aggregation lock on behalf of all of them, instead of each holding one
 * while it waits. Calls for different instants never share a run, and a call that cannot get the
 * lock within its wait still answers REFRESH_BUSY.
 */

const POOL_SIZE = 3;
const ACQUIRE_TIMEOUT_MS = 1000;

let t: TestDatabase;
let pool: Pool;
let url: string;
let app: ReturnType<typeof testApp>;
let busyApp: ReturnType<typeof testApp>;
let busyUrl: string;

beforeAll(async () => {
  t = await createTestDatabase(import.meta.filename);
  pool = createPool(t.db, POOL_SIZE, { acquireTimeoutMs: ACQUIRE_TIMEOUT_MS });
  app = testApp(t, { WRITE_RATE_LIMIT: '0' }, { pool, refreshWaitSeconds: 10 });
  url = (await app.start(0, '127.0.0.1')).url;
  busyApp = testApp(t, { WRITE_RATE_LIMIT: '0' }, { pool, refreshWaitSeconds: 1 });
  busyUrl = (await busyApp.start(0, '127.0.0.1')).url;
});
afterAll(async () => {
  await app?.stop();
  await busyApp?.stop();
  await pool?.end();
  await t?.drop();
});
beforeEach(async () => {
  await t.pool.query('DELETE FROM air_quality_run');
});

const REFRESH = 'mutation ($at: DateTime) { refreshAirQuality(at: $at) { id evaluatedAt } }';

/** Holds the aggregation lock from a connection of its own, as a run elsewhere would. */
async function holdRefreshLock(): Promise<Connection> {
  const holder = await connect(t.db);
  const [[row]] = await holder.query<RowDataPacket[]>(
    "SELECT GET_LOCK(belair_lock_name('refresh_air_quality'), 0) AS locked",
  );
  expect(row?.locked).toBe(1);
  return holder;
}

/** Sessions of this database waiting for a user lock (GET_LOCK) right now. */
async function waitingForTheLock(): Promise<number> {
  const [[row]] = await t.pool.query<RowDataPacket[]>(
    "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ? AND STATE = 'User lock'",
    [t.db.database],
  );
  return Number(row?.n);
}

async function until(check: () => Promise<boolean>, what: string) {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function runs(): Promise<{ id: number; evaluatedAt: string }[]> {
  const [rows] = await t.pool.query<RowDataPacket[]>(
    'SELECT id, evaluated_at AS evaluatedAt FROM air_quality_run ORDER BY id',
  );
  return rows.map((r) => ({
    id: Number(r.id),
    evaluatedAt: (r.evaluatedAt as Date).toISOString(),
  }));
}

describe('refreshAirQuality, single flight per process', () => {
  it('shares one run among ten calls made at once, on one pooled connection, so that the pool stays free', async () => {
    const holder = await holdRefreshLock();
    const calls = Array.from({ length: 10 }, () => postOperation(url, REFRESH));
    try {
      await until(async () => (await waitingForTheLock()) >= 1, 'a refresh to wait for the lock');
      // Past the acquire timeout: calls that each took a connection would have exhausted the pool.
      await new Promise((resolve) => setTimeout(resolve, ACQUIRE_TIMEOUT_MS + 300));
      expect(await waitingForTheLock()).toBe(1);
      // The rest of the API still has connections meanwhile.
      const query = await postOperation(url, '{ airQualityRuns(last: 1) { id } }');
      expect(query).toEqual({ status: 200, json: { data: { airQualityRuns: [] } } });
    } finally {
      await holder.query("DO RELEASE_LOCK(belair_lock_name('refresh_air_quality'))");
      await holder.end();
    }
    const answers = await Promise.all(calls);
    const stored = await runs();
    expect(stored).toHaveLength(1);
    for (const answer of answers) {
      expect(answer).toEqual({
        status: 200,
        json: {
          data: {
            refreshAirQuality: { id: String(stored[0]?.id), evaluatedAt: stored[0]?.evaluatedAt },
          },
        },
      });
    }
  });

  it('never shares a run between different instants: one run per instant asked for', async () => {
    const holder = await holdRefreshLock();
    const past = ['2026-01-01T06:00:00.000Z', '2026-01-01T09:00:00.000Z'];
    const calls = [
      postOperation(url, REFRESH),
      postOperation(url, REFRESH, { at: past[0] }),
      postOperation(url, REFRESH, { at: past[1] }),
      postOperation(url, REFRESH),
      postOperation(url, REFRESH, { at: past[0] }),
      postOperation(url, REFRESH, { at: past[1] }),
      postOperation(url, REFRESH),
    ];
    try {
      await until(async () => (await waitingForTheLock()) >= 1, 'a refresh to wait for the lock');
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      await holder.query("DO RELEASE_LOCK(belair_lock_name('refresh_air_quality'))");
      await holder.end();
    }
    const answers = (await Promise.all(calls)).map((a) => a.json.data.refreshAirQuality);
    const stored = await runs();
    expect(stored).toHaveLength(3);
    const byInstant = (at: string) => stored.find((r) => r.evaluatedAt === at);
    const now = stored.find((r) => !past.includes(r.evaluatedAt));
    const expected = [now, byInstant(past[0] as string), byInstant(past[1] as string)].map((r) => ({
      id: String(r?.id),
      evaluatedAt: r?.evaluatedAt,
    }));
    expect(answers).toEqual([0, 1, 2, 0, 1, 2, 0].map((i) => expected[i]));
    // The run for now is the current one, evaluated after every call was made.
    const [current] = (await postOperation(url, '{ airQualityRuns(last: 1) { id } }')).json.data
      .airQualityRuns;
    expect(current.id).toBe(String(now?.id));
  });

  it('gives a call made after a run took the lock a run of its own', async () => {
    const first = await postOperation(url, REFRESH);
    const second = await postOperation(url, REFRESH);
    const ids = [first, second].map((a) => a.json.data.refreshAirQuality.id);
    expect(new Set(ids).size).toBe(2);
    expect(await runs()).toHaveLength(2);
  });

  it('still answers REFRESH_BUSY to every call when the lock stays taken past the wait', async () => {
    const holder = await holdRefreshLock();
    try {
      const answers = await Promise.all(
        Array.from({ length: 5 }, () => postOperation(busyUrl, REFRESH)),
      );
      for (const answer of answers) {
        expect(answer).toEqual({
          status: 200,
          json: {
            data: null,
            errors: [
              {
                message:
                  'Another aggregation run is in progress and did not finish within 1 s: try again shortly.',
                path: ['refreshAirQuality'],
                extensions: { code: 'REFRESH_BUSY', retryable: true },
              },
            ],
          },
        });
      }
      // Nobody wants the run any more: the connection stops waiting (a moment after the answers,
      // whose timers may come first) and goes back to the pool.
      await until(async () => (await waitingForTheLock()) === 0, 'the wait for the lock to end');
    } finally {
      await holder.query("DO RELEASE_LOCK(belair_lock_name('refresh_air_quality'))");
      await holder.end();
    }
    expect(await runs()).toEqual([]);
    const after = await postOperation(busyUrl, REFRESH);
    expect(after.json.errors).toBeUndefined();
    expect(await runs()).toHaveLength(1);
  });
});
