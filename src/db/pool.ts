import mysql, { format, type Pool, type PoolConnection, type PoolOptions } from 'mysql2/promise';
import type { Config, DatabaseConfig } from '../config/config.js';
import { PoolTimeoutError } from './database-unavailable.js';

/**
 * Connection options shared by every belair connection:
 * - timezone 'Z': DATETIME columns hold UTC, and JavaScript Dates map to them without shifting;
 * - flags -FOUND_ROWS: an upsert that changes nothing reports 0 affected rows, which is how
 *   ingestion tells "unchanged" from "updated";
 * - flags -IGNORE_SPACE: mysql2 asks for it by default, which adds IGNORE_SPACE to the session's
 *   sql_mode; the server's own sql_mode is what the `mariadb` client gets, and the routines and
 *   EVENTs the migrator creates keep the sql_mode they were created with;
 * - supportBigNumbers/bigNumberStrings off: ids and counts fit in a double;
 * - queryFormat: mysql2's own format, except that a statement without values is sent as it is.
 *   mysql2 formats every statement, scanning its whole text for placeholders even when there are
 *   no values to put in; ingestion writes its 1,000-row statements as finished text (tens of kB),
 *   whose scan showed in its CPU profile. With no values the format changes nothing anyway.
 */
export function connectionOptions(db: DatabaseConfig, withDatabase = true): PoolOptions {
  return {
    host: db.host,
    port: db.port,
    user: db.user,
    password: db.password,
    ...(withDatabase ? { database: db.database } : {}),
    timezone: 'Z',
    charset: 'utf8mb4_bin',
    flags: ['-FOUND_ROWS', '-IGNORE_SPACE'],
    dateStrings: false,
    decimalNumbers: true,
    queryFormat: (sql: string, values: unknown) =>
      values === undefined || (Array.isArray(values) && values.length === 0)
        ? sql
        : format(sql, values as never, false, 'Z'),
  };
}

/** How long a statement waits for a pooled connection by default (DB_ACQUIRE_TIMEOUT_MS). */
export const DEFAULT_ACQUIRE_TIMEOUT_MS = 5000;

export interface PoolBounds {
  /** How long getConnection() and query() wait for a connection before PoolTimeoutError. */
  readonly acquireTimeoutMs?: number;
  /** innodb_lock_wait_timeout of every connection, in seconds; the server's own when absent. */
  readonly lockWaitTimeoutSeconds?: number;
}

/**
 * A mysql2 pool whose every way of taking a connection (getConnection, query, execute) gives up
 * after acquireTimeoutMs with a PoolTimeoutError. mysql2 itself queues a request for a connection
 * forever (waitForConnections, queueLimit 0): with every connection held, requests would hang
 * until their clients gave up, and with MariaDB silently unreachable, until connectTimeout.
 */
export function createPool(
  db: DatabaseConfig,
  connectionLimit = 10,
  bounds: PoolBounds = {},
): Pool {
  const pool = mysql.createPool({
    ...connectionOptions(db),
    connectionLimit,
    waitForConnections: true,
    enableKeepAlive: true,
  });
  const lockWait = bounds.lockWaitTimeoutSeconds;
  if (lockWait !== undefined) {
    // Sent as each connection opens, so it comes before anything the pool hands the connection
    // to (a connection runs its commands in order). A failure shows in that first statement.
    // mysql2's own pool (callback API): the promise pool passes its connections on unwrapped.
    pool.pool.on('connection', (connection) => {
      connection.query(`SET SESSION innodb_lock_wait_timeout = ${Math.trunc(lockWait)}`, () => {});
    });
  }
  return boundAcquire(pool, connectionLimit, bounds.acquireTimeoutMs ?? DEFAULT_ACQUIRE_TIMEOUT_MS);
}

/** The API's pool, bounded as the configuration says (npm start, the demo, the benchmarks). */
export function createApiPool(config: Config): Pool {
  return createPool(config.db, config.dbPoolSize, {
    acquireTimeoutMs: config.dbAcquireTimeoutMs,
    lockWaitTimeoutSeconds: config.dbLockWaitTimeoutSeconds,
  });
}

/** Errors after which mysql2's own pool.query drops the connection: the server turned read-only. */
const READ_ONLY_ERRNOS = new Set([1290, 1792, 1836]);

function boundAcquire(pool: Pool, connectionLimit: number, timeoutMs: number): Pool {
  /** Connections handed out and not yet released: the pool is exhausted when they are all. */
  let held = 0;

  const getConnection = () =>
    new Promise<PoolConnection>((resolve, reject) => {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        reject(new PoolTimeoutError(timeoutMs, connectionLimit, held >= connectionLimit));
      }, timeoutMs);
      pool.getConnection().then(
        (connection) => {
          if (timedOut) {
            // mysql2 cannot take a request back out of its queue: the connection comes anyway.
            // It goes straight back, unused, so that a statement reported as failed never runs.
            connection.release();
            return;
          }
          clearTimeout(timer);
          held += 1;
          let counted = true;
          const uncount = () => {
            if (counted) held -= 1;
            counted = false;
          };
          const release = connection.release.bind(connection);
          const destroy = connection.destroy.bind(connection);
          connection.release = () => {
            uncount();
            release();
          };
          connection.destroy = () => {
            uncount();
            destroy();
          };
          resolve(connection);
        },
        (error: unknown) => {
          if (timedOut) return;
          clearTimeout(timer);
          reject(error);
        },
      );
    });

  /** pool.query and pool.execute, on a connection taken with the bound above. */
  const onConnection =
    (method: 'query' | 'execute') =>
    async (...args: unknown[]) => {
      const connection = await getConnection();
      try {
        // biome-ignore lint/suspicious/noExplicitAny: the arguments are mysql2's own, passed on
        return await (connection[method] as (...a: any[]) => Promise<unknown>)(...args);
      } catch (error) {
        if (READ_ONLY_ERRNOS.has((error as { errno?: number }).errno ?? 0)) {
          connection.destroy();
        }
        throw error;
      } finally {
        connection.release();
      }
    };
  const query = onConnection('query');
  const execute = onConnection('execute');

  return new Proxy(pool, {
    get(target, property, receiver) {
      if (property === 'getConnection') return getConnection;
      if (property === 'query') return query;
      if (property === 'execute') return execute;
      return Reflect.get(target, property, receiver);
    },
  });
}
