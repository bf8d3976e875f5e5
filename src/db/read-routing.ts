import type { Pool } from 'mysql2/promise';
import type { Config } from '../config/config.js';
import { classifyDatabaseError, describeError } from './database-unavailable.js';
import { createPool } from './pool.js';
import type { Queryable } from './queryable.js';
import {
  PRIVILEGE_MISSING,
  type ReplicationStatus,
  readReplicationStatus,
} from './replication-status.js';

/** Which server a read went to. */
export type ReadServer = 'primary' | 'replica';

/**
 * The replica as its last check found it:
 * - `replicating`: both replication threads run, lagSeconds behind the primary;
 * - `stopped`: a replication thread does not run (STOP SLAVE, an error, the primary unreachable);
 * - `not-replicating`: the server replicates from nobody (SHOW SLAVE STATUS has no row);
 * - `unreachable`: it did not answer (a check, or a read in between);
 * - `unreadable`: it answered, but not its replication status (SLAVE MONITOR missing);
 * - `unchecked`: no check yet.
 */
export type ReplicaState =
  | 'unchecked'
  | 'replicating'
  | 'stopped'
  | 'not-replicating'
  | 'unreachable'
  | 'unreadable';

export interface ReplicaReport {
  readonly host: string;
  readonly port: number;
  readonly state: ReplicaState;
  /** Seconds_Behind_Master at the last check; null when MariaDB could not tell. */
  readonly lagSeconds: number | null;
  readonly maxLagSeconds: number;
  /** Why reads are on the primary; null while the replica serves them. */
  readonly reason: string | null;
  /** When the last check answered (ISO-8601), null before the first. */
  readonly checkedAt: string | null;
}

export interface ReadRoutingStats {
  /** Statements each server was sent through the router (reads only). */
  readonly statements: { readonly primary: number; readonly replica: number };
  /** Reads the replica failed to answer, sent again to the primary. */
  readonly retriedOnPrimary: number;
  /** Times reads moved from one server to the other. */
  readonly switches: number;
}

/**
 * Where reads go: the replica while it replicates within DB_REPLICA_MAX_LAG_SECONDS, otherwise the
 * primary. Writes never come here: they take the primary's pool themselves.
 */
export interface ReadRouter {
  /** The server serving reads now. */
  readonly serving: ReadServer;
  /**
   * Runs fn on the server serving reads, told which one it is. A statement the replica fails to
   * answer (unreachable, connection lost, no connection free) moves reads to the primary at once,
   * and fn runs again there: reads are idempotent, and a client never sees the replica fail.
   */
  read<T>(fn: (db: Queryable, server: ReadServer) => Promise<T>): Promise<T>;
  /** Each statement through read(): what queries, loaders and history read with. */
  readonly reads: Queryable;
  /** The replica as last checked; null when none is configured. */
  replica(): ReplicaReport | null;
  /** Checks the replica now (sharing a check in flight) and routes reads by what it says. */
  check(): Promise<ReplicaReport | null>;
  stats(): ReadRoutingStats;
  /** Checks every checkIntervalMs from now on (no-op without a replica). */
  start(): void;
  /** No more checks. */
  stop(): void;
}

/** Log lines of the router: one per move of reads, none otherwise. */
export interface RoutingLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface ReadRouterOptions {
  readonly primary: Queryable;
  /** null: everything reads the primary, and the router sends no SQL of its own. */
  readonly replica: {
    readonly db: Queryable;
    readonly host: string;
    readonly port: number;
    /** The user it is reached as, for the GRANT a missing privilege calls for. */
    readonly user: string;
    readonly maxLagSeconds: number;
    readonly checkIntervalMs: number;
  } | null;
  readonly logger: RoutingLogger;
}

/** What a check saw, as the router's state: the replica's state, its lag and the reason not to use it. */
interface Seen {
  readonly state: ReplicaState;
  readonly lagSeconds: number | null;
  readonly problem: string | null;
}

