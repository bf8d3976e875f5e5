import type { RowDataPacket } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { createGraphqlClient, GraphqlRequestError } from '../src/client/graphql-client.js';
import { TOKEN, useApp } from './helpers/app.js';
import { useTestDatabase } from './helpers/database.js';
import { useProxiedPool } from './helpers/tcp-proxy.js';

const t = useTestDatabase(import.meta.filename);
const proxied = useProxiedPool(t, 4);
const api = useApp(t, () => ({ options: { pool: proxied.pool } }));

describe('the scripts’ GraphQL client', () => {
  it('retries DATABASE_UNAVAILABLE after the Retry-After the API sends, and stores the batch once', async () => {
    const retries: { attempt: number; delayMs: number; error: Error }[] = [];
    const { proxy } = proxied;
    const client = createGraphqlClient({
      endpoint: api.url,
      token: TOKEN,
      retryDelayMs: 10,
      onRetry: (retry) => {
        retries.push(retry);
        proxy.restore();
      },
    });
    proxy.cut();
    const result = await client.ingestMeasurements([
      {
        location: 'BETR801',
        city: 'Antwerpen',
        country: 'BE',
        parameter: 'pm10',
        value: 21,
        unit: 'µg/m³',
        measuredAt: new Date(Date.now() - 60_000),
      },
    ]);
    expect(result).toEqual({ received: 1, inserted: 1, updated: 0, unchanged: 0, rejected: [] });
    expect(retries).toHaveLength(1);
    const [retry] = retries;
    expect(retry?.attempt).toBe(1);
    expect(retry?.delayMs).toBe(5000);
    expect(retry?.error).toBeInstanceOf(GraphqlRequestError);
    expect((retry?.error as GraphqlRequestError | undefined)?.details).toEqual({
      status: 503,
      code: 'DATABASE_UNAVAILABLE',
      retryAfterMs: 5000,
    });
    expect(retry?.error.message).toMatch(
      /^DATABASE_UNAVAILABLE: The database is unavailable \(connection (lost|reset)\)\. The write was not done/,
    );
    const [[row]] = await t.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM measurement');
    expect(Number(row?.n)).toBe(1);
  }, 30_000);
});
