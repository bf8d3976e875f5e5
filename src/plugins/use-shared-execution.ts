import {
  createSourceEventStream,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  execute,
  type GraphQLError,
  print,
} from 'graphql';
import { maskError, type Plugin, type YogaLogger } from 'graphql-yoga';
import { LatestQueue, type QueueConsumer } from '../poller/latest-queue.js';
import { stableJson } from '../util/stable-json.js';

/**
 * Subscribers with the same operation and variables share ONE execution of the selection set per
 * event, so a push costs what the distinct subscriptions cost, not what the connections do.
 *
 * graphql-js's subscribe() maps every source event through execute() once per subscriber; with
 * thousands of subscribers that is thousands of identical executions, and nobody receives anything
 * until they are all done. Here the subscribe function creates the source event stream as usual
 * but maps each payload through an execution memoised by (payload object, operation): the first
 * subscriber to take an event executes, the others reuse its result. It relies on the source
 * handing every subscriber the same payload object for the same event (the poller does).
 *
 * A shared result is final: what would otherwise be done to it per subscriber is done once, here
 * (options.finalize: database errors rewritten; then unexpected errors masked and logged as Yoga
 * masks them), so the very same object reaches every subscriber and a transport may serialise it
 * once. A stream can be read in two ways:
 * - pulled, as the AsyncIterator it is (SSE, through Yoga and envelop);
 * - pushed (pushStream(context).attach(sink)), by a transport that fans out (graphql-ws,
 *   src/live/): the source's items are taken as the poller pushes them, without a promise per
 *   subscriber, and when an execution settles ONE loop hands its result to every subscriber that
 *   waits for it. A subscriber takes one item at a time: its later items wait in its LatestQueue,
 *   where a newer window of a city replaces an older one, until its sink resumes it.
 *
 * Sharing is sound because nothing a subscription can select depends on who asks: subscriptions
 * are open to all and their types hold no per-user fields. A field that did would have to put the
 * caller's identity into the key. Each shared execution runs on a context of its own
 * (executionContext, from the first subscriber's), so per-request caches such as DataLoaders start
 * fresh for every event instead of serving the first event's data forever.
 *
 * As an envelop plugin it serves every transport that goes through Yoga's envelop: SSE, and
 * graphql-ws routed through yoga.getEnveloped.
 */
export interface SharedExecutionStats {
  /** Executions of a selection set for a subscription event. */
  readonly executions: number;
  /** Results handed to subscribers (executed, or shared). */
  readonly deliveries: number;
}

/** Where a pushed stream delivers (a transport's subscription). */
export interface ResultSink {
  /** A result to send; false: the sink takes no more until it calls resume() on the stream. */
  next(result: ExecutionResult): boolean;
  /** The stream failed (the error is masked); nothing follows. */
  error(error: GraphQLError): void;
  /** The stream ended on its own; nothing follows. */
  complete(): void;
}

/** A subscription's stream in push mode. */
export interface PushedStream {
  /** The sink, which answered false to next(), takes results again. */
  resume(): void;
  /** Ends the stream and its source; the sink hears nothing more. */
  close(): void;
}

export interface SharedExecution {
  readonly plugin: Plugin;
  /**
   * The shared stream that subscribe made on this context, for a transport to push from; undefined
   * when there is none (the operation's result was not a stream of its own).
   */
  pushStream(contextValue: unknown): { attach(sink: ResultSink): PushedStream } | undefined;
  stats(): SharedExecutionStats;
}

/** Masks an unexpected error as Yoga does, logging what it masks. */
type MaskError = (error: GraphQLError) => GraphQLError;

const DONE: IteratorResult<never> = { value: undefined, done: true };

/** One execution of an operation for one event, and the streams that wait for its result. */
class Execution {
  result: ExecutionResult | undefined;
  /** Why it failed (thrown, not a result with errors), masked; set with result undefined. */
  error: GraphQLError | undefined;
  /** The original of error, for a stream that is pulled (envelop masks it there). */
  thrown: unknown;
  /** Streams that wait for the result; null once settled. */
  waiters: SharedStream[] | null = [];
  settled: Promise<void> = Promise.resolve();
}

/** The subscribers of one operation (document, name, variables): what they share. */
interface SharedOperation {
  readonly key: string;
  /** The arguments of the operation's first subscriber: each event executes on a copy. */
  readonly args: ExecutionArgs;
  /** Executions by event payload object. */
  readonly executions: WeakMap<object, Execution>;
  streams: number;
}

interface Sharing {
  executionFor(operation: SharedOperation, payload: unknown): Execution;
  delivered(): void;
  mask: MaskError;
  released(operation: SharedOperation): void;
}

