import type { RowDataPacket } from 'mysql2/promise';
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
