import { GraphQLError } from 'graphql';
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
  | 'QUERY_TOO_COMPLEX';

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

/** Why a write was refused, for each way of not having write access. */
export function writeRefused(access: WriteAccess): GraphQLError {
  const challenge = { 'WWW-Authenticate': 'Bearer realm="belair"' };
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
