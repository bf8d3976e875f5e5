import type { Duplex } from 'node:stream';
import {
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  GraphQLError,
  getOperationAST,
} from 'graphql';
import {
  CloseCode,
  GRAPHQL_TRANSPORT_WS_PROTOCOL,
  type Message,
  MessageType,
  parseMessage,
  type SubscribePayload,
  stringifyMessage,
} from 'graphql-ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocket } from 'ws';
import type { Context, InitialContext } from '../context/context.js';
import { tooManySubscriptions } from '../errors/expected-errors.js';
import { constantFrame, formatError, graphqlWsPayload, type NextFrames } from './next-frames.js';

/**
 * One WebSocket speaking graphql-transport-ws, the protocol of graphql-ws, as graphql-ws's own
 * server (makeServer) speaks it: the same messages, close codes and reasons, so that its client
 * (and any other) sees no difference. What differs is how a subscription's results reach the
 * socket: see pushed subscriptions below, and docs/live-updates.md.
 *
 * Every operation goes through yoga.getEnveloped, as graphql-yoga's graphql-ws example does, so
 * that WebSocket operations get the plugins (shared execution, masked errors, limits) and the
 * context factory (Authorization from connectionParams) that HTTP requests get.
 */

/** Where a pushed stream delivers: a subscription of this socket (see ResultSink in plugins). */
export interface SubscriptionSink {
  /** A result to send; false: it takes no more until it calls resume() on its stream. */
  next(result: ExecutionResult): boolean;
  error(error: GraphQLError): void;
  complete(): void;
}

/** A subscription's stream once a sink is attached (see PushedStream in plugins). */
export interface PushedResults {
  /** The sink, which answered false, takes results again. */
  resume(): void;
  /** Ends the stream (the client completed, or left); its sink hears nothing more. */
  close(): void;
}

/** Shared execution, as seen from here: the stream a subscribe made, to push from. */
export interface PushStreams {
  pushStream(contextValue: unknown): { attach(sink: SubscriptionSink): PushedResults } | undefined;
}

export interface ConnectionOptions {
  readonly yoga: YogaServerInstance<InitialContext, Context>;
  readonly streams: PushStreams;
  readonly frames: NextFrames;
  readonly counters: FanOutCounters;
  /** How long a socket may stay open without connection_init (graphql-ws: 3 s). */
  readonly connectionInitWaitMs: number;
  /** Close reasons say "Internal server error" rather than the error's message. */
  readonly isProd: boolean;
  /** Operations one socket may run at once (MAX_SUBSCRIPTIONS_PER_CONNECTION). */
  readonly maxOperations: number;
  /**
   * The largest message of a socket whose connection_init holds a valid token (MAX_BODY_BYTES);
   * until then the server's limit holds (MAX_ANONYMOUS_BODY_BYTES).
   */
  readonly maxWriterPayloadBytes: number;
  /** Whether connectionParams hold a valid token. */
  isWriter(connectionParams: Readonly<Record<string, unknown>> | undefined): boolean;
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

/** What the sockets' subscriptions did, for stats. */
export class FanOutCounters {
  /** Open pushed subscriptions. */
  subscriptions = 0;
  /** Frames of `next` messages written to sockets. */
  written = 0;
  /** Frames written that their socket has not taken yet (a slow client's subscriptions wait). */
  unflushed = 0;
}

/** The acknowledgement every connection gets, framed once. */
const ACK_FRAME = constantFrame(stringifyMessage({ type: MessageType.ConnectionAck }));
const PONG = stringifyMessage({ type: MessageType.Pong });

/** A `next` message as graphql-ws writes it, for a result of one subscriber alone. */
function nextMessage(id: string, result: ExecutionResult): string {
  return stringifyMessage({ id, type: MessageType.Next, payload: graphqlWsPayload(result) });
}

/** An `error` message, which ends the operation. */
function errorMessage(id: string, errors: readonly GraphQLError[]): string {
  return stringifyMessage({
    id,
    type: MessageType.Error,
    payload: errors.map(formatError) as unknown as readonly GraphQLError[],
  });
}

/** graphql-ws's reason for a close: at most 123 bytes, else the fallback. */
function closeReason(reason: string, whenTooLong: string): string {
  return Buffer.byteLength(reason) <= 123 ? reason : whenTooLong;
}

interface Operation {
  /** Ends it: the client completed it, or the socket closed. */
  stop(): void;
}

export class GraphqlWsConnection {
  readonly socket: WebSocket;
  /** The socket's TCP connection: pushed frames are written to it as they are. */
  readonly #tcp: Duplex;
  readonly #options: ConnectionOptions;
  /** Operations by id; null while one starts. */
  readonly #operations = new Map<string, Operation | null>();
  #connectionParams: Readonly<Record<string, unknown>> | undefined;
  #initReceived = false;
  #acknowledged = false;
  #initWait: NodeJS.Timeout | null = null;
  #closed = false;
  /** Keep-alive: a ping went out and its pong has not come back. */
  awaitingPong = false;

