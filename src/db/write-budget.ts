import type { RowDataPacket } from 'mysql2/promise';
import type { Queryable } from './queryable.js';

export interface BudgetTake {
  /** The write may go ahead: its cost was taken from the budget. */
  readonly granted: boolean;
  /** What the budget holds now (after the take when granted), in measurements. */
  readonly level: number;
}

/**
 * Takes `cost` measurements from a token's budget on the primary (sql/120-write-budget.sql), or
 * nothing when the budget, refilled at perSecond since it was last computed and capped at burst,
 * holds less. One statement: the row stays locked from the refill to the take, so concurrent takes
 * by any number of processes are serialised and never spend the same measurements twice.
 *
 * The clock is the primary's (UTC_TIMESTAMP), so that processes on hosts whose clocks differ agree,
 * and it only moves forward: a take that waited for the lock while another one took, with an
 * earlier start, refills nothing rather than refilling that wait twice. `atMs` replaces it, as
 * given (tests move time by hand, backwards too). A budget never seen before starts full.
 */
export async function takeWriteBudget(
  db: Queryable,
  args: {
    readonly writer: Buffer;
    readonly cost: number;
    readonly perSecond: number;
    readonly burst: number;
    readonly atMs?: number;
  },
): Promise<BudgetTake> {
  const { writer, cost, perSecond, burst } = args;
  // Milliseconds since 1970 (UTC) as of the statement's start, or the caller's.
  const now = "COALESCE(?, TIMESTAMPDIFF(MICROSECOND, '1970-01-01', UTC_TIMESTAMP(6)) / 1000)";
  const refilled = `LEAST(?, level + GREATEST(0, ${now} - refilled_at_ms) * ? / 1000)`;
  const at = args.atMs ?? null;
  const [rows] = await db.query<RowDataPacket[]>(
    `/* takeWriteBudget */
     INSERT INTO write_budget (writer, level, refilled_at_ms, granted)
     VALUES (?, ? - ?, ${now}, TRUE)
     ON DUPLICATE KEY UPDATE
       granted = ${refilled} >= ?,
       level = ${refilled} - IF(granted, ?, 0),
       refilled_at_ms = IF(? IS NULL, GREATEST(refilled_at_ms, ${now}), ?)
     RETURNING level, granted`,
    [writer, burst, cost, at, burst, at, perSecond, cost, burst, at, perSecond, cost, at, at, at],
  );
  const row = rows[0];
  if (!row) throw new Error('takeWriteBudget: no row returned');
  return { granted: Boolean(row.granted), level: Number(row.level) };
}
