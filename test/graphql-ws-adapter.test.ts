import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { ExecutionArgs, FormattedExecutionResult, GraphQLError } from 'graphql';
import type { SubscribePayload } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { createSchema, createYoga } from 'graphql-yoga';
import mysql from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { ConnectionLimit } from '../src/live/connection-limit.js';
import { type GraphqlWsEndpoint, mountGraphqlWs } from '../src/live/graphql-ws-server.js';
import { databaseErrorRewriter, useDatabaseErrors } from '../src/plugins/use-database-errors.js';
import { type SharedExecution, useSharedExecution } from '../src/plugins/use-shared-execution.js';
import { LatestQueue } from '../src/poller/latest-queue.js';
import { recordingLogger } from './helpers/app.js';
import { until } from './helpers/live-clients.js';

/**
 * The graphql-ws adapter (src/live/) on a small schema whose subscription source is pushed by the
 * test as the poller pushes: one LatestQueue per subscription, the same item objects to each. Side
 * by side with graphql-ws's own server (graphql-ws/use/ws, routed through the same Yoga as
 * graphql-yoga's example does), so that what a client sees can be compared byte for byte.
 */

interface Item {
  readonly key: string;
  readonly n: number;
  readonly text: string;
}

/** The test's stand-in for the poller: items pushed to every open stream. */
class Feed {
  readonly queues = new Set<LatestQueue<Item>>();
  ended = 0;

  stream(): LatestQueue<Item> {
    const queue = new LatestQueue<Item>(
      (item) => item.key,
      () => {
        this.queues.delete(queue);
        this.ended += 1;
      },
    );
    this.queues.add(queue);
    return queue;
  }

  push(...items: Item[]): void {
    for (const queue of this.queues) for (const item of items) queue.push(item);
  }
}

let refused: Error;
const feed = new Feed();

const schema = createSchema({
  typeDefs: /* GraphQL */ `
    type Query { ok: Boolean }
    type Subscription { items: Item! generated(fail: Boolean!): Item! }
    type Item { key: String! n: Int! text: String! bug: Int refused: Int }
  `,
  resolvers: {
    Query: { ok: () => true },
    Subscription: {
      items: { subscribe: () => feed.stream(), resolve: (item: Item) => item },
      generated: {
        async *subscribe(_root: unknown, args: { fail: boolean }) {
          yield { key: 'g', n: 1, text: 'one' };
          yield { key: 'g', n: 2, text: 'two' };
          if (args.fail) throw new Error('the source broke');
        },
        resolve: (item: Item) => item,
      },
    },
    Item: {
      bug: () => {
        throw new Error('a bug');
      },
      refused: () => Promise.reject(refused),
    },
  },
});

interface Served {
  readonly url: string;
  /** graphql-ws's own server on the same Yoga. */
  readonly referenceUrl: string;
  readonly endpoint: GraphqlWsEndpoint;
  readonly sharing: SharedExecution;
  readonly logger: ReturnType<typeof logging>;
}

/** A logger that keeps its errors and warnings. */
function logging() {
  const logger = Object.assign(recordingLogger(), { warnings: [] as string[] });
  logger.warn = (message: unknown) => void logger.warnings.push(String(message));
  return logger;
}

const closers: (() => Promise<void>)[] = [];
/** Every client socket, closed after each test whatever it asserted. */
const sockets: WebSocket[] = [];