  constructor(socket: WebSocket, tcp: Duplex, options: ConnectionOptions) {
    this.socket = socket;
    this.#tcp = tcp;
    this.#options = options;
    if (socket.protocol !== GRAPHQL_TRANSPORT_WS_PROTOCOL) {
      socket.close(CloseCode.SubprotocolNotAcceptable, 'Subprotocol not acceptable');
      return;
    }
    const wait = options.connectionInitWaitMs;
    if (wait > 0 && Number.isFinite(wait)) {
      this.#initWait = setTimeout(() => {
        this.#initWait = null;
        if (!this.#initReceived) {
          socket.close(
            CloseCode.ConnectionInitialisationTimeout,
            'Connection initialisation timeout',
          );
        }
      }, wait);
    }
  }

  #stopInitWait(): void {
    if (this.#initWait) clearTimeout(this.#initWait);
    this.#initWait = null;
  }

  /** A message from the client. */
  received(data: string): void {
    this.#handle(data).catch((error: unknown) => {
      this.#options.yoga.logger.error('graphql-ws: a message could not be handled', error);
      this.#internalError(error);
    });
  }

  /** The socket closed: every operation ends. */
  closed(): void {
    this.#closed = true;
    this.#stopInitWait();
    const operations = [...this.#operations.values()];
    this.#operations.clear();
    for (const operation of operations) operation?.stop();
  }

  /**
   * An error on the socket itself (a frame ws refuses, a message over the size limit: ws has
   * closed the socket with its own code then), or one while handling a message: closed with 4500
   * if it is still open, as graphql-ws does.
   */
  failed(error: unknown): void {
    this.#options.yoga.logger.warn('graphql-ws: a socket failed', error);
    this.#internalError(error);
  }

  get frames(): NextFrames {
    return this.#options.frames;
  }

  async #handle(data: string): Promise<void> {
    let message: Message;
    try {
      message = parseMessage(data);
    } catch {
      this.socket.close(CloseCode.BadRequest, 'Invalid message received');
      return;
    }
    switch (message.type) {
      case MessageType.ConnectionInit:
        if (this.#initReceived) {
          this.socket.close(
            CloseCode.TooManyInitialisationRequests,
            'Too many initialisation requests',
          );
          return;
        }
        this.#initReceived = true;
        this.#stopInitWait();
        if (message.payload !== null && typeof message.payload === 'object') {
          this.#connectionParams = message.payload;
        }
        // A socket is anonymous until its connection_init shows a valid token: only then may its
        // messages be as large as a batch.
        if (this.#options.isWriter(this.#connectionParams)) {
          allowLargeMessages(this.socket, this.#options.maxWriterPayloadBytes);
        }
        this.#acknowledged = true;
        this.writeFrame(ACK_FRAME);
        return;
      case MessageType.Ping:
        this.#send(
          message.payload
            ? stringifyMessage({ type: MessageType.Pong, payload: message.payload })
            : PONG,
        );
        return;
      case MessageType.Pong:
        return;
      case MessageType.Subscribe: {
        if (!this.#acknowledged) {
          this.socket.close(CloseCode.Unauthorized, 'Unauthorized');
          return;
        }
        const { id, payload } = message;
        if (this.#operations.has(id)) {
          this.socket.close(
            CloseCode.SubscriberAlreadyExists,
            `Subscriber for ${id} already exists`,
          );
          return;
        }
        this.#operations.set(id, null);
        try {
          await this.#start(id, payload);
        } catch (error) {
          this.#operations.delete(id);
          throw error;
        }
        return;
      }
      case MessageType.Complete: {
        const operation = this.#operations.get(message.id);
        this.#operations.delete(message.id);
        operation?.stop();
        return;
      }
      default:
        throw new Error(`Unexpected message of type ${message.type} received`);
    }
  }

  /** Runs one operation: parsed, validated and executed or subscribed through Yoga's envelop. */
  async #start(id: string, payload: SubscribePayload): Promise<void> {
    // This operation counts already; queries and mutations count while they run too. Refused on
    // this operation only, before it costs anything: the socket and its others go on.
    if (this.#operations.size > this.#options.maxOperations) {
      return this.#refuse(id, [tooManySubscriptions(this.#options.maxOperations)]);
    }
    const { schema, execute, subscribe, contextFactory, parse, validate } =
      this.#options.yoga.getEnveloped({
        connectionParams: this.#connectionParams,
        params: payload,
      } as InitialContext);
    let document: DocumentNode;
    try {
      document = parse(payload.query);
    } catch (error) {
      // A syntax error is the client's: answer it on this operation, keep the socket.
      if (error instanceof GraphQLError) return this.#refuse(id, [error]);
      throw error;
    }
    const errors = validate(schema, document);
    if (errors.length > 0) return this.#refuse(id, errors);
    const operation = getOperationAST(document, payload.operationName);
    if (!operation) return this.#refuse(id, [new GraphQLError('Unable to identify operation')]);
    const args: ExecutionArgs = {
      schema,
      document,
      operationName: payload.operationName,
      variableValues: payload.variables,
      contextValue: await contextFactory(),
    };
    const result: AsyncIterable<ExecutionResult> | ExecutionResult =
      operation.operation === 'subscription' ? await subscribe(args) : await execute(args);
    if (!(Symbol.asyncIterator in result)) {
      if (this.#operations.has(id)) {
        this.#send(nextMessage(id, result));
        this.#complete(id);
      }
      return;
    }
    const stream = result[Symbol.asyncIterator]();
    if (!this.#operations.has(id) || this.#closed) {
      // Completed by the client (or the socket closed) while it started.
      void stream.return?.();
      return;
    }
    // The shared stream is consumed as it is, not through the wrappers envelop made around it
    // (stream): those are never pulled, and they hold the subscriber's whole context (its
    // arguments, params and DataLoaders: 6 KB each, measured), which nothing needs any more.
    // Ending the stream itself ends its source; a plugin's onEnd hook for a subscription (none
    // of the app's plugins has one) would not run.
    const pushed = this.#options.streams.pushStream(args.contextValue);
    if (pushed) {
      const subscription = new PushedSubscription(this, id, this.#options.counters);
      this.#operations.set(id, subscription);
      subscription.attach(pushed);
    } else {
      await this.#pull(id, stream);
    }
  }

  /**
   * A stream that shared execution does not push (not one of its subscriptions): pulled and
   * serialised for this subscriber alone, each message after the last one was written, as
   * graphql-ws does.
   */
  async #pull(id: string, stream: AsyncIterator<ExecutionResult>): Promise<void> {
    this.#operations.set(id, { stop: () => void stream.return?.() });
    for (;;) {
      let item: IteratorResult<ExecutionResult>;
      try {
        item = await stream.next();
      } catch (error) {
        if (!this.#operations.has(id)) return;
        this.#operations.delete(id);
        const message = error instanceof Error ? error.message : String(error);
        this.#send(
          errorMessage(id, [new GraphQLError(message, { originalError: error as Error })]),
        );
        return;
      }
      if (!this.#operations.has(id)) return;
      if (item.done) {
        this.#complete(id);
        return;
      }
      await new Promise<void>((resolve) => {
        if (this.socket.readyState !== WebSocket.OPEN) resolve();
        else this.socket.send(nextMessage(id, item.value), () => resolve());
      });
    }
  }

  /** Answers an operation with an `error` message, which ends it; the socket stays open. */
  #refuse(id: string, errors: readonly GraphQLError[]): void {
    if (!this.#operations.has(id)) return;
    this.#operations.delete(id);
    this.#send(errorMessage(id, errors));
  }

  /** Ends an operation with a `complete` message (when the client did not complete it first). */
  #complete(id: string): void {
    if (!this.#operations.delete(id)) return;
    this.#send(stringifyMessage({ id, type: MessageType.Complete }));
  }

  #send(text: string): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(text);
  }

  /**
   * Writes a ready frame, false when the socket is no longer open. ws writes its own frames (acks,
   * pongs, completes, pings, close) to the same TCP socket synchronously (no compression, no
   * Blobs), so frames go out in the order they are written.
   */
  writeFrame(frame: Buffer, written?: (error?: Error | null) => void): boolean {
    if (this.socket.readyState !== WebSocket.OPEN) return false;
    this.#tcp.write(frame, written);
    return true;
  }

  /** A pushed subscription ended by its stream: with an error message, or complete. */
  ended(id: string, error: GraphQLError | null): void {
    if (error) this.#refuse(id, [error]);
    else this.#complete(id);
  }

  #internalError(error: unknown): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    const message = error instanceof Error ? error.message : String(error);
    this.socket.close(
      CloseCode.InternalServerError,
      this.#options.isProd
        ? 'Internal server error'
        : closeReason(message, 'Internal server error'),
    );
  }
}