/**
 * One subscriber's stream: its source (a LatestQueue of the poller, or any async iterator) mapped
 * through the shared executions of its operation.
 */
export class SharedStream
  implements AsyncIterableIterator<ExecutionResult>, QueueConsumer<unknown>, PushedStream
{
  readonly #source: AsyncIterator<unknown>;
  readonly #operation: SharedOperation;
  readonly #sharing: Sharing;
  #sink: ResultSink | null = null;
  /** Push mode: the execution whose result this stream waits for. */
  #awaiting: Execution | null = null;
  /** Push mode, source not a LatestQueue: whether the sink takes results, and a pull runs. */
  #ready = false;
  #pulling = false;
  #sourceEnded = false;
  #closed = false;

  constructor(source: AsyncIterator<unknown>, operation: SharedOperation, sharing: Sharing) {
    this.#source = source;
    this.#operation = operation;
    this.#sharing = sharing;
  }

  // Pulled.

  async next(): Promise<IteratorResult<ExecutionResult>> {
    if (this.#closed) return DONE;
    const item = await this.#source.next();
    if (item.done) {
      this.#release();
      return DONE;
    }
    const execution = this.#sharing.executionFor(this.#operation, item.value);
    await execution.settled;
    if (execution.result === undefined) {
      await this.return();
      throw execution.thrown;
    }
    this.#sharing.delivered();
    return { value: execution.result, done: false };
  }

  return(): Promise<IteratorResult<ExecutionResult>> {
    if (!this.#closed) {
      this.#release();
      this.#sink = null;
      void this.#source.return?.();
    }
    return Promise.resolve(DONE);
  }

  async throw(error?: unknown): Promise<IteratorResult<ExecutionResult>> {
    await this.return();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  // Pushed.

  /** Delivers to sink from now on; the stream is not to be pulled any more. */
  attach(sink: ResultSink): PushedStream {
    if (this.#sink) throw new Error('the stream is pushed already');
    this.#sink = sink;
    if (this.#source instanceof LatestQueue) this.#source.consume(this);
    else this.resume();
    return this;
  }

  close(): void {
    void this.return();
  }

  resume(): void {
    if (this.#closed || this.#awaiting) return;
    if (this.#source instanceof LatestQueue) {
      this.#source.resume();
      return;
    }
    this.#ready = true;
    if (!this.#pulling) void this.#pull();
  }

  /** From the LatestQueue: an item, as it is pushed. */
  take(item: unknown): boolean {
    if (this.#closed) return false;
    const execution = this.#sharing.executionFor(this.#operation, item);
    if (execution.waiters === null) return this.#hand(execution);
    this.#awaiting = execution;
    execution.waiters.push(this);
    return false;
  }

  /** From the LatestQueue: it ended (the poller stopped). */
  ended(): void {
    this.#sourceEnded = true;
    if (this.#awaiting === null) this.#complete();
  }

  /** From the execution this stream waited for, in the one loop over its waiters. */
  settled(execution: Execution): void {
    this.#awaiting = null;
    if (this.#closed) return;
    if (this.#hand(execution)) this.resume();
    if (this.#sourceEnded && this.#awaiting === null) this.#complete();
  }

  #hand(execution: Execution): boolean {
    const sink = this.#sink as ResultSink;
    if (execution.result === undefined) {
      const error = execution.error as GraphQLError;
      void this.return();
      sink.error(error);
      return false;
    }
    this.#sharing.delivered();
    return sink.next(execution.result);
  }

  #complete(): void {
    if (this.#closed) return;
    const sink = this.#sink as ResultSink;
    this.#release();
    sink.complete();
  }

  /** Push mode for a source that is not a LatestQueue: pulls while the sink takes results. */
  async #pull(): Promise<void> {
    this.#pulling = true;
    try {
      while (this.#ready && !this.#closed && this.#awaiting === null) {
        const item = await this.#source.next();
        if (this.#closed) return;
        if (item.done) {
          this.ended();
          return;
        }
        this.#ready = this.take(item.value);
      }
    } catch (error) {
      if (this.#closed) return;
      const sink = this.#sink as ResultSink;
      void this.return();
      sink.error(this.#sharing.mask(error as GraphQLError));
    } finally {
      this.#pulling = false;
    }
  }

  #release(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sharing.released(this.#operation);
  }
}

export function useSharedExecution<C>(options: {
  /** The context one shared execution runs on, made from its first subscriber's. */
  executionContext: (subscriberContext: C) => C;
  /**
   * What is to be done to every event's result before subscribers get it (database errors
   * rewritten), once per shared result; Yoga's masking follows. Default: nothing.
   */
  finalize?: (result: ExecutionResult, args: ExecutionArgs) => ExecutionResult;
}): SharedExecution {
  const operations = new Map<string, SharedOperation>();
  const printed = new WeakMap<DocumentNode, string>();
  const pushable = new WeakMap<object, SharedStream>();
  const finalize = options.finalize ?? ((result) => result);
  let mask: MaskError = (error) => error;
  let logger: Pick<YogaLogger, 'error'> = console;
  let executions = 0;
  let deliveries = 0;

  function operationKey(args: ExecutionArgs): string {
    let text = printed.get(args.document);
    if (text === undefined) {
      text = print(args.document);
      printed.set(args.document, text);
    }
    return `${args.operationName ?? ''}\n${stableJson(args.variableValues ?? {})}\n${text}`;
  }

  function settle(execution: Execution, operation: SharedOperation, payload: unknown) {
    const forget = () => {
      if (payload !== null && typeof payload === 'object') {
        if (operation.executions.get(payload) === execution) operation.executions.delete(payload);
      }
    };
    return {
      resolved(result: ExecutionResult) {
        const final = finalize(result, operation.args);
        execution.result = final.errors?.length
          ? { ...final, errors: final.errors.map((error) => mask(error)) }
          : final;
        // A failed execution (a database error in a nested field) is not kept for later
        // subscribers: they execute again.
        if (final.errors?.length) forget();
        release(execution);
      },
      rejected(error: unknown) {
        execution.thrown = error;
        execution.error = mask(error as GraphQLError);
        forget();
        release(execution);
      },
    };
  }

  /** The one loop: the result to every stream that waits for it. */
  function release(execution: Execution) {
    const waiters = execution.waiters ?? [];
    execution.waiters = null;
    for (const stream of waiters) {
      // One subscriber that fails to take its result must not keep it from the others.
      try {
        stream.settled(execution);
      } catch (error) {
        void stream.return();
        logger.error('a subscriber could not take a shared result; its stream is ended', error);
      }
    }
  }

  const sharing: Sharing = {
    executionFor(operation, payload) {
      const shareable = payload !== null && typeof payload === 'object';
      const found = shareable ? operation.executions.get(payload) : undefined;
      if (found) return found;
      const execution = new Execution();
      if (shareable) operation.executions.set(payload, execution);
      executions += 1;
      const { resolved, rejected } = settle(execution, operation, payload);
      try {
        const result = execute({
          ...operation.args,
          rootValue: payload,
          contextValue: options.executionContext(operation.args.contextValue as C),
        });
        if (result instanceof Promise) execution.settled = result.then(resolved, rejected);
        else resolved(result);
      } catch (error) {
        rejected(error);
      }
      return execution;
    },
    delivered() {
      deliveries += 1;
    },
    mask: (error) => mask(error),
    released(operation) {
      operation.streams -= 1;
      if (operation.streams === 0 && operations.get(operation.key) === operation) {
        operations.delete(operation.key);
      }
    },
  };

  async function subscribe(args: ExecutionArgs) {
    const source = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in source)) return source;
    const key = operationKey(args);
    let operation = operations.get(key);
    if (!operation) {
      operation = { key, args, executions: new WeakMap(), streams: 0 };
      operations.set(key, operation);
    }
    operation.streams += 1;
    const stream = new SharedStream(source[Symbol.asyncIterator](), operation, sharing);
    if (args.contextValue !== null && typeof args.contextValue === 'object') {
      pushable.set(args.contextValue, stream);
    }
    return stream;
  }

  return {
    plugin: {
      // Masked as Yoga's `maskedErrors: true` masks (its maskError, and what it masks logged in
      // full with its logger), once per shared result; Yoga's own masking of each subscriber's
      // stream then lets these errors through unchanged.
      onYogaInit({ yoga }) {
        logger = yoga.logger;
        mask = (error) => {
          const masked = maskError(error, 'Unexpected error.') as GraphQLError;
          if (masked !== error) yoga.logger.error(error);
          return masked;
        };
      },
      onSubscribe({ setSubscribeFn }) {
        setSubscribeFn(subscribe as Parameters<typeof setSubscribeFn>[0]);
      },
    },
    pushStream(contextValue) {
      if (contextValue === null || typeof contextValue !== 'object') return undefined;
      const stream = pushable.get(contextValue);
      pushable.delete(contextValue);
      return stream;
    },
    stats: () => ({ executions, deliveries }),
  };
}
