import {
  type DocumentNode,
  type ExecutionResult,
  GraphQLError,
  getOperationAST,
  type OperationTypeNode,
} from 'graphql';
import { handleStreamOrSingleExecutionResult, type Plugin, type YogaLogger } from 'graphql-yoga';
import { classifyDatabaseError, type Unavailability } from '../db/database-unavailable.js';
import type { ErrorCode } from '../errors/expected-errors.js';
import { SharedStream } from './use-shared-execution.js';

/** What names an operation: its document and, when it holds several, the operation's name. */
interface OperationArgs {
  readonly document: DocumentNode;
  readonly operationName?: string | null | undefined;
}

/** What a client is told to wait before trying again, in seconds (also the Retry-After header). */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

const CODE: ErrorCode = 'DATABASE_UNAVAILABLE';

/** The text a client sees: what happened, what became of a write, what to do. */
function messageFor(unavailability: Unavailability, operation: OperationTypeNode | undefined) {
  const what = unavailability.poolTimeout
    ? `The database cannot take this request: ${unavailability.poolTimeout.message}.`
    : `The database is unavailable (${unavailability.reason}).`;
  let outcome = '';
  if (operation === 'mutation') {
    outcome = unavailability.commitOutcomeUnknown
      ? ' The connection was lost while committing, so the write may or may not have been stored: send it again (a measurement sent twice is stored once).'
      : ' The write was not done (nothing of it was stored): send it again.';
  }
  return `${what}${outcome} Try again in ${DATABASE_RETRY_AFTER_SECONDS} seconds or so; GET /readyz says when the service is ready again.`;
}

/**
 * MariaDB unreachable, a connection lost, no pooled connection free in time: an expected error
 * coded DATABASE_UNAVAILABLE with extensions.retryable true (HTTP 503 and Retry-After where the
 * transport has a status), rather than the masked "Unexpected error." of an unknown failure, and a
 * warning in the log rather than a stack trace. Any other error is left alone, for Yoga to mask
 * and log.
 *
 * The rewrite of one operation's results: the result itself when nothing is to be rewritten.
 * useDatabaseErrors applies it to queries and mutations; shared execution applies it once to each
 * shared result of a subscription's event (see use-shared-execution.ts), instead of once per
 * subscriber.
 */
export function databaseErrorRewriter(
  logger: YogaLogger,
): (result: ExecutionResult, args: OperationArgs) => ExecutionResult {
  return (result, args) => {
    if (!result.errors?.length) return result;
    const ast = getOperationAST(args.document, args.operationName);
    const operation = ast?.operation;
    const name = ast?.name?.value ?? '(anonymous)';
    let changed = false;
    const errors = result.errors.map((error) => {
      const unavailability = classifyDatabaseError(error.originalError);
      if (!unavailability) return error;
      changed = true;
      logger.warn(
        `database unavailable in ${operation ?? 'operation'} ${name} at ${error.path?.join('.') ?? '(root)'}: ${unavailability.detail}`,
      );
      return new GraphQLError(messageFor(unavailability, operation), {
        nodes: error.nodes ?? null,
        source: error.source ?? null,
        positions: error.positions ?? null,
        path: error.path ?? null,
        extensions: {
          code: CODE,
          retryable: true,
          http: {
            status: 503,
            headers: { 'retry-after': String(DATABASE_RETRY_AFTER_SECONDS) },
          },
        },
      });
    });
    return changed ? { ...result, errors } : result;
  };
}

/**
 * The rewrite as an envelop plugin, for both executors (graphql-js for queries, graphql-jit for
 * mutations: use-compiled-mutations.ts) and for the result of starting a subscription; listed
 * before Yoga's masking, which then lets the rewritten errors through. A subscription's events are
 * rewritten by shared execution when its stream is shared (the app's always are): the plugin
 * wraps only the streams that are not, each event then rewritten for each subscriber.
 */
export function useDatabaseErrors(logger: YogaLogger): Plugin {
  const rewrite = databaseErrorRewriter(logger);
  /** A handler that rewrites every result of one operation (one, or each event of a stream). */
  const rewriting =
    (args: OperationArgs) => (payload: Parameters<typeof handleStreamOrSingleExecutionResult>[0]) =>
      handleStreamOrSingleExecutionResult(payload, ({ result, setResult }) => {
        const rewritten = rewrite(result, args);
        if (rewritten !== result) setResult(rewritten);
      });

  return {
    onExecute: ({ args }) => ({ onExecuteDone: rewriting(args) }),
    onSubscribe: ({ args }) => ({
      onSubscribeResult: (payload) =>
        payload.result instanceof SharedStream ? undefined : rewriting(args)(payload),
    }),
  };
}
