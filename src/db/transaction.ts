import type { Pool, PoolConnection } from 'mysql2/promise';
import { CommitOutcomeUnknownError, isDatabaseUnavailable } from './database-unavailable.js';

/** MariaDB errors after which the whole transaction may simply be run again. */
const RETRYABLE = new Set([
  1213, // ER_LOCK_DEADLOCK: InnoDB chose this transaction as the victim and rolled it back
  1205, // ER_LOCK_WAIT_TIMEOUT
]);

export function isRetryableTransactionError(error: unknown): boolean {
  const errno = (error as { errno?: unknown } | null)?.errno;
  return typeof errno === 'number' && RETRYABLE.has(errno);
}

/** Transactions run again since the process started, by MariaDB error number. */
const retries = new Map<number, number>();

/**
 * How many transactions were run again after a deadlock (1213) or a lock wait timeout (1205)
 * since the process started: what the retries absorbed, which clients never saw.
 */
export function transactionRetries(): { deadlocks: number; lockWaitTimeouts: number } {
  return { deadlocks: retries.get(1213) ?? 0, lockWaitTimeouts: retries.get(1205) ?? 0 };
}

/**
 * Sessions already at READ COMMITTED (the mysql2 connection under the promise wrapper). The level
 * is set once per session rather than before each transaction: one round trip less per batch,
 * which on a busy machine costs a wake-up of the server's thread each time. Statements outside a
 * transaction on these sessions run at READ COMMITTED too, which changes nothing for a single
 * statement but the locks a locking read or an INSERT ... SELECT takes (fewer, no gap locks).
 */
const readCommitted = new WeakSet<object>();

async function useReadCommitted(connection: PoolConnection): Promise<void> {
  const session = (connection as { connection?: object }).connection ?? connection;
  if (readCommitted.has(session)) return;
  await connection.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
  readCommitted.add(session);
}

export interface TransactionOptions {
  /** Attempts in all, for deadlocks and lock wait timeouts. Default 4. */
  readonly attempts?: number;
}

/**
 * Runs fn in one READ COMMITTED transaction on one connection of the pool: committed when fn
 * resolves, rolled back when it throws, and run again from the start after a deadlock (batches
 * take their locks in one order and do not deadlock among themselves, but other writers may). READ
 * COMMITTED so that every read sees rows that concurrent writers committed meanwhile (a city or
 * station another batch just created) and so that writes take no gap locks where the aggregation
 * and other batches work.
 *
 * A connection lost inside the transaction rolls it back on the server: the error (see
 * database-unavailable.ts) then means nothing was written. Lost during COMMIT, the outcome is
 * unknown, and the error is a CommitOutcomeUnknownError.
 */
export async function withTransaction<T>(
  pool: Pick<Pool, 'getConnection'>,
  fn: (connection: PoolConnection) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? 4;
  for (let attempt = 1; ; attempt += 1) {
    const connection = await pool.getConnection();
    try {
      await useReadCommitted(connection);
      await connection.beginTransaction();
      try {
        const result = await fn(connection);
        try {
          await connection.commit();
        } catch (error) {
          // Lost before the answer came: committed or not, only the server knows. Said so,
          // rather than reported as rolled back.
          throw isDatabaseUnavailable(error) ? new CommitOutcomeUnknownError(error) : error;
        }
        return result;
      } catch (error) {
        await connection.rollback().catch(() => {});
        throw error;
      }
    } catch (error) {
      if (attempt >= attempts || !isRetryableTransactionError(error)) throw error;
      const errno = (error as { errno: number }).errno;
      retries.set(errno, (retries.get(errno) ?? 0) + 1);
      // A short, growing, jittered pause lets the transaction that won go first.
      await new Promise((resolve) => setTimeout(resolve, 20 * attempt + Math.random() * 30));
    } finally {
      connection.release();
    }
  }
}
