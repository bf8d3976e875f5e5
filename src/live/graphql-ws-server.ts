import type { Server } from 'node:http';
import {
  type ExecutionArgs,
  type ExecutionResult,
  type FormattedExecutionResult,
  GraphQLError,
} from 'graphql';
import type { ServerOptions, SubscribePayload } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Context, InitialContext } from '../context/context.js';
import { tooManySubscriptions } from '../errors/expected-errors.js';
import type { ConnectionLimit } from './connection-limit.js';
import { sharedPayloadJson } from './shared-payload-json.js';

/** "Try Again Later" (RFC 6455 registry): sent to a socket refused by the connection cap. */
export const CLOSE_TRY_AGAIN_LATER = 1013;

export interface GraphqlWsEndpoint {
  /** Open WebSockets. */
  connections(): number;
  /**
   * Closes every socket ("1001 Going away") and the WebSocket server; sockets whose peer does not
   * answer the close within graceMs are cut.
   */
  close(graceMs: number): Promise<void>;
}

type OperationResult = ReturnType<NonNullable<ServerOptions['execute']>>;

/** The arguments of one operation, with the enveloped functions that run it. */
type Enveloped = ExecutionArgs & {
  execute: (args: ExecutionArgs) => OperationResult;
  subscribe: (args: ExecutionArgs) => OperationResult;
};

/**
 * Errors as a WebSocket client should see them: without extensions.http, the status and headers
 * an error asks of an HTTP response (Yoga drops it from HTTP bodies likewise). Undefined when
 * there is nothing to drop, so that graphql-ws sends the result as it is.
 */
function withoutHttpExtensions(result: ExecutionResult): FormattedExecutionResult | undefined {
  if (!result.errors?.some((error) => error.extensions?.http !== undefined)) return undefined;
  return {
    ...result,
    errors: result.errors.map((error) => {
      const { http: _http, ...extensions } = error.extensions ?? {};
      const formatted = error.toJSON();
      return Object.keys(extensions).length > 0
        ? { ...formatted, extensions }
        : { ...formatted, extensions: undefined };
    }),
  };
}

/** The same for an error that refuses an operation before it runs (syntax, validation, limits). */
function withoutHttpExtension(error: GraphQLError): GraphQLError {
  if (error.extensions?.http === undefined) return error;
  const { http: _http, ...extensions } = error.extensions;
  return new GraphQLError(error.message, {
    nodes: error.nodes ?? null,
    source: error.source ?? null,
    positions: error.positions ?? null,
    path: error.path ?? null,
    originalError: error.originalError ?? null,
    extensions,
  });
}

/**
 * Raises one socket's message limit. ws has one maxPayload per server, checked by each socket's
 * receiver as the frames arrive (before a message is buffered whole); the receiver keeps it in
 * _maxPayload (ws 8, without permessage-deflate, which this server leaves off). Pinned by
 * test/anonymous-writes.test.ts: an anonymous socket closes with 1009 past the anonymous limit,
 * one with a valid token sends a batch.
 */
function allowLargeMessages(socket: WebSocket, bytes: number): void {
  const receiver = (socket as unknown as { _receiver?: { _maxPayload?: unknown } })._receiver;
  if (typeof receiver?._maxPayload !== 'number') {
    throw new Error('ws: the socket has no receiver limit to raise (has ws changed?)');
  }
  receiver._maxPayload = bytes;
}

/**
 * graphql-ws (the graphql-transport-ws protocol) on the HTTP server's own port and GraphQL path.
 * Every operation goes through yoga.getEnveloped, as graphql-yoga's graphql-ws example does, so
 * WebSocket operations get the plugins (shared execution, masked errors) and the context factory
 * (Authorization from connectionParams) that HTTP requests get.
 *
 * Messages of a socket are bounded as request bodies are: MAX_ANONYMOUS_BODY_BYTES until its
 * connection_init holds a valid token, MAX_BODY_BYTES after.
 *
 * Each socket runs at most maxOperationsPerSocket operations at once; a subscribe past it is
 * refused with TOO_MANY_SUBSCRIPTIONS, on that operation only.
 *
 * Sockets beyond the limit are accepted and closed at once with 1013 and a reason a person can
 * read: a refused HTTP upgrade would reach a browser as a bare, unexplained failure. The server
 * pings every keepAliveMs and drops a socket whose pong does not come back within as long.
 */
