/**
 * Telling "MariaDB cannot serve us right now" apart from every other database error. The first
 * kind is the connection's fault, not the statement's: the same statement may succeed in a few
 * seconds, and the transaction it belonged to was rolled back by the server (a lost connection
 * ends its transaction). Everything else (a constraint, a syntax error, a bug) is unexpected.
 */

/** No pooled connection became free, or none could be opened, within the acquire timeout. */
export class PoolTimeoutError extends Error {
  constructor(
    readonly timeoutMs: number,
    readonly connectionLimit: number,
    /** Every connection of the pool was in use: the pool is exhausted, MariaDB may be fine. */
    readonly exhausted: boolean,
  ) {
    super(
      exhausted
        ? `the pool is exhausted: all ${connectionLimit} database connections stayed busy for ${timeoutMs} ms (DB_POOL_SIZE, DB_ACQUIRE_TIMEOUT_MS)`
        : `MariaDB did not accept a new connection within ${timeoutMs} ms (DB_ACQUIRE_TIMEOUT_MS)`,
    );
    this.name = 'PoolTimeoutError';
  }
}

/**
 * The connection died while COMMIT was on its way: the server may have committed or not, and
 * nobody can tell from here. Writes that are idempotent (ingestion) may simply be sent again.
 */
export class CommitOutcomeUnknownError extends Error {
  constructor(cause: unknown) {
    super(`the connection was lost during COMMIT: ${describeError(cause)}`, { cause });
    this.name = 'CommitOutcomeUnknownError';
  }
}

/** Socket and protocol codes of Node and mysql2 that mean the connection is gone or never came. */
const CONNECTION_CODES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection broken',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EAI_AGAIN: 'host name lookup failed',
  PROTOCOL_CONNECTION_LOST: 'connection lost',
  PROTOCOL_SEQUENCE_TIMEOUT: 'connection timed out',
  PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR: 'connection lost',
  PROTOCOL_ENQUEUE_AFTER_QUIT: 'connection closed',
};

/**
 * Server errors (errno) that mean "not now": about the connection rather than the statement, or
 * (1205, 1213) locks another writer kept through every attempt of a transaction.
 */
const UNAVAILABLE_ERRNOS: Readonly<Record<number, string>> = {
  1040: 'too many connections', // ER_CON_COUNT_ERROR: max_connections reached
  1053: 'server shutting down', // ER_SERVER_SHUTDOWN
  1203: 'too many connections for this user', // ER_TOO_MANY_USER_CONNECTIONS
  1927: 'connection killed', // ER_CONNECTION_KILLED (MariaDB): KILL, or the server stopping
  2006: 'server has gone away', // CR_SERVER_GONE_ERROR
  2013: 'connection lost', // CR_SERVER_LOST
  // Not the connection's fault, but "not now" all the same: rows this transaction needs stayed
  // locked by another writer (Adminer, a script, the purge) through every attempt of
  // withTransaction, which rolled the whole transaction back each time.
  1205: 'rows locked by another writer too long', // ER_LOCK_WAIT_TIMEOUT
  1213: 'deadlocked with another writer', // ER_LOCK_DEADLOCK
};

/** mysql2's own messages for a pool or connection that cannot take statements any more. */
const CONNECTION_MESSAGES: readonly [RegExp, string][] = [
  [/^Pool is closed\.?$/, 'pool closed'],
  [/^Queue limit reached\.?$/, 'pool queue full'],
  [/^No connections available\.?$/, 'pool exhausted'],
  [/^Can't add new command when connection is in closed state$/, 'connection closed'],
  [/^Connection lost: The server closed the connection\.?$/, 'connection lost'],
];

interface ErrorFields {
  readonly code?: unknown;
  readonly errno?: unknown;
  readonly message?: unknown;
  readonly cause?: unknown;
}

/** What makes error a connection-level failure, or null when it is not one. */
function reasonOf(error: unknown): string | null {
  if (error instanceof PoolTimeoutError)
    return error.exhausted ? 'pool exhausted' : 'no connection';
  if (error instanceof CommitOutcomeUnknownError) return 'connection lost during COMMIT';
  const fields = error as ErrorFields | null;
  if (typeof fields !== 'object' || fields === null) return null;
  if (typeof fields.code === 'string' && fields.code in CONNECTION_CODES) {
    return CONNECTION_CODES[fields.code] ?? null;
  }
  if (typeof fields.errno === 'number' && fields.errno in UNAVAILABLE_ERRNOS) {
    return UNAVAILABLE_ERRNOS[fields.errno] ?? null;
  }
  if (typeof fields.message === 'string') {
    for (const [pattern, reason] of CONNECTION_MESSAGES) {
      if (pattern.test(fields.message)) return reason;
    }
  }
  // Node reports a failed connect to a name with several addresses as an AggregateError.
  if (error instanceof AggregateError) {
    for (const inner of error.errors) {
      const reason = reasonOf(inner);
      if (reason) return reason;
    }
  }
  return null;
}

export interface Unavailability {
  /** Short, for people: "connection refused", "pool exhausted". */
  readonly reason: string;
  /** The error's own text, with its code: for logs and /readyz. */
  readonly detail: string;
  /** The failure came at COMMIT: the write may have been stored. */
  readonly commitOutcomeUnknown: boolean;
  readonly poolTimeout: PoolTimeoutError | null;
}

/**
 * Whether error (or one of its causes) says that MariaDB cannot serve us right now, and why;
 * null for any other error.
 */
export function classifyDatabaseError(error: unknown): Unavailability | null {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth += 1) {
    const reason = reasonOf(current);
    if (reason) {
      return {
        reason,
        detail: describeError(current),
        commitOutcomeUnknown: current instanceof CommitOutcomeUnknownError,
        poolTimeout: current instanceof PoolTimeoutError ? current : null,
      };
    }
    current = (current as ErrorFields).cause;
  }
  return null;
}

export function isDatabaseUnavailable(error: unknown): boolean {
  return classifyDatabaseError(error) !== null;
}

/** An error's message with its code, e.g. "connect ECONNREFUSED 127.0.0.1:3306 (ECONNREFUSED)". */
export function describeError(error: unknown): string {
  const fields = (error ?? {}) as ErrorFields;
  const message =
    typeof fields.message === 'string' && fields.message !== '' ? fields.message : String(error);
  const code = typeof fields.code === 'string' ? fields.code : undefined;
  return code && !message.includes(code) ? `${message} (${code})` : message;
}
