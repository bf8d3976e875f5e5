import { GraphQLError } from 'graphql';
import type { WriteAccess } from '../context.js';

/**
 * Expected errors: a GraphQLError with extensions.code, never masked. Anything else a resolver
 * throws is unexpected: masked to clients and logged in full (see app.ts).
 */
export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'REFRESH_BUSY'
  | 'DATABASE_UNAVAILABLE'
  | 'QUERY_TOO_COMPLEX';

export function expectedError(
  code: ErrorCode,
  message: string,
  http?: { status: number; headers?: Record<string, string> },
): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...(http ? { http } : {}) } });
}

export const badUserInput = (message: string) => expectedError('BAD_USER_INPUT', message);

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
