import type { Server } from 'node:http';
import { handleProtocols } from 'graphql-ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Context, InitialContext } from '../context/context.js';
import type { ConnectionLimit } from './connection-limit.js';
import { FanOutCounters, GraphqlWsConnection, type PushStreams } from './graphql-ws-connection.js';
import { KeepAlive } from './keep-alive.js';
import { NextFrames } from './next-frames.js';

/** "Try Again Later" (RFC 6455 registry): sent to a socket refused by the connection cap. */
export const CLOSE_TRY_AGAIN_LATER = 1013;

export interface GraphqlWsStats {
  /** Open subscriptions whose results are pushed. */
  readonly subscriptions: number;
  /** Payloads serialised: once per shared result, whatever the number of subscribers. */
  readonly serialisations: number;
  /** Frames made: once per shared result and id. */
  readonly frames: number;
  /** `next` messages written to sockets. */
  readonly written: number;
  /** Written frames that their socket has not taken yet: slow clients' subscriptions. */
  readonly unflushed: number;
}

export interface GraphqlWsEndpoint {
  /** Open WebSockets. */
  connections(): number;
  stats(): GraphqlWsStats;
  /**
   * Closes every socket ("1001 Going away") and the WebSocket server; sockets whose peer does not
   * answer the close within graceMs are cut.
   */
  close(graceMs: number): Promise<void>;
}

/**
 * graphql-ws (the graphql-transport-ws protocol) on the HTTP server's own port and GraphQL path:
 * graphql-ws's adapter for ws (graphql-ws/use/ws) adjusted to fan out. Each socket speaks the
 * protocol in a GraphqlWsConnection; subscriptions that shared execution pushes get each result
 * as a frame made once per result and id (NextFrames).
 *
 * Sockets beyond the limit are accepted and closed at once with 1013 and a reason a person can
 * read: a refused HTTP upgrade would reach a browser as a bare, unexplained failure. The server
 * pings every socket every keepAliveMs and drops one whose pong does not come back within as
 * long. Messages of a socket are bounded as request bodies are: maxAnonymousPayloadBytes until
 * its connection_init holds a valid token, maxPayloadBytes after; a larger one closes the socket
 * with 1009 (ws does). Each socket runs at most maxOperationsPerSocket operations at once; a
 * subscribe past it is refused with TOO_MANY_SUBSCRIPTIONS, on that operation only.
 */
export function mountGraphqlWs(
  server: Server,
  yoga: YogaServerInstance<InitialContext, Context>,
  options: {
    path: string;
    limit: ConnectionLimit;
    keepAliveMs: number;
    /**
     * The largest message accepted from a socket whose connection_init holds a valid token, as
     * MAX_BODY_BYTES is for HTTP; larger ones close with 1009.
     */
    maxPayloadBytes: number;
    /** The same for other sockets, as MAX_ANONYMOUS_BODY_BYTES is for HTTP. */
    maxAnonymousPayloadBytes: number;
    /** Whether connectionParams hold a valid token. */
    isWriter: (connectionParams: Readonly<Record<string, unknown>> | undefined) => boolean;
    /** Operations one socket may run at once (MAX_SUBSCRIPTIONS_PER_CONNECTION). */
    maxOperationsPerSocket: number;
    /** Shared execution: the streams whose results are pushed. */
    streams: PushStreams;
    /** How long a socket may stay without connection_init. Default 3 s, as graphql-ws. */
    connectionInitWaitMs?: number;
  },
): GraphqlWsEndpoint {
  // No compression: frames are written to the TCP socket as they are made, and ws writes its own
  // synchronously only when it does not compress.
  const wss = new WebSocketServer({
    noServer: true,
    // Every socket starts anonymous; one whose connection_init holds a valid token gets the
    // larger limit (GraphqlWsConnection).
    maxPayload: Math.min(options.maxAnonymousPayloadBytes, options.maxPayloadBytes),
    perMessageDeflate: false,
    handleProtocols,
    // The sockets are tracked here (connections), with their protocol state.
    clientTracking: false,
  });
  const frames = new NextFrames();
  const counters = new FanOutCounters();
  const connections = new Map<WebSocket, GraphqlWsConnection>();
  const keepAlive = new KeepAlive(options.keepAliveMs);
  const connectionOptions = {
    yoga,
    streams: options.streams,
    frames,
    counters,
    connectionInitWaitMs: options.connectionInitWaitMs ?? 3_000,
    isProd: process.env.NODE_ENV === 'production',
    maxOperations: options.maxOperationsPerSocket,
    maxWriterPayloadBytes: options.maxPayloadBytes,
    isWriter: options.isWriter,
  };

  // One listener of each kind for every socket (the socket is `this`): nothing per socket but the
  // connection itself.
  function onMessage(this: WebSocket, data: Buffer | ArrayBuffer | Buffer[]) {
    connections.get(this)?.received(String(data));
  }
  function onPong(this: WebSocket) {
    const connection = connections.get(this);
    if (connection) connection.awaitingPong = false;
  }
  function onError(this: WebSocket, error: Error) {
    connections.get(this)?.failed(error);
  }
  function onClose(this: WebSocket) {
    const connection = connections.get(this);
    connections.delete(this);
    options.limit.release();
    if (connection) {
      keepAlive.remove(connection);
      connection.closed();
    }
  }

  server.on('upgrade', (request, socket, head) => {
    // The path without its query (a request target is origin-form here: /graphql?...).
    const url = request.url ?? '/';
    const query = url.indexOf('?');
    if ((query === -1 ? url : url.slice(0, query)) !== options.path) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      if (!options.limit.tryAcquire()) {
        ws.close(CLOSE_TRY_AGAIN_LATER, options.limit.reason);
        return;
      }
      const connection = new GraphqlWsConnection(ws, socket, connectionOptions);
      connections.set(ws, connection);
      ws.on('message', onMessage);
      ws.on('pong', onPong);
      ws.on('error', onError);
      ws.once('close', onClose);
      keepAlive.add(connection);
    });
  });

  return {
    connections: () => connections.size,
    stats: () => ({
      subscriptions: counters.subscriptions,
      ...frames.stats(),
      written: counters.written,
      unflushed: counters.unflushed,
    }),
    close: async (graceMs) => {
      keepAlive.stop();
      const sockets = [...connections.keys()];
      const closed = Promise.all(
        sockets.map((ws) => new Promise<void>((resolve) => ws.once('close', () => resolve()))),
      );
      for (const ws of sockets) ws.close(1001, 'Going away');
      const cut = setTimeout(() => {
        for (const ws of connections.keys()) ws.terminate();
      }, graceMs);
      try {
        await closed;
        await new Promise<void>((resolve, reject) =>
          wss.close((error) => (error ? reject(error) : resolve())),
        );
      } finally {
        clearTimeout(cut);
      }
    },
  };
}
