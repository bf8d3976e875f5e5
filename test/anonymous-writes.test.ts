import type { Socket } from 'node:net';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { postChunked, TOKEN, testApp } from './helpers/app.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

/**
 * A write without a valid token is refused before anything expensive: its body is not read past
 * MAX_ANONYMOUS_BODY_BYTES (64 KB: room for any query, none for a batch), and a mutation within
 * it is refused before its variables are coerced, its items checked or its document compiled.
 * Timings are the benchmark's (npm run bench -- --scenario anonymous-writes): here, behaviour.
 */

const ANONYMOUS_LIMIT = 64 * 1024;
/** What Node's socket and HTTP parser read ahead of the handler, at most, before backpressure. */
const READ_AHEAD = 256 * 1024;

let t: TestDatabase;
let app: ReturnType<typeof testApp>;
let disabled: ReturnType<typeof testApp>;
let url: string;
let disabledUrl: string;
/** Bytes each connection's socket read from the network, by the server's side. */
const sockets: Socket[] = [];

beforeAll(async () => {
  t = await createTestDatabase(import.meta.filename);
  app = testApp(t, { WRITE_RATE_LIMIT: '0' });
  app.server.on('connection', (socket: Socket) => void sockets.push(socket));
  url = (await app.start(0, '127.0.0.1')).url;
  disabled = testApp(t, { API_TOKENS: '' });
  disabledUrl = (await disabled.start(0, '127.0.0.1')).url;
});
afterAll(async () => {
  await app?.stop();
  await disabled?.stop();
  await t?.drop();
});

const INGEST = `mutation ($m: [MeasurementInput!]!) {
  ingestMeasurements(measurements: $m) { received inserted rejected { index reason } }
}`;

function batch(size: number, location = 'ANON') {
  return Array.from({ length: size }, (_, i) => ({
    location,
    city: 'Anonstad',
    country: 'BE',
    parameter: 'PM10',
    value: i % 500,
    unit: 'µg/m³',
    measuredAt: new Date(Date.UTC(2026, 0, 5) + i * 1000).toISOString(),
    sourceName: 'a source name long enough to make every item take its room in the body',
  }));
}

/** An 8 MB ingestMeasurements request body (about 36,000 items), under MAX_BODY_BYTES (8 MiB). */
const EIGHT_MB = JSON.stringify({ query: INGEST, variables: { m: batch(35_800) } });

async function stored(): Promise<number> {
  const [[row]] = await t.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM measurement');
  return Number(row?.n);
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

/** POSTs over a connection of its own and reports what the server's side of it read. */
async function post(body: string, headers: Record<string, string>, endpoint = url) {
  const before = sockets.length;
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body,
  });
  const json = await response.json();
  const socket = sockets[before];
  // After refusing a body the server reads no more of it (the connection lingers unread for a
  // moment, then closes): a moment after the answer, its count is final.
  if (response.headers.get('connection') === 'close') await settle();
  return {
    status: response.status,
    challenge: response.headers.get('www-authenticate'),
    json,
    serverRead: socket?.bytesRead ?? Number.NaN,
  };
}

const MISSING = {
  errors: [
    {
      message: `Without a token a request body may be at most ${ANONYMOUS_LIMIT} bytes (MAX_ANONYMOUS_BODY_BYTES), room for any query but not for a batch: writes need the header Authorization: Bearer <token> with a token from the server's API_TOKENS.`,
      extensions: { code: 'UNAUTHENTICATED' },
    },
  ],
};