function seenFromStatus(status: ReplicationStatus | null): Seen {
  if (!status) {
    return {
      state: 'not-replicating',
      lagSeconds: null,
      problem: 'it replicates from no primary (SHOW SLAVE STATUS is empty)',
    };
  }
  if (status.ioRunning !== 'Yes' || status.sqlRunning !== 'Yes') {
    return {
      state: 'stopped',
      lagSeconds: status.secondsBehind,
      problem:
        `its replication from ${status.source} is stopped (IO thread ${status.ioRunning}, SQL thread ${status.sqlRunning})` +
        (status.lastError ? `: ${status.lastError}` : ''),
    };
  }
  if (status.secondsBehind === null) {
    return {
      state: 'stopped',
      lagSeconds: null,
      problem: `MariaDB cannot tell how far it lags behind ${status.source}`,
    };
  }
  return { state: 'replicating', lagSeconds: status.secondsBehind, problem: null };
}

function seenFromError(error: unknown, user: string): Seen {
  const unavailability = classifyDatabaseError(error);
  if (unavailability) {
    return {
      state: 'unreachable',
      lagSeconds: null,
      problem: `it does not answer (${unavailability.reason}): ${unavailability.detail}`,
    };
  }
  const errno = (error as { errno?: number } | null)?.errno;
  return {
    state: 'unreadable',
    lagSeconds: null,
    problem:
      errno === PRIVILEGE_MISSING
        ? `it does not let ${user} read its replication status: GRANT SLAVE MONITOR ON *.* TO ${user}`
        : `its replication status cannot be read: ${describeError(error)}`,
  };
}

/**
 * Whether reads belong on the replica after a check: a replica that replicates serves them while
 * its lag is at most maxLag (at the first check too), and once they moved to the primary gets them
 * back when its lag is at most half of that, so that a lag hovering at the limit does not move
 * reads back and forth.
 */
function servesReads(seen: Seen, returning: boolean, maxLagSeconds: number): boolean {
  if (seen.state !== 'replicating' || seen.lagSeconds === null) return false;
  return seen.lagSeconds <= (returning ? Math.floor(maxLagSeconds / 2) : maxLagSeconds);
}

