import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import type { Queryable } from './queryable.js';

/** One aggregation run of refresh_air_quality. */
export interface AirQualityRun {
  readonly id: number;
  readonly evaluatedAt: Date;
  /** Exclusive. */
  readonly windowStart: Date;
  /** Inclusive; equals evaluatedAt. */
  readonly windowEnd: Date;
  readonly measurements: number;
  readonly cities: number;
  readonly durationMs: number | null;
}

/** Columns of air_quality_run r as an AirQualityRun; `prefix` names them apart in joins. */
export function runColumns(prefix = ''): string {
  return `r.id AS ${prefix}id, r.evaluated_at AS ${prefix}evaluatedAt,
          r.window_start AS ${prefix}windowStart, r.window_end AS ${prefix}windowEnd,
          r.measurements AS ${prefix}measurements, r.cities AS ${prefix}cities,
          r.duration_ms AS ${prefix}durationMs`;
}

/**
 * The order of runs, the current one first: the latest evaluated_at, then the latest id (two runs
 * evaluated at the same instant). The one definition of "current" on the API's side.
 */
function latestFirst(alias: string): string {
  return `${alias}.evaluated_at DESC, ${alias}.id DESC`;
}

/** The current run's id, as a scalar subquery. */
export const CURRENT_RUN_ID = `(SELECT latest.id FROM air_quality_run latest ORDER BY ${latestFirst('latest')} LIMIT 1)`;

/** The latest runs by evaluated_at, the current one first. */
export async function listRuns(db: Queryable, args: { last: number }): Promise<AirQualityRun[]> {
  const [rows] = await db.query<RowDataPacket[]>(
    `/* listRuns */
     SELECT ${runColumns()} FROM air_quality_run r
     ORDER BY ${latestFirst('r')} LIMIT ?`,
    [args.last],
  );
  return rows as AirQualityRun[];
}

export async function findRun(db: Queryable, id: number): Promise<AirQualityRun | null> {
  const [rows] = await db.query<RowDataPacket[]>(
    `/* findRun */ SELECT ${runColumns()} FROM air_quality_run r WHERE r.id = ?`,
    [id],
  );
  return (rows[0] as AirQualityRun | undefined) ?? null;
}

/** The current run: the one with the latest evaluated_at. */
export async function findCurrentRun(db: Queryable): Promise<AirQualityRun | null> {
  const [rows] = await db.query<RowDataPacket[]>(
    `/* findCurrentRun */
     SELECT ${runColumns()} FROM air_quality_run r
     ORDER BY ${latestFirst('r')} LIMIT 1`,
  );
  return (rows[0] as AirQualityRun | undefined) ?? null;
}

/** A run was in progress for longer than the caller was willing to wait. */
export class RefreshBusyError extends Error {
  constructor(readonly waitedSeconds: number) {
    super(
      `Another aggregation run is in progress and did not finish within ${waitedSeconds} s: try again shortly.`,
    );
    this.name = 'RefreshBusyError';
  }
}

/** The procedure's lock, named by the database itself (sql/025-locks.sql). */
const LOCK_NAME = "belair_lock_name('refresh_air_quality')";

/**
 * Waits up to waitSeconds (fractions allowed) for the aggregation lock on this connection: true
 * once it holds it. The procedure refuses to start while another run holds the lock; the lock is
 * recursive, so a caller that holds it may call the procedure.
 */
export async function takeRefreshLock(
  connection: PoolConnection,
  waitSeconds: number,
): Promise<boolean> {
  const [[lock]] = await connection.query<RowDataPacket[]>(
    `/* takeRefreshLock */ SELECT GET_LOCK(${LOCK_NAME}, ?) AS locked`,
    [waitSeconds],
  );
  return lock?.locked === 1;
}

export async function releaseRefreshLock(connection: PoolConnection): Promise<void> {
  await connection.query(`/* releaseRefreshLock */ DO RELEASE_LOCK(${LOCK_NAME})`);
}

/** Runs refresh_air_quality(at) on a connection that holds the lock, and returns the new run. */
export async function runRefresh(connection: PoolConnection, at: Date): Promise<AirQualityRun> {
  await connection.query('/* runRefresh */ CALL refresh_air_quality(?)', [at]);
  const [[row]] = await connection.query<RowDataPacket[]>(
    '/* runRefresh */ SELECT @refresh_air_quality_run_id AS id',
  );
  const run = await findRun(connection, Number(row?.id));
  if (!run) throw new Error(`refresh_air_quality did not leave its run (${row?.id})`);
  return run;
}

/**
 * Runs refresh_air_quality(at) and returns the new run: waits up to waitSeconds for the lock,
 * calls the procedure while holding it, then lets it go. RefreshBusyError when the wait was in
 * vain. (The API shares runs between concurrent calls: see refresh-flights.ts.)
 */
export async function refreshAirQuality(
  connection: PoolConnection,
  args: { at: Date; waitSeconds: number },
): Promise<AirQualityRun> {
  if (!(await takeRefreshLock(connection, args.waitSeconds))) {
    throw new RefreshBusyError(args.waitSeconds);
  }
  try {
    return await runRefresh(connection, args.at);
  } finally {
    await releaseRefreshLock(connection);
  }
}
