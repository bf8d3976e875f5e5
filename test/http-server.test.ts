import type { RowDataPacket } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { listen, postChunked, TOKEN, testApp, useApp } from './helpers/app.js';
import { connect, useTestDatabase, waitFor, withEventScheduler } from './helpers/database.js';
import { INGEST, measurement } from './helpers/measurements.js';

const t = useTestDatabase(import.meta.filename);
const api = useApp(t, { env: { MAX_BODY_BYTES: String(64 * 1024) } });

const LOCK = "belair_lock_name('refresh_air_quality')";

describe('the HTTP server', () => {
  it('is alive at /healthz', async () => {
    const response = await fetch(`${api.base}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('is ready at /readyz only with the scheduler ON and the refresh event enabled', async () => {
    await t.pool.query('CALL refresh_air_quality(UTC_TIMESTAMP(3) - INTERVAL 90 SECOND)');
    const [[run]] = await t.pool.query<RowDataPacket[]>(
      'SELECT id, evaluated_at AS evaluatedAt FROM air_quality_run',
    );
    const currentRun = {
      id: run?.id,
      evaluatedAt: run?.evaluatedAt.toISOString(),
      ageSeconds: expect.any(Number),
    };
    await withEventScheduler('ON', async () => {
      // Enabled, but not due for an hour: no run of its own lands during the test.
      await t.pool.query(
        'ALTER EVENT refresh_air_quality ON SCHEDULE EVERY 5 MINUTE STARTS UTC_TIMESTAMP() + INTERVAL 1 HOUR ENABLE',
      );
      try {
        const ready = await fetch(`${api.base}/readyz`);
        expect(ready.status).toBe(200);
        const body = await ready.json();
        expect(body).toEqual({
          ready: true,
          reasons: [],
          database: 'reachable',
          eventScheduler: 'ON',
          refreshEvent: 'ENABLED',
          currentRun,
        });
        expect(body.currentRun.ageSeconds).toBeGreaterThanOrEqual(90);
      } finally {
        await t.pool.query('ALTER EVENT refresh_air_quality DISABLE');
      }
      const disabled = await fetch(`${api.base}/readyz`);
      expect(disabled.status).toBe(503);
      expect(await disabled.json()).toEqual({
        ready: false,
        reasons: [
          'The refresh_air_quality event is DISABLED, so windows do not refresh: ALTER EVENT refresh_air_quality ENABLE.',
        ],
        database: 'reachable',
        eventScheduler: 'ON',
        refreshEvent: 'DISABLED',
        currentRun,
      });
    });

    await withEventScheduler('OFF', async () => {
      const stopped = await fetch(`${api.base}/readyz`);
      expect(stopped.status).toBe(503);
      expect((await stopped.json()).reasons).toEqual([
        'The MariaDB event scheduler is OFF, so windows do not refresh: SET GLOBAL event_scheduler = ON.',
        'The refresh_air_quality event is DISABLED, so windows do not refresh: ALTER EVENT refresh_air_quality ENABLE.',
      ]);
    });
    await t.pool.query('DELETE FROM air_quality_run');
  });

  it('is not ready with a stale current run; on a replica only the run age counts', async () => {
    const readyz = async () => {
      const response = await fetch(`${api.base}/readyz`);
      return { status: response.status, body: await response.json() };
    };
    await t.pool.query('CALL refresh_air_quality(UTC_TIMESTAMP(3) - INTERVAL 1 HOUR)');
    await withEventScheduler('ON', async () => {
      await t.pool.query(
        'ALTER EVENT refresh_air_quality ON SCHEDULE EVERY 5 MINUTE STARTS UTC_TIMESTAMP() + INTERVAL 1 HOUR ENABLE',
      );
      try {
        const stale = await readyz();
        expect(stale.status).toBe(503);
        expect(stale.body.reasons).toEqual([
          expect.stringMatching(
            /^The current run is 36\d\d(\.\d)? s old, more than the 900 s allowed \(READY_MAX_RUN_AGE_SECONDS\): the refresh has not run; see the MariaDB error log for the event\.$/,
          ),
        ]);
      } finally {
        await t.pool.query('ALTER EVENT refresh_air_quality DISABLE');
      }
    });

    // Events reach a replica disabled (SLAVESIDE_DISABLED): the primary aggregates, so neither
    // the scheduler nor the event status of this server matter, only how old the replicated run is.
    await withEventScheduler('OFF', async () => {
      await t.pool.query('ALTER EVENT refresh_air_quality DISABLE ON SLAVE');
      try {
        const lagging = await readyz();
        expect(lagging.status).toBe(503);
        expect(lagging.body.reasons).toEqual([
          expect.stringMatching(
            /the primary has stopped aggregating, or this replica lags behind it\.$/,
          ),
        ]);
        await t.pool.query('CALL refresh_air_quality(UTC_TIMESTAMP(3) - INTERVAL 10 SECOND)');
        const fresh = await readyz();
        expect(fresh.status).toBe(200);
        expect(fresh.body).toMatchObject({
          ready: true,
          reasons: [],
          eventScheduler: 'OFF',
          refreshEvent: 'SLAVESIDE_DISABLED',
        });
      } finally {
        await t.pool.query('ALTER EVENT refresh_air_quality DISABLE');
      }
    });
    await t.pool.query('DELETE FROM air_quality_run');
  });

  it('serves GraphiQL with the example operations to browsers', async () => {
    const response = await fetch(`${api.base}/graphql`, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html');
    const html = await response.text();
    for (const text of [
      '<title>belair</title>',
      'query CityWindow',
      'query AllCities',
      'mutation IngestTwo',
      'Bearer dev-token',
      'subscription Antwerpen',
      'airQuality(cities: [\\"Antwerpen\\"])',
    ]) {
      expect(html).toContain(text);
    }
    // GraphiQL's code is in the page itself: nothing is fetched from a CDN.
    expect(html).not.toMatch(/<script[^>]+src=["']https?:|<link[^>]+href=["']https?:/);
    expect(html).not.toContain('unpkg.com');
  });

  it('follows GraphQL over HTTP: GET for queries only, the media type asked for', async () => {
    const query = encodeURIComponent('{ airQualityRuns { id } }');
    const get = await fetch(`${api.base}/graphql?query=${query}`, {
      headers: { accept: 'application/graphql-response+json' },
    });
    expect(get.status).toBe(200);
    expect(get.headers.get('content-type')).toBe(
      'application/graphql-response+json; charset=utf-8',
    );
    expect(await get.json()).toEqual({ data: { airQualityRuns: [] } });

    const mutation = encodeURIComponent('mutation { refreshAirQuality { id } }');
    const refused = await fetch(`${api.base}/graphql?query=${mutation}`, {
      headers: { accept: 'application/graphql-response+json', authorization: `Bearer ${TOKEN}` },
    });
    expect(refused.status).toBe(405);
    expect(refused.headers.get('allow')).toBe('POST');
    expect((await refused.json()).errors[0].message).toBe(
      'Can only perform a mutation operation from a POST request.',
    );
    const [[runs]] = await t.pool.query<RowDataPacket[]>(
      'SELECT COUNT(*) AS n FROM air_quality_run',
    );
    expect(runs?.n).toBe(0);

    const malformed = await fetch(`${api.base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: '{"query": ',
    });
    expect(malformed.status).toBe(400);
  });

  it('answers 413 to a body over MAX_BODY_BYTES, with or without a length', async () => {
    const big = JSON.stringify({ query: `{ cities { name } } # ${'x'.repeat(200_000)}` });
    const expected = {
      errors: [
        {
          message:
            'The request body is larger than the limit of 65536 bytes (MAX_BODY_BYTES): send smaller batches.',
          extensions: { code: 'PAYLOAD_TOO_LARGE' },
        },
      ],
    };
    const declared = await fetch(`${api.base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: big,
    });
    expect(declared.status).toBe(413);
    expect(await declared.json()).toEqual(expected);

    // Chunked, no content-length: the limit is found while reading.
    const status = await postChunked(`${api.base}/graphql`, big, 10_000);
    expect(status.status).toBe(413);
    expect(JSON.parse(status.body)).toEqual(expected);

    const small = await fetch(`${api.base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ cities { name } }' }),
    });
    expect(await small.json()).toEqual({ data: { cities: [] } });
  });

  it('takes a full batch of 10,000 measurements in one request at the default limits', async () => {
    const { app: full, url } = await listen(testApp(t));
    try {
      const measurements = Array.from({ length: 10_000 }, (_, i) => ({
        ...measurement(
          `City ${i % 10}`,
          `BETR${String(i % 50).padStart(3, '0')}`,
          ['PM25', 'PM10', 'NO2', 'O3'][i % 4] as string,
          (i % 300) / 10,
          new Date(Date.UTC(2026, 3, 1) + i * 1000).toISOString(),
        ),
        latitude: 50.85 + (i % 50) / 100,
        longitude: 4.35,
        sourceName: 'EEA Belgium',
        sourceType: 'government',
      }));
      const body = JSON.stringify({ query: INGEST, variables: { m: measurements } });
      expect(Buffer.byteLength(body)).toBeGreaterThan(2_000_000);
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        body,
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        data: {
          ingestMeasurements: {
            received: 10_000,
            inserted: 10_000,
            updated: 0,
            unchanged: 0,
            rejected: [],
          },
        },
      });
    } finally {
      await full.stop();
      await t.pool.query('DELETE FROM measurement');
    }
  });

  it('stops gracefully: no new connections, the request in flight finishes', async () => {
    const { app: stopping, base: stoppingBase } = await listen(
      testApp(t, {}, { refreshWaitSeconds: 30 }),
    );
    const other = await connect(t.db);
    try {
      await other.query(`SELECT GET_LOCK(${LOCK}, 0)`);
      // A refresh that waits for the lock the other connection holds: in flight.
      const inFlight = fetch(`${stoppingBase}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({
          query: 'mutation { refreshAirQuality(at: "2026-05-01T12:00:00Z") { evaluatedAt } }',
        }),
      });
      await waitFor(
        async () => {
          const [rows] = await other.query<RowDataPacket[]>(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND INFO LIKE '%SELECT GET_LOCK%' AND ID <> CONNECTION_ID()",
          );
          return rows.length > 0 ? true : undefined;
        },
        10_000,
        'the refresh to wait for the lock',
      );
      const stopped = stopping.stop();
      await expect(fetch(`${stoppingBase}/healthz`)).rejects.toThrow();
      await other.query(`DO RELEASE_LOCK(${LOCK})`);
      const response = await inFlight;
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        data: { refreshAirQuality: { evaluatedAt: '2026-05-01T12:00:00.000Z' } },
      });
      await stopped;
      expect(stopping.server.listening).toBe(false);
    } finally {
      await other.end();
      await stopping.stop();
    }
  });
});