export function createReadRouter(options: ReadRouterOptions): ReadRouter {
  const { primary, replica, logger } = options;
  let serving: ReadServer = 'primary';
  let seen: Seen = { state: 'unchecked', lagSeconds: null, problem: 'not checked yet' };
  let checkedAt: Date | null = null;
  let checking: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  let first = true;
  const statements = { primary: 0, replica: 0 };
  let retriedOnPrimary = 0;
  let switches = 0;
  const name = replica ? `replica ${replica.host}:${replica.port}` : '';

  const reason = (): string | null => {
    if (!replica || serving === 'replica') return null;
    if (seen.problem) return `${name}: ${seen.problem}`;
    const lag = seen.lagSeconds ?? 0;
    return lag > replica.maxLagSeconds
      ? `${name} lags ${lag} s behind the primary, more than DB_REPLICA_MAX_LAG_SECONDS (${replica.maxLagSeconds} s)`
      : `${name} is catching up: ${lag} s behind the primary, back to it at ${Math.floor(replica.maxLagSeconds / 2)} s or less`;
  };

  /** Routes by what was seen; logs once when reads move, and the first state after the start. */
  const route = (next: Seen) => {
    if (!replica) return;
    seen = next;
    const returning = serving === 'primary' && !first;
    const target: ReadServer = servesReads(next, returning, replica.maxLagSeconds)
      ? 'replica'
      : 'primary';
    const moved = target !== serving;
    serving = target;
    if (moved) switches += 1;
    if (!moved && !first) return;
    first = false;
    if (target === 'replica') {
      logger.info(`reads go to ${name} (${next.lagSeconds} s behind the primary)`);
    } else {
      logger.warn(`reads go to the primary: ${reason()}`);
    }
  };

  const runCheck = async (): Promise<void> => {
    if (!replica) return;
    let next: Seen;
    try {
      next = seenFromStatus(await readReplicationStatus(replica.db));
    } catch (error) {
      next = seenFromError(error, replica.user);
    }
    checkedAt = new Date();
    route(next);
  };

  const check = () => {
    checking ??= runCheck().finally(() => {
      checking = null;
    });
    return checking;
  };

  const schedule = () => {
    if (!replica || stopped) return;
    timer = setTimeout(() => {
      timer = null;
      void check().finally(schedule);
    }, replica.checkIntervalMs);
    // The router never keeps a process alive by itself.
    timer.unref();
  };

  const report = (): ReplicaReport | null =>
    replica && {
      host: replica.host,
      port: replica.port,
      state: seen.state,
      lagSeconds: seen.lagSeconds,
      maxLagSeconds: replica.maxLagSeconds,
      reason: reason(),
      checkedAt: checkedAt?.toISOString() ?? null,
    };

  const counted = (db: Queryable, server: ReadServer, failures?: WeakSet<object>): Queryable => ({
    query: ((...args: unknown[]) => {
      statements[server] += 1;
      const sent = (db.query as (...a: unknown[]) => Promise<unknown>)(...args);
      if (!failures) return sent;
      return sent.catch((error: unknown) => {
        if (typeof error === 'object' && error !== null && classifyDatabaseError(error)) {
          failures.add(error);
        }
        throw error;
      });
    }) as Queryable['query'],
  });

  const read = async <T>(fn: (db: Queryable, server: ReadServer) => Promise<T>): Promise<T> => {
    if (!replica || serving === 'primary') return fn(counted(primary, 'primary'), 'primary');
    const failures = new WeakSet<object>();
    try {
      return await fn(counted(replica.db, 'replica', failures), 'replica');
    } catch (error) {
      if (typeof error !== 'object' || error === null || !failures.has(error)) throw error;
      retriedOnPrimary += 1;
      route(seenFromError(error, replica.user));
      return fn(counted(primary, 'primary'), 'primary');
    }
  };

  return {
    get serving() {
      return serving;
    },
    read,
    reads: {
      query: ((...args: unknown[]) =>
        read((db) =>
          (db.query as (...a: unknown[]) => Promise<unknown>)(...args),
        )) as Queryable['query'],
    },
    replica: report,
    async check() {
      await check();
      return report();
    },
    stats: () => ({ statements: { ...statements }, retriedOnPrimary, switches }),
    start() {
      if (!replica || stopped || timer) return;
      schedule();
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}

/** The router of an API process and the replica pool it opened, which end() closes. */
export interface ReadRouting {
  readonly router: ReadRouter;
  /** Stops the checks and closes the replica's pool (the primary's belongs to the caller). */
  end(): Promise<void>;
}

/**
 * The read routing the configuration asks for: with a replica, a pool of its own (sized and bounded
 * like the primary's) watched every DB_REPLICA_CHECK_INTERVAL_MS; without one, every read on the
 * primary and no SQL of its own. Call router.check() before serving, then router.start().
 */
export function createReadRouting(
  config: Config,
  primary: Pool,
  logger: RoutingLogger,
): ReadRouting {
  const replicaConfig = config.replica;
  const pool = replicaConfig
    ? createPool(replicaConfig, config.dbPoolSize, {
        acquireTimeoutMs: config.dbAcquireTimeoutMs,
      })
    : null;
  const router = createReadRouter({
    primary,
    replica:
      replicaConfig && pool
        ? {
            db: pool,
            host: replicaConfig.host,
            port: replicaConfig.port,
            user: `'${replicaConfig.user}'@'%'`,
            maxLagSeconds: config.replicaMaxLagSeconds,
            checkIntervalMs: config.replicaCheckIntervalMs,
          }
        : null,
    logger,
  });
  return {
    router,
    async end() {
      router.stop();
      await pool?.end();
    },
  };
}
