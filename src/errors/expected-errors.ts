import { type ASTNode, GraphQLError } from 'graphql';
import type { WriteAccess } from '../context/context.js';

/**
 * Expected errors: a GraphQLError with extensions.code, never masked. Anything else a resolver
 * throws is unexpected: masked to clients and logged in full (see app.ts).
 */
export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'RATE_LIMITED'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'REFRESH_BUSY'
  | 'DATABASE_UNAVAILABLE'
  | 'QUERY_TOO_COMPLEX'
  | 'PAYLOAD_TOO_LARGE'
  | 'TOO_MANY_SUBSCRIPTIONS';

/** Codes that mean "not now": the same request may succeed later (extensions.retryable). */
const RETRYABLE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['REFRESH_BUSY']);

export function expectedError(
  code: ErrorCode,
  message: string,
  http?: { status: number; headers?: Record<string, string> },
): GraphQLError {
  const retryable = RETRYABLE_CODES.has(code) ? { retryable: true } : {};
  return new GraphQLError(message, {
    extensions: { code, ...retryable, ...(http ? { http } : {}) },
  });
}

export const badUserInput = (message: string) => expectedError('BAD_USER_INPUT', message);

/** A write over its token's rate: HTTP 429 with Retry-After, and the delay in the extensions. */
export function rateLimited(message: string, retryAfterSeconds: number): GraphQLError {
  return new GraphQLError(message, {
    extensions: {
      code: 'RATE_LIMITED' satisfies ErrorCode,
      retryable: true,
      retryAfterSeconds,
      http: { status: 429, headers: { 'Retry-After': String(retryAfterSeconds) } },
    },
  });
}

const challenge = { 'WWW-Authenticate': 'Bearer realm="belair"' };

/**
 * Why a write was refused, for each way of not having write access; `at`, the field refused
 * before execution (src/plugins/use-write-access.ts), for the error's path and location.
 */
export function writeRefused(
  access: WriteAccess,
  at?: { readonly node: ASTNode; readonly path: readonly string[] },
): GraphQLError {
  const refusal = writeRefusal(access);
  if (!at) return refusal;
  return new GraphQLError(refusal.message, {
    nodes: at.node,
    path: at.path,
    extensions: refusal.extensions,
  });
}

function writeRefusal(access: WriteAccess): GraphQLError {
  switch (access) {
    case 'disabled':
      return expectedError(
        'FORBIDDEN',
        'Writes are disabled on this server: it was started without API_TOKENS.',
        { status: 403 },
      );
    case 'missing':
      return expectedError(
        'UNAUTHENTICATED',
        "This operation writes data: send the header Authorization: Bearer <token> with a token from the server's API_TOKENS.",
        { status: 401, headers: challenge },
      );
    default:
      return expectedError(
        'UNAUTHENTICATED',
        'The Authorization header does not hold a token this server accepts: send Authorization: Bearer <token> with a token from API_TOKENS.',
        { status: 401, headers: challenge },
      );
  }
}

/**
 * A request without a valid token whose body is larger than MAX_ANONYMOUS_BODY_BYTES, refused
 * before the rest is read: as the write it most likely is would be refused, with the limit said.
 */
export function anonymousBodyRefused(access: WriteAccess, limit: number): GraphQLError {
  const within = `a request body may be at most ${limit} bytes (MAX_ANONYMOUS_BODY_BYTES)`;
  switch (access) {
    case 'disabled':
      return expectedError(
        'FORBIDDEN',
        `Writes are disabled on this server: it was started without API_TOKENS, and ${within}.`,
        { status: 403 },
      );
    case 'missing':
      return expectedError(
        'UNAUTHENTICATED',
        `Without a token ${within}, room for any query but not for a batch: writes need the header Authorization: Bearer <token> with a token from the server's API_TOKENS.`,
        { status: 401, headers: challenge },
      );
    default:
      return expectedError(
        'UNAUTHENTICATED',
        `The Authorization header does not hold a token this server accepts, and without one ${within}: send Authorization: Bearer <token> with a token from API_TOKENS.`,
        { status: 401, headers: challenge },
      );
  }
}

/** A body over MAX_BODY_BYTES, whoever sends it. */
export function payloadTooLarge(limit: number): GraphQLError {
  return expectedError(
    'PAYLOAD_TOO_LARGE',
    `The request body is larger than the limit of ${limit} bytes (MAX_BODY_BYTES): send smaller batches.`,
    { status: 413 },
  );
}

/** A subscribe past MAX_SUBSCRIPTIONS_PER_CONNECTION on one graphql-ws connection. */
export function tooManySubscriptions(max: number): GraphQLError {
  return expectedError(
    'TOO_MANY_SUBSCRIPTIONS',
    `This connection already runs ${max} operations, the most one connection may (MAX_SUBSCRIPTIONS_PER_CONNECTION): complete one of them, or open another connection.`,
  );
}
