import type { RowDataPacket } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { createGraphqlClient, GraphqlRequestError } from '../src/client/graphql-client.js';
import { TOKEN, useApp } from './helpers/app.js';
import { useTestDatabase } from './helpers/database.js';
import { useProxiedPool } from './helpers/tcp-proxy.js';

const t = useTestDatabase(import.meta.filename);
const proxied = useProxiedPool(t, 4);
const api = useApp(t, () => ({ options: { pool: proxied.pool } }));

/** A fetch that answers each call with the next of the given answers. */
function answering(answers: { status: number; body: unknown; headers?: Record<string, string> }[]) {
  const calls: string[] = [];
  const fetch = async (_url: unknown, init?: RequestInit) => {
    calls.push(String(init?.body));
    const answer = answers.shift();
    if (!answer) throw new Error('no more answers');
    return new Response(JSON.stringify(answer.body), {
      status: answer.status,
      headers: { 'content-type': 'application/json', ...answer.headers },
    });
  };
  return { fetch: fetch as typeof globalThis.fetch, calls };
}

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

  it('waits the retryAfterSeconds of RATE_LIMITED before trying again', async () => {
    const server = answering([
      {
        status: 429,
        body: {
          errors: [
            {
              message: 'Too many writes for this token: try again in 2 s.',
              extensions: { code: 'RATE_LIMITED', retryable: true, retryAfterSeconds: 2 },
            },
          ],
        },
      },
      { status: 200, body: { data: { ok: true } } },
    ]);
    const delays: number[] = [];
    const client = createGraphqlClient({
      endpoint: 'http://belair.test/graphql',
      retryDelayMs: 10,
      fetch: server.fetch,
      onRetry: ({ delayMs }) => void delays.push(delayMs),
    });
    expect(await client.request('{ ok }')).toEqual({ ok: true });
    expect(delays).toEqual([2000]);
    expect(server.calls).toHaveLength(2);
  }, 30_000);

  it('does not retry an error the API does not mark as transient', async () => {
    const server = answering([
      {
        status: 200,
        body: { errors: [{ message: 'no', extensions: { code: 'SERVICE_UNAVAILABLE' } }] },
      },
    ]);
    const client = createGraphqlClient({
      endpoint: 'http://belair.test/graphql',
      fetch: server.fetch,
    });
    const failure = await client.request('{ ok }').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(GraphqlRequestError);
    expect(failure).toMatchObject({
      message: 'SERVICE_UNAVAILABLE: no',
      transient: false,
      details: { status: 200, code: 'SERVICE_UNAVAILABLE' },
    });
    expect(server.calls).toHaveLength(1);
  });
});
