import { connect as tcpConnect } from 'node:net';
import { createClient as createSseClient } from 'graphql-sse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { testApp } from './helpers/app.js';
import { callRefresh, createTestDatabase, type TestDatabase } from './helpers/database.js';
import { Received, until, wsClient, wsSubscribe } from './helpers/live-clients.js';

/**
 * Operations per connection are bounded: past MAX_SUBSCRIPTIONS_PER_CONNECTION a graphql-ws
 * subscribe is refused with TOO_MANY_SUBSCRIPTIONS, and the connection's other subscriptions go
 * on. Over SSE, Yoga serves graphql-sse's distinct connections mode only: one operation per
 * request, so one per connection, each under MAX_CONNECTIONS.
 */

const MAX = 3;
const RUNS = { query: 'subscription { airQualityRuns { id } }' };

let t: TestDatabase;
let app: ReturnType<typeof testApp>;
let defaults: ReturnType<typeof testApp>;
let wsUrl: string;
let defaultsWsUrl: string;
let httpUrl: string;

beforeAll(async () => {
  t = await createTestDatabase(import.meta.filename);
  await callRefresh(t.db);
  app = testApp(t, { MAX_SUBSCRIPTIONS_PER_CONNECTION: String(MAX), POLL_INTERVAL_MS: '50' });
  const { port } = await app.start(0, '127.0.0.1');
  wsUrl = `ws://127.0.0.1:${port}/graphql`;
  httpUrl = `http://127.0.0.1:${port}/graphql`;
  defaults = testApp(t, { POLL_INTERVAL_MS: '50' });
  defaultsWsUrl = `ws://127.0.0.1:${(await defaults.start(0, '127.0.0.1')).port}/graphql`;
});
afterAll(async () => {
  await app?.stop(1000);
  await defaults?.stop(1000);
  await t?.drop();
});

const refusal = (max: number) => [
  {
    message: `This connection already runs ${max} operations, the most one connection may (MAX_SUBSCRIPTIONS_PER_CONNECTION): complete one of them, or open another connection.`,
    extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' },
  },
];

describe('subscriptions per graphql-ws connection', () => {
  it('defaults to 100', () => {
    expect(loadConfig({}).maxSubscriptionsPerConnection).toBe(100);
  });

  it('refuses the subscribe past the limit, and the connection’s other subscriptions go on', async () => {
    const client = wsClient(wsUrl);
    try {
      const kept = Array.from({ length: MAX }, () => wsSubscribe(client, RUNS));
      for (const s of kept) await s.until((r) => r.results.length === 1, 'the current run');
      const refused = wsSubscribe(client, RUNS);
      await refused.until((r) => r.failures.length === 1, 'the refusal');
      expect(refused.failures).toEqual([refusal(MAX)]);
      expect(refused.results).toEqual([]);

      // The socket stays open and the others receive the next run.
      const next = await callRefresh(t.db);
      for (const s of kept) {
        await s.until((r) => r.results.length === 2, 'the next run');
        expect(s.values('airQualityRuns')[1]).toEqual({ id: String(next) });
        expect(s.failures).toEqual([]);
      }
      // A query on the same connection counts too while it runs, and is refused the same way.
      const query = wsSubscribe(client, { query: '{ airQualityRuns(last: 1) { id } }' });
      await query.until((r) => r.failures.length === 1, 'the refusal of the query');
      expect(query.failures).toEqual([refusal(MAX)]);

      // Completing one frees its place (the socket's messages are handled in order).
      kept[0]?.dispose();
      const again = wsSubscribe(client, RUNS);
      await again.until((r) => r.results.length === 1, 'the current run');
      expect(again.failures).toEqual([]);
    } finally {
      await client.dispose();
    }
  });

  it('counts per connection: another connection has places of its own', async () => {
    const first = wsClient(wsUrl);
    const second = wsClient(wsUrl);
    try {
      const mine = Array.from({ length: MAX }, () => wsSubscribe(first, RUNS));
      const theirs = Array.from({ length: MAX }, () => wsSubscribe(second, RUNS));
      for (const s of [...mine, ...theirs]) {
        await s.until((r) => r.results.length === 1, 'the current run');
        expect(s.failures).toEqual([]);
      }
    } finally {
      await first.dispose();
      await second.dispose();
    }
  });

  it('takes 100 on one connection by default, and refuses the 101st', async () => {
    const client = wsClient(defaultsWsUrl);
    try {
      const kept = Array.from({ length: 100 }, () => wsSubscribe(client, RUNS));
      for (const s of kept) await s.until((r) => r.results.length === 1, 'the current run');
      const refused = wsSubscribe(client, RUNS);
      await refused.until((r) => r.failures.length === 1, 'the refusal');
      expect(refused.failures).toEqual([refusal(100)]);
      expect(kept.every((s) => s.failures.length === 0)).toBe(true);
    } finally {
      await client.dispose();
    }
  });
});

describe('operations per SSE connection', () => {
  it('serves no single connection mode: a stream reservation (PUT) is refused', async () => {
    const reservation = await fetch(httpUrl, { method: 'PUT' });
    expect(reservation.status).toBe(405);
    await reservation.arrayBuffer();
    const client = createSseClient({ url: httpUrl, singleConnection: true, retryAttempts: 0 });
    const received = new Received();
    client.subscribe(RUNS, received.sink());
    await received.until((r) => r.failures.length === 1, 'the client to give up');
    expect(received.results).toEqual([]);
    client.dispose();
  });

  it('runs one operation per connection: a stream pipelined behind an open one is refused, never run', async () => {
    const request = (id: number) => {
      const body = JSON.stringify({ query: RUNS.query, extensions: { id } });
      return `POST /graphql HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    };
    const socket = tcpConnect(new URL(httpUrl).port as unknown as number, '127.0.0.1');
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk;
    });
    try {
      await new Promise((resolve) => socket.once('connect', resolve));
      // Two subscriptions pipelined on one connection.
      socket.write(request(1) + request(2));
      await until(() => text.includes('event: next'), 'the first stream');
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(text.match(/HTTP\/1\.1 200 OK/g)).toEqual(['HTTP/1.1 200 OK']);
      expect(app.liveStats().connections.eventStreams).toBe(1);
    } finally {
      socket.destroy();
    }
  });
});
