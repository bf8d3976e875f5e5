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
 * It rewrites execution results, so it covers both executors (graphql-js for queries, graphql-jit
 * for mutations: use-compiled-mutations.ts) and every event of a subscription; listed before
 * Yoga's masking, which then lets the rewritten errors through.
 */
export function useDatabaseErrors(logger: YogaLogger): Plugin {
  const rewrite = (
    result: ExecutionResult,
    operation: OperationTypeNode | undefined,
    name: string,
  ): ExecutionResult | null => {
    if (!result.errors?.length) return null;
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
    return changed ? { ...result, errors } : null;
  };

  /** A handler that rewrites every result of one operation (one, or each event of a stream). */
  const rewriting = (args: { document: DocumentNode; operationName?: string | null }) => {
    const ast = getOperationAST(args.document, args.operationName);
    const operation = ast?.operation;
    const name = ast?.name?.value ?? '(anonymous)';
    return (payload: Parameters<typeof handleStreamOrSingleExecutionResult>[0]) =>
      handleStreamOrSingleExecutionResult(payload, ({ result, setResult }) => {
        const rewritten = rewrite(result, operation, name);
        if (rewritten) setResult(rewritten);
      });
  };

  return {
    onExecute: ({ args }) => ({ onExecuteDone: rewriting(args) }),
    onSubscribe: ({ args }) => ({ onSubscribeResult: rewriting(args) }),
  };
}