export function mountGraphqlWs(
  server: Server,
  yoga: YogaServerInstance<InitialContext, Context>,
  options: {
    path: string;
    limit: ConnectionLimit;
    keepAliveMs: number;
    /**
     * The largest message accepted from a socket whose connectionParams hold a valid token, as
     * MAX_BODY_BYTES is for HTTP; larger ones close with 1009.
     */
    maxPayloadBytes: number;
    /** The same for other sockets, as MAX_ANONYMOUS_BODY_BYTES is for HTTP. */
    maxAnonymousPayloadBytes: number;
    /** Whether connectionParams hold a valid token. */
    isWriter: (connectionParams: Readonly<Record<string, unknown>> | undefined) => boolean;
    /** Operations one socket may run at once (MAX_SUBSCRIPTIONS_PER_CONNECTION). */
    maxOperationsPerSocket: number;
  },
): GraphqlWsEndpoint {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: Math.min(options.maxAnonymousPayloadBytes, options.maxPayloadBytes),
  });
  const payloads = sharedPayloadJson({ format: withoutHttpExtensions });
  const served = useServer(
    {
      jsonMessageReplacer: payloads.replacer,
      // A socket is anonymous until its connection_init shows a valid token: only then may its
      // messages be as large as a batch.
      onConnect: (ctx) => {
        if (options.isWriter(ctx.connectionParams)) {
          allowLargeMessages(ctx.extra.socket, options.maxPayloadBytes);
        }
      },
      execute: (args) => (args as Enveloped).execute(args),
      subscribe: (args) => (args as Enveloped).subscribe(args),
      onNext: (_ctx, _id, _payload, _args, result) => payloads.payloadFor(result),
      onSubscribe: async (ctx, _id, params: SubscribePayload) => {
        // graphql-ws has entered this operation already: it counts. Queries and mutations count
        // while they run too. Refused on this operation only: the socket and its others go on.
        if (Object.keys(ctx.subscriptions).length > options.maxOperationsPerSocket) {
          return [tooManySubscriptions(options.maxOperationsPerSocket)];
        }
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
        });
        let document: ExecutionArgs['document'];
        try {
          document = parse(params.query);
        } catch (error) {
          // A syntax error is the client's: answer it on this operation, keep the socket.
          if (error instanceof GraphQLError) return [withoutHttpExtension(error)];
          throw error;
        }
        const errors = validate(schema, document);
        if (errors.length > 0) return errors.map(withoutHttpExtension);
        const args: Enveloped = {
          schema,
          operationName: params.operationName,
          document,
          variableValues: params.variables,
          contextValue: await contextFactory(),
          execute,
          subscribe,
        };
        return args;
      },
    },
    wss,
    options.keepAliveMs,
  );

  server.on('upgrade', (request, socket, head) => {
    const { pathname } = new URL(request.url ?? '/', 'http://localhost');
    if (pathname !== options.path) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      if (!options.limit.tryAcquire()) {
        ws.close(CLOSE_TRY_AGAIN_LATER, options.limit.reason);
        return;
      }
      ws.once('close', () => options.limit.release());
      payloads.wrapSend(ws);
      wss.emit('connection', ws, request);
    });
  });

  return {
    connections: () => wss.clients.size,
    close: async (graceMs) => {
      const cut = setTimeout(() => {
        for (const ws of wss.clients) ws.terminate();
      }, graceMs);
      try {
        await served.dispose();
      } finally {
        clearTimeout(cut);
      }
    },
  };
}
