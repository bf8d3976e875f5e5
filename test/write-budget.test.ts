import { createHash } from 'node:crypto';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeWriteBudget } from '../src/db/write-budget.js';
import { graphql, TOKEN, testApp, withToken } from './helpers/app.js';
import { createPool, createTestDatabase, type TestDatabase } from './helpers/database.js';
import { freePort } from './helpers/mariadb-process.js';

/**
 * The write rate limit's budgets, kept on the primary (sql/120-write-budget.sql) so that every
 * process of the service shares them. Across real processes: test/many-processes.test.ts.
 */

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase(import.meta.filename);
});
afterAll(async () => {
  await t?.drop();
});

const sha256 = (text: string) => createHash('sha256').update(text).digest();

const REFRESH = 'mutation { refreshAirQuality(at: "2025-06-01T00:00:00Z") { cities } }';

describe('write budgets on the primary', () => {
  it('keeps a token’s budget under its SHA-256, never the token', async () => {
    const app = testApp(
      t,
      { WRITE_RATE_LIMIT: '100', WRITE_RATE_BURST: '1100', INGEST_MAX_BATCH: '1000' },
      { clock: () => 0 },
    );
    expect((await graphql(app, REFRESH, {}, withToken)).data).toEqual({
      refreshAirQuality: { cities: 0 },
    });
    const [rows] = await t.pool.query<RowDataPacket[]>(
      'SELECT writer, level, refilled_at_ms AS at, granted FROM write_budget',
    );
    expect(rows).toEqual([{ writer: sha256(TOKEN), level: 100, at: 0, granted: 1 }]);
    const [[dump]] = await t.pool.query<RowDataPacket[]>(
      'SELECT CONCAT_WS(",", HEX(writer), level, refilled_at_ms, granted) AS text FROM write_budget',
    );
    expect(String(dump?.text)).not.toContain(TOKEN);
  });

  it('is one budget for every app on the database: what one spent, another may not', async () => {
    const env = {
      API_TOKENS: 'shared-token',
      WRITE_RATE_LIMIT: '100',
      WRITE_RATE_BURST: '1100',
      INGEST_MAX_BATCH: '1000',
    };
    let now = 1_000_000;
    const clock = () => now;
    const first = testApp(t, env, { clock });
    // Another pool, as another process would have.
    const otherPool = createPool(t.db, 2);
    const second = testApp(t, env, { clock, pool: otherPool });
    const bearer = { authorization: 'Bearer shared-token' };
    try {
      expect((await graphql(first, REFRESH, {}, bearer)).data).toEqual({
        refreshAirQuality: { cities: 0 },
      });
      // 100 left of 1,100; a refresh costs 1,000: 9 s at 100 per second, through either app.
      const refused = await graphql(second, REFRESH, {}, bearer);
      expect(refused.errors?.[0]?.extensions).toEqual({
        code: 'RATE_LIMITED',
        retryable: true,
        retryAfterSeconds: 9,
      });
      now += 8_000;
      expect((await graphql(first, REFRESH, {}, bearer)).errors?.[0]?.extensions).toMatchObject({
        retryAfterSeconds: 1,
      });
      now += 1_000;
      expect((await graphql(second, REFRESH, {}, bearer)).data).toEqual({
        refreshAirQuality: { cities: 0 },
      });
    } finally {
      await otherPool.end();
    }
  });

  it('never spends the same measurements twice, however many take at once', async () => {
    const pool = createPool(t.db, 8);
    try {
      const writer = sha256('concurrent-token');
      const takes = await Promise.all(
        Array.from({ length: 60 }, () =>
          takeWriteBudget(pool, { writer, cost: 100, perSecond: 0.001, burst: 1000 }),
        ),
      );
      expect(takes.filter((take) => take.granted)).toHaveLength(10);
      const [[row]] = await pool.query<RowDataPacket[]>(
        'SELECT level FROM write_budget WHERE writer = ?',
        [writer],
      );
      // What 10 takes left, plus what a few seconds at most refilled at 0.001 per second.
      expect(Number(row?.level)).toBeLessThan(0.01);
    } finally {
      await pool.end();
    }
  });

  it('refills at the rate up to the burst, on the primary’s clock', async () => {
    const writer = sha256('clock-token');
    const args = { writer, cost: 400, perSecond: 100, burst: 1000 };
    expect(await takeWriteBudget(t.pool, args)).toEqual({ granted: true, level: 600 });
    expect(await takeWriteBudget(t.pool, args)).toMatchObject({ granted: true });
    // Refused: the level is what the refill gave, nothing taken.
    const refused = await takeWriteBudget(t.pool, { ...args, cost: 900 });
    expect(refused.granted).toBe(false);
    expect(refused.level).toBeGreaterThanOrEqual(200);
    expect(refused.level).toBeLessThan(900);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    // At 1,000 per second, a second later the budget is full again, never above the burst.
    expect(await takeWriteBudget(t.pool, { ...args, perSecond: 1000, cost: 1000 })).toEqual({
      granted: true,
      level: 0,
    });
  });

  it('refuses a write as DATABASE_UNAVAILABLE when the primary cannot be reached for the budget', async () => {
    const closed = await freePort();
    const unreachable = createPool({ ...t.db, port: closed }, 1, { acquireTimeoutMs: 2000 });
    const app = testApp(t, { WRITE_RATE_LIMIT: '100' }, { pool: unreachable });
    try {
      const answer = await graphql(app, REFRESH, {}, withToken);
      expect(answer.status).toBe(503);
      expect(answer.errors).toEqual([
        expect.objectContaining({
          message:
            'The database is unavailable (connection refused). The write was not done (nothing of it was stored): send it again. Try again in 5 seconds or so; GET /readyz says when the service is ready again.',
          extensions: { code: 'DATABASE_UNAVAILABLE', retryable: true },
        }),
      ]);
    } finally {
      await unreachable.end();
    }
  });
});