describe('a write without a valid token', () => {
  it('is refused with 401 after 64 KB of an 8 MB body, the rest never read', async () => {
    expect(EIGHT_MB.length).toBeGreaterThan(8_000_000);
    expect(EIGHT_MB.length).toBeLessThan(8 * 1024 * 1024);
    const refused = await post(EIGHT_MB, {});
    expect(refused).toEqual({
      status: 401,
      challenge: 'Bearer realm="belair"',
      json: MISSING,
      serverRead: expect.any(Number),
    });
    expect(refused.serverRead).toBeLessThan(ANONYMOUS_LIMIT + READ_AHEAD);
    expect(await stored()).toBe(0);
  });

  it('is refused the same way with a wrong token, and without API_TOKENS on the server', async () => {
    const wrong = await post(EIGHT_MB, { authorization: 'Bearer not-the-token' });
    expect(wrong.status).toBe(401);
    expect(wrong.json).toEqual({
      errors: [
        {
          message: `The Authorization header does not hold a token this server accepts, and without one a request body may be at most ${ANONYMOUS_LIMIT} bytes (MAX_ANONYMOUS_BODY_BYTES): send Authorization: Bearer <token> with a token from API_TOKENS.`,
          extensions: { code: 'UNAUTHENTICATED' },
        },
      ],
    });
    expect(wrong.serverRead).toBeLessThan(ANONYMOUS_LIMIT + READ_AHEAD);

    const off = await post(EIGHT_MB, { authorization: `Bearer ${TOKEN}` }, disabledUrl);
    expect(off.status).toBe(403);
    expect(off.json).toEqual({
      errors: [
        {
          message: `Writes are disabled on this server: it was started without API_TOKENS, and a request body may be at most ${ANONYMOUS_LIMIT} bytes (MAX_ANONYMOUS_BODY_BYTES).`,
          extensions: { code: 'FORBIDDEN' },
        },
      ],
    });
    expect(await stored()).toBe(0);
  });

  it('is refused while reading a chunked body without a length, at the limit', async () => {
    const answer = await postChunked(url, EIGHT_MB, 16_384);
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toEqual(MISSING);
    await settle();
    expect((sockets.at(-1) as Socket).bytesRead).toBeLessThan(ANONYMOUS_LIMIT + READ_AHEAD);
  });

  it('within 64 KB, is refused before its variables are looked at', async () => {
    // GraphQL's own coercion would answer this with a variable error; a client without a token
    // learns nothing from the server but that it needs one.
    const notAList = await post(JSON.stringify({ query: INGEST, variables: { m: 'PM10 12' } }), {});
    expect(notAList.status).toBe(401);
    expect(notAList.json).toEqual({
      data: null,
      errors: [
        {
          message:
            "This operation writes data: send the header Authorization: Bearer <token> with a token from the server's API_TOKENS.",
          locations: [{ line: 2, column: 3 }],
          path: ['ingestMeasurements'],
          extensions: { code: 'UNAUTHENTICATED' },
        },
      ],
    });
    // Every write field is refused, aliased ones and those behind fragments included.
    const several = await post(
      JSON.stringify({
        query: `mutation ($m: [MeasurementInput!]!) { __typename a: ingestMeasurements(measurements: $m) { received } ...R }
                fragment R on Mutation { refreshAirQuality { id } }`,
        variables: { m: batch(100) },
      }),
      { authorization: 'Bearer nope' },
    );
    expect(several.status).toBe(401);
    expect(several.json.data).toBeNull();
    expect(
      several.json.errors.map((e: { path: string[]; extensions: unknown }) => [
        e.path,
        e.extensions,
      ]),
    ).toEqual([
      [['a'], { code: 'UNAUTHENTICATED' }],
      [['refreshAirQuality'], { code: 'UNAUTHENTICATED' }],
    ]);
    expect(await stored()).toBe(0);
  });
});

describe('requests with a valid token, and queries', () => {
  it('reads a batch far over 64 KB with a valid token', async () => {
    const body = JSON.stringify({ query: INGEST, variables: { m: batch(3000, 'TOKENED') } });
    expect(body.length).toBeGreaterThan(ANONYMOUS_LIMIT * 10);
    const answer = await post(body, { authorization: `Bearer ${TOKEN}` });
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({
      data: { ingestMeasurements: { received: 3000, inserted: 3000, rejected: [] } },
    });
    expect(await stored()).toBe(3000);
  });

  it('answers a query of nearly 64 KB without a token', async () => {
    const query = `{ cities { name } } # ${'x'.repeat(ANONYMOUS_LIMIT - 200)}`;
    const answer = await post(JSON.stringify({ query }), {});
    expect(answer).toMatchObject({
      status: 200,
      json: { data: { cities: [{ name: 'Anonstad' }] } },
    });
  });
});

describe('over graphql-ws', () => {
  /** Opens a socket, sends connection_init with these params, then one subscribe message. */
  function overSocket(connectionParams: Record<string, unknown> | undefined, payload: unknown) {
    const wsUrl = url.replace(/^http/, 'ws');
    return new Promise<{ messages: unknown[]; closeCode: number | null }>((resolve, reject) => {
      const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
      const messages: unknown[] = [];
      socket.on('open', () =>
        socket.send(JSON.stringify({ type: 'connection_init', payload: connectionParams })),
      );
      socket.on('message', (data) => {
        const message = JSON.parse(String(data)) as { type: string };
        if (message.type === 'connection_ack') {
          socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload }));
          return;
        }
        messages.push(message);
        if (message.type === 'complete' || message.type === 'error') {
          socket.close(1000);
        }
      });
      socket.on('error', reject);
      socket.on('close', (code) => resolve({ messages, closeCode: code }));
    });
  }

  it('closes a socket without a valid token that sends a message over 64 KB (1009), reading no batch', async () => {
    const before = await stored();
    const payload = { query: INGEST, variables: { m: batch(400, 'WSANON') } };
    expect(JSON.stringify(payload).length).toBeGreaterThan(ANONYMOUS_LIMIT);
    expect(await overSocket(undefined, payload)).toEqual({ messages: [], closeCode: 1009 });
    expect(await overSocket({ Authorization: 'Bearer not-the-token' }, payload)).toEqual({
      messages: [],
      closeCode: 1009,
    });
    expect(await stored()).toBe(before);
  });

  it('takes a batch far over 64 KB from a socket whose connectionParams hold a valid token', async () => {
    const before = await stored();
    const payload = { query: INGEST, variables: { m: batch(3000, 'WSTOKEN') } };
    expect(JSON.stringify(payload).length).toBeGreaterThan(ANONYMOUS_LIMIT * 10);
    const answer = await overSocket({ Authorization: `Bearer ${TOKEN}` }, payload);
    expect(answer).toEqual({
      messages: [
        {
          id: '1',
          type: 'next',
          payload: {
            data: { ingestMeasurements: { received: 3000, inserted: 3000, rejected: [] } },
          },
        },
        { id: '1', type: 'complete' },
      ],
      closeCode: 1000,
    });
    expect(await stored()).toBe(before + 3000);
  });
});
