import type { RowDataPacket } from 'mysql2/promise';
import type { Queryable } from './queryable.js';

/** What SHOW SLAVE STATUS says about the server's replication from its primary. */
export interface ReplicationStatus {
  /** Slave_IO_Running: Yes, No or Connecting (the thread that fetches the primary's binlog). */
  readonly ioRunning: string;
  /** Slave_SQL_Running: Yes or No (the thread that applies it). */
  readonly sqlRunning: string;
  /** Seconds_Behind_Master; null while a thread is stopped (MariaDB cannot tell then). */
  readonly secondsBehind: number | null;
  /** The primary it replicates from, as host:port. */
  readonly source: string;
  /** The last error of either thread, '' when none. */
  readonly lastError: string;
}

/**
 * The replication status of the server db reaches, or null when it replicates from nobody (SHOW
 * SLAVE STATUS answers no row). Needs the SLAVE MONITOR privilege (MariaDB 10.5.9 and later):
 * without it the statement fails with errno 1227, which the caller reports.
 */
export async function readReplicationStatus(db: Queryable): Promise<ReplicationStatus | null> {
  const [rows] = await db.query<RowDataPacket[]>('/* readReplicationStatus */ SHOW SLAVE STATUS');
  const row = rows[0];
  if (!row) return null;
  const behind = row.Seconds_Behind_Master;
  return {
    ioRunning: String(row.Slave_IO_Running),
    sqlRunning: String(row.Slave_SQL_Running),
    secondsBehind: behind === null || behind === undefined ? null : Number(behind),
    source: `${row.Master_Host}:${row.Master_Port}`,
    lastError: String(row.Last_SQL_Error || row.Last_IO_Error || ''),
  };
}

/** errno of a statement refused for want of a privilege (ER_SPECIFIC_ACCESS_DENIED_ERROR). */
export const PRIVILEGE_MISSING = 1227;

/**
 * The primary the server replicates from (host:port), or null when it replicates from nobody, or
 * when this user may not tell (no SLAVE MONITOR privilege: an application user on a primary
 * seldom has it, and is not kept from migrating for it).
 */
export async function replicationSource(db: Queryable): Promise<string | null> {
  try {
    return (await readReplicationStatus(db))?.source ?? null;
  } catch (error) {
    if ((error as { errno?: number }).errno === PRIVILEGE_MISSING) return null;
    throw error;
  }
}
