import type { RowDataPacket } from 'mysql2/promise';
import { classifyDatabaseError, describeError } from './database-unavailable.js';
import type { Queryable } from './queryable.js';
import { CURRENT_RUN_ID } from './runs.js';

export interface ReadinessFacts {
  /** @@GLOBAL.event_scheduler: ON, OFF or DISABLED. */
  readonly eventScheduler: string;
  /** The refresh_air_quality event's status (ENABLED, DISABLED, SLAVESIDE_DISABLED), null if missing. */
  readonly refreshEvent: string | null;
  readonly currentRun: { readonly id: number; readonly evaluatedAt: Date } | null;
  /** The database's clock (UTC). */
  readonly now: Date;
}

/**
 * What readiness depends on, in one query. The EVENT's status comes through a definer's function
 * (sql/110-event-status.sql): an API user without the EVENT privilege sees no EVENT itself.
 */
export async function readReadinessFacts(db: Queryable): Promise<ReadinessFacts> {
  const [[row]] = await db.query<RowDataPacket[]>(
    `/* readReadinessFacts */
     SELECT @@GLOBAL.event_scheduler AS eventScheduler,
            refresh_event_status() AS refreshEvent,
            r.id AS runId, r.evaluated_at AS evaluatedAt, UTC_TIMESTAMP(3) AS now
     FROM (SELECT 1) one
     LEFT JOIN air_quality_run r ON r.id = ${CURRENT_RUN_ID}`,
  );
  if (!row) throw new Error('readReadinessFacts: no row');
  return {
    eventScheduler: String(row.eventScheduler).toUpperCase(),
    refreshEvent: row.refreshEvent ?? null,
    currentRun: row.runId === null ? null : { id: row.runId, evaluatedAt: row.evaluatedAt },
    now: row.now,
  };
}

/** What the readiness query's failure means, for people who run the service. */
export interface ReadinessFailure {
  /**
   * What is wrong and what to check, in the project's own words: never the driver's message, a
   * host, a port, a user or a database name, since /readyz answers anybody.
   */
  readonly reason: string;
  /** The error itself, with its code: for the log and for operators who send a valid token. */
  readonly detail: string;
}

const DETAILS = "the API's log has the details";

/** Server errors (errno) of a misconfigured connection, and what to do about each. */
const MISCONFIGURED: Readonly<Record<number, string>> = {
  1044: "MariaDB does not let the API's user use its database: grant it the privileges on it",
  1045: "MariaDB refused the API's login: check DB_USERNAME and DB_PASSWORD (or DATABASE_URL)",
  1698: "MariaDB refused the API's login: check DB_USERNAME and DB_PASSWORD (or DATABASE_URL)",
  1049: 'The database the API is configured for does not exist: check DB_DATABASE (or DATABASE_URL), or run npm run db:migrate',
  1142: "The API's MariaDB user lacks a privilege the readiness check needs (SELECT on belair's tables and information_schema)",
  1146: "belair's tables are missing from the database: run npm run db:migrate",
};

/** Connection-level reasons that call for other advice than "is it running, is it there?". */
const UNAVAILABLE_ADVICE: Readonly<Record<string, string>> = {
  'too many connections':
    'MariaDB accepts no more connections (too many connections): raise its max_connections, or lower DB_POOL_SIZE over the API processes',
  'too many connections for this user':
    "MariaDB accepts no more connections for the API's user: raise its MAX_USER_CONNECTIONS, or lower DB_POOL_SIZE over the API processes",
  'server shutting down': 'MariaDB is shutting down: start it again, or wait for the restart',
};

/** The words of readiness for an error of the readiness query (see ReadinessFailure). */
export function describeReadinessFailure(error: unknown): ReadinessFailure {
  const detail = describeError(error);
  const unavailability = classifyDatabaseError(error);
  if (unavailability?.poolTimeout) {
    // The pool's own sentence names its settings and no more.
    return { reason: `No database connection is free: ${unavailability.detail}.`, detail };
  }
  if (unavailability) {
    const advice =
      UNAVAILABLE_ADVICE[unavailability.reason] ??
      `MariaDB is unreachable (${unavailability.reason}): check that it runs and that DB_HOSTNAME and DB_PORT (or DATABASE_URL) point at it`;
    return { reason: `${advice}; ${DETAILS}.`, detail };
  }
  const { errno, code } = (error ?? {}) as { errno?: unknown; code?: unknown };
  const known = typeof errno === 'number' ? MISCONFIGURED[errno] : undefined;
  if (known) return { reason: `${known}; ${DETAILS}.`, detail };
  const which = typeof code === 'string' && /^[A-Z0-9_]+$/.test(code) ? ` (${code})` : '';
  return { reason: `MariaDB did not answer the readiness query${which}; ${DETAILS}.`, detail };
}