async function listen(server: Server | WebSocketServer): Promise<number> {
  if (server instanceof WebSocketServer) {
    await new Promise((resolve) => server.once('listening', resolve));
    return (server.address() as { port: number }).port;
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

/** What a client of the API is told over HTTP and SSE: an error without Yoga's internals. */
function withoutInternals(error: GraphQLError) {
  const { http: _http, unexpected: _unexpected, ...extensions } = error.extensions ?? {};
  return {
    ...error.toJSON(),
    extensions: Object.keys(extensions).length > 0 ? extensions : undefined,
  };
}

/** The adapter on its own HTTP server, and graphql-ws's on another port, one Yoga for both. */
async function serve(
  options: {
    keepAliveMs?: number;
    maxPayloadBytes?: number;
    connectionInitWaitMs?: number;
    /** false: the adapter is told of no shared stream, and pulls every stream itself. */
    push?: boolean;
  } = {},
): Promise<Served> {
  const logger = logging();
  const sharing = useSharedExecution<object>({
    executionContext: (context) => ({ ...context }),
    finalize: databaseErrorRewriter(logger),
  });
  const yoga = createYoga({
    schema,
    logging: logger,
    maskedErrors: true,
    plugins: [useDatabaseErrors(logger), sharing.plugin],
  });
  const server = createServer(yoga);
  const endpoint = mountGraphqlWs(server, yoga as unknown as Parameters<typeof mountGraphqlWs>[1], {
    path: '/graphql',
    limit: new ConnectionLimit(100),
    keepAliveMs: options.keepAliveMs ?? 0,
    maxPayloadBytes: options.maxPayloadBytes ?? 1024 * 1024,
    maxAnonymousPayloadBytes: options.maxPayloadBytes ?? 1024 * 1024,
    isWriter: () => false,
    maxOperationsPerSocket: 100,
    streams: options.push === false ? { pushStream: () => undefined } : sharing,
    ...(options.connectionInitWaitMs ? { connectionInitWaitMs: options.connectionInitWaitMs } : {}),
  });
  const port = await listen(server);

  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  type Enveloped = ExecutionArgs & {
    execute: (args: ExecutionArgs) => unknown;
    subscribe: (args: ExecutionArgs) => unknown;
  };
  const reference = useServer(
    {
      execute: (args) => (args as Enveloped).execute(args) as never,
      subscribe: (args) => (args as Enveloped).subscribe(args) as never,
      onSubscribe: async (ctx, _id, params: SubscribePayload) => {
        const enveloped = yoga.getEnveloped({ ...ctx, params });
        let document: ExecutionArgs['document'];
        try {
          document = enveloped.parse(params.query);
        } catch (error) {
          return [error as never];
        }
        const errors = enveloped.validate(enveloped.schema, document);
        if (errors.length > 0) return errors;
        return {
          schema: enveloped.schema,
          document,
          operationName: params.operationName,
          variableValues: params.variables,
          contextValue: await enveloped.contextFactory(),
          execute: enveloped.execute,
          subscribe: enveloped.subscribe,
        } as Enveloped;
      },
      // What a client of the API is told over HTTP and SSE: none of Yoga's internals.
      onNext: (_ctx, _id, _payload, _args, result) => {
        const { errors, ...rest } = result;
        if (!errors) return undefined;
        return {
          ...rest,
          errors: errors.map(withoutInternals),
        } as FormattedExecutionResult;
      },
      onError: (_ctx, _id, _payload, errors) => errors.map(withoutInternals) as never,
      ...(options.connectionInitWaitMs
        ? { connectionInitWaitTimeout: options.connectionInitWaitMs }
        : {}),
    },
    wss,
    0,
  );
  const referencePort = await listen(wss);
  closers.push(async () => {
    await endpoint.close(100);
    await reference.dispose();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    url: `ws://127.0.0.1:${port}/graphql`,
    referenceUrl: `ws://127.0.0.1:${referencePort}`,
    endpoint,
    sharing,
    logger,
  };
}

/** A bare WebSocket client: every message as it came, and how the socket closed. */
function connect(url: string, options: { protocol?: string | null; autoPong?: boolean } = {}) {
  const protocols = options.protocol === null ? [] : [options.protocol ?? 'graphql-transport-ws'];
  const socket = new WebSocket(url, protocols, { autoPong: options.autoPong ?? true });
  const messages: string[] = [];
  let pings = 0;
  let closedWith: { code: number; reason: string } | null = null;
  socket.on('message', (data) => void messages.push(String(data)));
  socket.on('ping', () => {
    pings += 1;
  });
  socket.on('close', (code, reason) => {
    closedWith = { code, reason: String(reason) };
  });
  const opened = new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  sockets.push(socket);
  return {
    socket,
    messages,
    opened,
    pings: () => pings,
    send: (message: unknown) =>
      socket.send(typeof message === 'string' ? message : JSON.stringify(message)),
    closed: async () => {
      await until(() => closedWith !== null, 'the socket to close');
      return closedWith as unknown as { code: number; reason: string };
    },
    until: (check: (messages: string[]) => boolean, what: string) =>
      until(() => check(messages), what),
  };
}
type Client = ReturnType<typeof connect>;

/** Connected and acknowledged. */
async function ready(url: string): Promise<Client> {
  const client = connect(url);
  await client.opened;
  client.send({ type: 'connection_init' });
  await client.until((m) => m.includes('{"type":"connection_ack"}'), 'the acknowledgement');
  return client;
}

const ITEMS = 'subscription { items { key n text } }';
const nexts = (client: Client, id: string) =>
  client.messages.filter((m) => m.startsWith(`{"id":${JSON.stringify(id)},"type":"next"`));

beforeAll(async () => {
  // What mysql2 really throws when MariaDB cannot be reached: a port nobody listens on.
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  refused = await mysql.createConnection({ host: '127.0.0.1', port }).then(
    () => {
      throw new Error('expected a refusal');
    },
    (error: Error) => error,
  );
});

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.terminate();
  await until(() => feed.queues.size === 0, 'every stream to end');
});

afterAll(async () => {
  for (const close of closers.splice(0)) await close();
});

describe('the graphql-ws adapter', () => {
  it('speaks graphql-transport-ws as graphql-ws does: acknowledgement, pings, refusals, close codes', async () => {
    const served = await serve({ connectionInitWaitMs: 300 });
    /** One conversation with a server: what it sent, and how it closed the socket. */
    const talk = async (
      url: string,
      say: unknown[],
      options: { protocol?: string | null } = {},
    ) => {
      const client = connect(url, options);
      await client.opened;
      for (const message of say) {
        client.send(message);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const closed = await client.closed();
      return { messages: client.messages, closed };
    };
    const init = { type: 'connection_init' };
    const subscribe = (id: string) => ({ id, type: 'subscribe', payload: { query: ITEMS } });
    const conversations: { say: unknown[]; options?: { protocol: null }; expected: unknown }[] = [
      { say: [], options: { protocol: null }, expected: [4406, 'Subprotocol not acceptable'] },
      { say: [], expected: [4408, 'Connection initialisation timeout'] },
      { say: [init, init], expected: [4429, 'Too many initialisation requests'] },
      { say: [subscribe('a')], expected: [4401, 'Unauthorized'] },
      { say: [init, 'not JSON'], expected: [4400, 'Invalid message received'] },
      { say: [init, { type: 'unknown' }], expected: [4400, 'Invalid message received'] },
      {
        say: [
          init,
          { type: 'ping', payload: { at: 1 } },
          { type: 'ping' },
          subscribe('a'),
          subscribe('a'),
        ],
        expected: [4409, 'Subscriber for a already exists'],
      },
    ];
    for (const { say, options, expected } of conversations) {
      const ours = await talk(served.url, say, options);
      const theirs = await talk(served.referenceUrl, say, options);
      expect([ours.closed.code, ours.closed.reason]).toEqual(expected);
      expect(ours).toEqual(theirs);
    }
    const pinged = await talk(served.url, conversations.at(-1)?.say ?? []);
    expect(pinged.messages).toEqual([
      '{"type":"connection_ack"}',
      '{"type":"pong","payload":{"at":1}}',
      '{"type":"pong"}',
    ]);
    await until(() => feed.queues.size === 0, 'every stream to end');
  });

  it('sends each shared result serialised once: the very bytes graphql-ws sends', async () => {
    const served = await serve();
    const first = await ready(served.url);
    const second = await ready(served.url);
    const reference = await ready(served.referenceUrl);
    const query = 'subscription { items { key n text bug refused } }';
    // Two subscribers with the same id on two sockets, another id, and graphql-ws's own.
    const subscribers = [
      [first, 'a'],
      [second, 'a'],
      [first, 'b "quoted" é'],
      [reference, 'a'],
    ] as const;
    for (const [index, [client, id]] of subscribers.entries()) {
      client.send({ id, type: 'subscribe', payload: { query } });
      await until(() => feed.queues.size === index + 1, `subscription ${index + 1}`);
    }
    const items: Item[] = [
      { key: 'k1', n: 1, text: 'plain' },
      { key: 'k2', n: 2, text: '"payload":"x"} \u2028 é 😀 </script>' },
      { key: 'k1', n: 3, text: '{"id":"a","type":"next","payload":' },
    ];
    feed.push(...items);
    for (const [client, id] of subscribers) {
      await until(() => nexts(client, id).length === items.length, `the items for ${id}`);
    }
    expect(nexts(first, 'a')).toEqual(nexts(reference, 'a'));
    expect(nexts(second, 'a')).toEqual(nexts(reference, 'a'));
    expect(nexts(first, 'b "quoted" é')).toEqual(
      nexts(reference, 'a').map((m) =>
        m.replace('{"id":"a"', `{"id":${JSON.stringify('b "quoted" é')}`),
      ),
    );
    expect(JSON.parse(nexts(first, 'a')[1] ?? '')).toEqual({
      id: 'a',
      type: 'next',
      payload: {
        data: { items: { key: 'k2', n: 2, text: items[1]?.text, bug: null, refused: null } },
        errors: [
          {
            message: 'Unexpected error.',
            locations: [{ line: 1, column: 35 }],
            path: ['items', 'bug'],
            extensions: { code: 'INTERNAL_SERVER_ERROR' },
          },
          {
            message:
              'The database is unavailable (connection refused). Try again in 5 seconds or so; GET /readyz says when the service is ready again.',
            locations: [{ line: 1, column: 39 }],
            path: ['items', 'refused'],
            extensions: { code: 'DATABASE_UNAVAILABLE', retryable: true },
          },
        ],
      },
    });
    // One execution, one serialisation and one log line per item for all four subscribers; a
    // frame per item and id in a row (the two 'a' share theirs).
    expect(served.sharing.stats()).toMatchObject({ executions: items.length });
    expect(served.endpoint.stats()).toMatchObject({
      subscriptions: 3,
      serialisations: items.length,
      frames: 2 * items.length,
      written: 3 * items.length,
    });
    expect(served.logger.errors).toHaveLength(items.length);
    expect(served.logger.warnings).toHaveLength(items.length);
    for (const client of [first, second, reference]) client.socket.close();
    await until(() => feed.queues.size === 0, 'every stream to end');
  });

  it('pulls, and serialises for each subscriber, a stream it is not pushed', async () => {
    const served = await serve({ push: false });
    const client = await ready(served.url);
    const reference = await ready(served.referenceUrl);
    const query = 'subscription { items { key n bug } }';
    client.send({ id: 'a', type: 'subscribe', payload: { query } });
    reference.send({ id: 'a', type: 'subscribe', payload: { query } });
    await until(() => feed.queues.size === 2, 'both subscriptions');
    const items = [1, 2, 3].map((n) => ({ key: `k${n % 2}`, n, text: '' }));
    feed.push(...items);
    for (const c of [client, reference]) {
      await until(() => nexts(c, 'a').length === items.length, 'every item');
    }
    expect(nexts(client, 'a')).toEqual(nexts(reference, 'a'));
    expect(served.endpoint.stats()).toMatchObject({ subscriptions: 0, serialisations: 0 });
    client.send({ id: 'a', type: 'complete' });
    await until(() => feed.queues.size === 1, 'the completed stream to end');
  });

  it('gives a slow client the latest item of each key, never a backlog, and the others everything', async () => {
    const served = await serve();
    const fast = await ready(served.url);
    const slow = await ready(served.url);
    fast.send({ id: 'f', type: 'subscribe', payload: { query: ITEMS } });
    slow.send({ id: 's', type: 'subscribe', payload: { query: ITEMS } });
    await until(() => feed.queues.size === 2, 'both subscriptions');
    slow.socket.pause();
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    const text = 'x'.repeat(20_000);
    let rounds = 0;
    const round = async () => {
      rounds += 1;
      feed.push(...keys.map((key) => ({ key, n: rounds, text })));
      await fast.until(() => nexts(fast, 'f').length === rounds * keys.length, `round ${rounds}`);
    };
    // Until the slow socket takes no more: its subscription waits, its queue keeps the latest.
    while (served.endpoint.stats().unflushed === 0 && rounds < 2_000) await round();
    expect(served.endpoint.stats().unflushed).toBe(1);
    for (let more = 0; more < 5; more += 1) await round();
    expect(nexts(fast, 'f')).toHaveLength(rounds * keys.length);
    slow.socket.resume();
    const lastOf = (messages: string[]) => {
      const byKey = new Map<string, number[]>();
      for (const message of messages) {
        const { key, n } = JSON.parse(message).payload.data.items;
        byKey.set(key, [...(byKey.get(key) ?? []), n]);
      }
      return byKey;
    };
    await slow.until(
      () => keys.every((key) => lastOf(nexts(slow, 's')).get(key)?.at(-1) === rounds),
      'the latest item of every key',
    );
    const received = lastOf(nexts(slow, 's'));
    for (const key of keys) {
      const ns = received.get(key) ?? [];
      expect(ns).toEqual([...new Set(ns)].sort((a, b) => a - b));
    }
    // Five rounds at least were kept back, and only the latest of each key came.
    expect(nexts(slow, 's').length).toBeLessThanOrEqual((rounds - 4) * keys.length);
    expect(served.endpoint.stats().unflushed).toBe(0);
    fast.socket.close();
    slow.socket.close();
    await until(() => feed.queues.size === 0, 'every stream to end');
  }, 120_000);

  it('pings every keepAliveMs and drops a socket whose pong does not come back', async () => {
    const served = await serve({ keepAliveMs: 100 });
    const answering = await ready(served.url);
    const silent = connect(served.url, { autoPong: false });
    await silent.opened;
    silent.send({ type: 'connection_init' });
    silent.send({ id: 's', type: 'subscribe', payload: { query: ITEMS } });
    await until(() => feed.queues.size === 1, 'the silent subscription');
    expect((await silent.closed()).code).toBe(1006);
    await until(() => feed.queues.size === 0, 'its stream to end');
    await until(() => answering.pings() >= 5, 'five pings');
    expect(answering.socket.readyState).toBe(WebSocket.OPEN);
    expect(served.endpoint.connections()).toBe(1);
    answering.socket.close();
  });

  it('closes with 1009 a socket that sends a message over the limit', async () => {
    const served = await serve({ maxPayloadBytes: 1024 });
    const client = await ready(served.url);
    client.send({ id: 'x', type: 'subscribe', payload: { query: `{ ok ${'#'.repeat(1024)}\n}` } });
    expect((await client.closed()).code).toBe(1009);
    await until(() => served.endpoint.connections() === 0, 'the socket to be gone');
  });

  it('ends the source when the client completes or leaves, and the rest goes on', async () => {
    const served = await serve();
    const client = await ready(served.url);
    const ended = feed.ended;
    client.send({ id: 'a', type: 'subscribe', payload: { query: ITEMS } });
    client.send({ id: 'b', type: 'subscribe', payload: { query: ITEMS } });
    await until(() => feed.queues.size === 2, 'two subscriptions');
    client.send({ id: 'a', type: 'complete' });
    await until(() => feed.ended === ended + 1, 'the completed stream to end');
    expect(served.endpoint.stats().subscriptions).toBe(1);
    feed.push({ key: 'k', n: 1, text: 'after' });
    await client.until(() => nexts(client, 'b').length === 1, 'the other subscription');
    expect(nexts(client, 'a')).toEqual([]);
    // The same id may subscribe again once completed.
    client.send({ id: 'a', type: 'subscribe', payload: { query: ITEMS } });
    await until(() => feed.queues.size === 2, 'a again');
    client.socket.close();
    await until(() => feed.ended === ended + 3, 'every stream to end');
    await until(() => served.endpoint.stats().subscriptions === 0, 'no subscription left');
  });

  it("pushes any stream, not only the poller's, and answers its failure on the operation alone", async () => {
    const served = await serve();
    const client = await ready(served.url);
    const reference = await ready(served.referenceUrl);
    for (const c of [client, reference]) {
      c.send({
        id: 'ok',
        type: 'subscribe',
        payload: { query: 'subscription { generated(fail: false) { n } }' },
      });
      c.send({
        id: 'ko',
        type: 'subscribe',
        payload: { query: 'subscription { generated(fail: true) { n } }' },
      });
      await c.until(
        (m) => m.filter((x) => /"type":"(complete|error)"/.test(x)).length === 2,
        'both ends',
      );
    }
    const sorted = (c: Client) => [...c.messages].sort();
    expect(sorted(client)).toEqual(sorted(reference));
    expect(client.messages).toContain(
      '{"id":"ko","type":"error","payload":[{"message":"Unexpected error.","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}',
    );
    // The failure of each failing stream (ours, graphql-ws's) logged once, in full.
    expect(served.logger.errors.map(([error]) => (error as Error).message)).toEqual([
      'the source broke',
      'the source broke',
    ]);
    expect(client.messages).toContain('{"id":"ok","type":"complete"}');
    client.send({ type: 'ping' });
    await client.until((m) => m.includes('{"type":"pong"}'), 'a pong: the socket stays');
    client.socket.close();
    reference.socket.close();
  });
});
