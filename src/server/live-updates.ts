import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Plugin, YogaServerInstance } from 'graphql-yoga';
import {
  type AppDeps,
  authorizationOf,
  type Context,
  createWriteAccessCheck,
  freshLoaders,
  type InitialContext,
} from '../context/context.js';
import type { ErrorCode } from '../errors/expected-errors.js';
import { ConnectionLimit } from '../live/connection-limit.js';
import {
  type GraphqlWsEndpoint,
  type GraphqlWsStats,
  mountGraphqlWs,
} from '../live/graphql-ws-server.js';
import { databaseErrorRewriter } from '../plugins/use-database-errors.js';
import { type SharedExecutionStats, useSharedExecution } from '../plugins/use-shared-execution.js';
import { createPoller, type Poller, type PollerStats } from '../poller/poller.js';

/** The counters of live updates, for tests, benchmarks and operators. */
export interface LiveStats {
  readonly poller: PollerStats;
  readonly execution: SharedExecutionStats;
  /** graphql-ws's pushed subscriptions: serialisations, frames and writes of their results. */
  readonly graphqlWs: GraphqlWsStats;
  readonly connections: {
    /** Open WebSockets. */
    readonly webSockets: number;
    /** Open SSE streams. */
    readonly eventStreams: number;
    /** Refused by the cap since the start. */
    readonly refused: number;
    readonly max: number;
  };
}

/** Live updates of one app: the poller, shared execution, graphql-ws and the connection cap. */
export interface LiveUpdates {
  readonly poller: Poller;
  /** The envelop plugin that shares executions between identical subscriptions. */
  readonly plugin: Plugin;
  /** graphql-ws on the server's GraphQL path. */
  mount(server: Server, yoga: YogaServerInstance<InitialContext, Context>): void;
  /**
   * For an SSE request: takes a place under the cap (freed when the response closes) and returns
   * true, or answers 503 and returns false. Other requests: true.
   */
  admit(request: IncomingMessage, response: ServerResponse): boolean;
  stats(): LiveStats;
  /** Closes the sockets, ends every stream and stops the poller. */
  close(graceMs: number): Promise<void>;
}

function isEventStream(request: IncomingMessage): boolean {
  return (request.headers.accept ?? '').includes('text/event-stream');
}

export function createLiveUpdates(deps: AppDeps): LiveUpdates {
  const poller = createPoller({
    db: deps.pool,
    ...(deps.reads ? { reads: deps.reads } : {}),
    pollIntervalMs: deps.config.pollIntervalMs,
    logger: deps.logger,
    ...(deps.live?.maxBackoffMs === undefined ? {} : { maxBackoffMs: deps.live.maxBackoffMs }),
    ...(deps.live?.queryIdleMs === undefined ? {} : { queryIdleMs: deps.live.queryIdleMs }),
  });
  const sharing = useSharedExecution<Context>({
    // Fresh loaders per event: a subscription's own loaders would serve its first event forever.
    // (The copy also gives each event's execution a history budget of its own.)
    executionContext: (context) => ({ ...context, loaders: freshLoaders(context) }),
    // Once per shared result rather than once per subscriber (see use-database-errors.ts).
    finalize: databaseErrorRewriter(deps.logger),
  });
  const limit = new ConnectionLimit(deps.config.maxConnections);
  const writeAccessOf = createWriteAccessCheck(deps.config.apiTokens);
  const eventStreams = new Set<ServerResponse>();
  /** Connections that carry an open event stream. */
  const streamingSockets = new WeakSet<Socket>();
  let ws: GraphqlWsEndpoint | null = null;
  let closing: Promise<void> | null = null;

  return {
    poller,
    plugin: sharing.plugin,
    mount(server, yoga) {
      ws = mountGraphqlWs(server, yoga, {
        path: yoga.graphqlEndpoint,
        limit,
        keepAliveMs: deps.live?.keepAliveMs ?? 12_000,
        maxPayloadBytes: deps.config.maxBodyBytes,
        maxAnonymousPayloadBytes: deps.config.maxAnonymousBodyBytes,
        isWriter: (connectionParams) =>
          writeAccessOf(authorizationOf({ ...(connectionParams ? { connectionParams } : {}) }))
            .writeAccess === 'token',
        maxOperationsPerSocket: deps.config.maxSubscriptionsPerConnection,
        streams: sharing,
      });
    },
    admit(request, response) {
      if (!isEventStream(request)) return true;
      // Yoga serves graphql-sse's distinct connections mode only (no stream reservations): one
      // operation per request. HTTP/1.1 answers requests in order, so a stream pipelined on a
      // connection behind an open one could never be delivered while that one lives: it would
      // only execute, and buffer every event in memory. One stream per connection, then.
      const socket = request.socket;
      if (streamingSockets.has(socket)) {
        response.writeHead(429, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify({
            errors: [
              {
                message:
                  'This connection already carries an event stream, and HTTP/1.1 delivers one answer at a time: open another connection for another subscription.',
                extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' satisfies ErrorCode },
              },
            ],
          }),
        );
        return false;
      }
      if (!limit.tryAcquire()) {
        response.writeHead(503, { 'content-type': 'application/json', 'retry-after': '5' });
        response.end(
          JSON.stringify({
            errors: [{ message: limit.reason, extensions: { code: 'TOO_MANY_CONNECTIONS' } }],
          }),
        );
        return false;
      }
      eventStreams.add(response);
      streamingSockets.add(socket);
      response.once('close', () => {
        eventStreams.delete(response);
        streamingSockets.delete(socket);
        limit.release();
      });
      return true;
    },
    stats: () => ({
      poller: poller.stats(),
      execution: sharing.stats(),
      graphqlWs: ws?.stats() ?? {
        subscriptions: 0,
        serialisations: 0,
        frames: 0,
        written: 0,
        unflushed: 0,
      },
      connections: {
        webSockets: ws?.connections() ?? 0,
        eventStreams: eventStreams.size,
        refused: limit.refused,
        max: limit.max,
      },
    }),
    close(graceMs) {
      closing ??= (async () => {
        await ws?.close(graceMs);
        // Ends the SSE streams too: their responses complete (cut after graceMs), so that their
        // connections are idle when the HTTP server closes.
        await poller.stop();
        const ended = [...eventStreams].map(
          (response) => new Promise((resolve) => response.once('close', resolve)),
        );
        const cut = setTimeout(() => {
          for (const response of eventStreams) response.destroy();
        }, graceMs);
        await Promise.all(ended);
        clearTimeout(cut);
      })();
      return closing;
    },
  };
}