/**
 * A subscription whose results shared execution pushes: each result's frame comes from NextFrames
 * (serialised once per result, framed once per result and id) and is written as it is. One frame
 * is in flight at a time: the subscription resumes its stream when the socket has taken the last
 * one, and meanwhile its LatestQueue keeps the newest window of each city. A client that reads
 * slowly thus gets the latest window of each city, never a backlog.
 */
class PushedSubscription implements SubscriptionSink, Operation {
  readonly #connection: GraphqlWsConnection;
  readonly #id: string;
  readonly #counters: FanOutCounters;
  #results: PushedResults | null = null;
  #open = true;

  constructor(connection: GraphqlWsConnection, id: string, counters: FanOutCounters) {
    this.#connection = connection;
    this.#id = id;
    this.#counters = counters;
    counters.subscriptions += 1;
  }

  attach(stream: { attach(sink: SubscriptionSink): PushedResults }): void {
    this.#results = stream.attach(this);
  }

  /** The write of the last frame is done (the socket took it, or failed). */
  readonly #written = (error?: Error | null) => {
    this.#counters.unflushed -= 1;
    if (!error && this.#open) this.#results?.resume();
  };

  next(result: ExecutionResult): boolean {
    if (!this.#open) return false;
    const frame = this.#connection.frames.frame(result, this.#id);
    if (!this.#connection.writeFrame(frame, this.#written)) return false;
    this.#counters.written += 1;
    this.#counters.unflushed += 1;
    return false;
  }

  error(error: GraphQLError): void {
    if (this.#close()) this.#connection.ended(this.#id, error);
  }

  complete(): void {
    if (this.#close()) this.#connection.ended(this.#id, null);
  }

  stop(): void {
    this.#close();
  }

  /** Ends the stream (a no-op when it ended on its own). */
  #close(): boolean {
    if (!this.#open) return false;
    this.#open = false;
    this.#counters.subscriptions -= 1;
    this.#results?.close();
    return true;
  }
}
