import {
  createSourceEventStream,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  execute,
  print,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { stableJson } from '../util/stable-json.js';

/**
 * Subscribers with the same operation and variables share ONE execution of the selection set per
 * event, so a push costs what the distinct subscriptions cost, not what the connections do.
 *
 * graphql-js's subscribe() maps every source event through execute() once per subscriber; with
 * thousands of subscribers that is thousands of identical executions, and nobody receives anything
 * until they are all done. Here the subscribe function creates the source event stream as usual
 * but maps each payload through an execution memoised by (payload object, operation): the first
 * subscriber to pull an event executes, the others reuse its result. It relies on the source
 * handing every subscriber the same payload object for the same event (the poller does).
 *
 * Sharing is sound because nothing a subscription can select depends on who asks: subscriptions
 * are open to all and their types hold no per-user fields. A field that did would have to put the
 * caller's identity into the key. Each shared execution runs on a context of its own
 * (executionContext), so per-request caches such as DataLoaders start fresh for every event
 * instead of serving the first event's data forever.
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

export interface SharedExecution {
  readonly plugin: Plugin;
  stats(): SharedExecutionStats;
}

/** Maps an async iterator; return() and throw() reach the source, so its cleanup runs. */
function mapAsyncIterator<T, U>(
  source: AsyncIterator<T>,
  map: (value: T) => U | Promise<U>,
): AsyncIterableIterator<U> {
  const close = async (): Promise<IteratorResult<U>> => {
    await source.return?.();
    return { value: undefined, done: true };
  };
  return {
    async next() {
      const result = await source.next();
      if (result.done) return { value: undefined, done: true };
      try {
        return { value: await map(result.value), done: false };
      } catch (error) {
        await close();
        throw error;
      }
    },
    return: close,
    async throw(error?: unknown) {
      await close();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

export function useSharedExecution<C>(options: {
  /** The context one shared execution runs on, made from its first subscriber's. */
  executionContext: (subscriberContext: C) => C;
}): SharedExecution {
  const results = new WeakMap<object, Map<string, Promise<ExecutionResult>>>();
  const printed = new WeakMap<DocumentNode, string>();
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

  function executeShared(args: ExecutionArgs, key: string, payload: unknown) {
    deliveries += 1;
    const run = () => {
      executions += 1;
      return Promise.resolve(
        execute({
          ...args,
          rootValue: payload,
          contextValue: options.executionContext(args.contextValue as C),
        }) as ExecutionResult | Promise<ExecutionResult>,
      );
    };
    if (payload === null || typeof payload !== 'object') return run();
    let byOperation = results.get(payload);
    if (!byOperation) {
      byOperation = new Map();
      results.set(payload, byOperation);
    }
    let result = byOperation.get(key);
    if (!result) {
      const shared = run();
      result = shared;
      byOperation.set(key, shared);
      // A failed execution (a database error in a nested field) is not kept for later subscribers.
      const forget = () => {
        if (byOperation.get(key) === shared) byOperation.delete(key);
      };
      void shared.then((r) => r.errors && forget(), forget);
    }
    return result;
  }

  async function subscribe(args: ExecutionArgs) {
    const source = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in source)) return source;
    const key = operationKey(args);
    return mapAsyncIterator(source[Symbol.asyncIterator](), (payload) =>
      executeShared(args, key, payload),
    );
  }

  return {
    plugin: {
      onSubscribe({ setSubscribeFn }) {
        setSubscribeFn(subscribe as Parameters<typeof setSubscribeFn>[0]);
      },
    },
    stats: () => ({ executions, deliveries }),
  };
}
