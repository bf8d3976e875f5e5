import type { Plugin } from 'graphql-yoga';
import { classifyDatabaseError, describeError } from '../db/database-unavailable.js';
import type { Queryable } from '../db/queryable.js';
import type { ReadRouter, ReadServer, ReplicaReport } from '../db/read-routing.js';
import { readReadinessFacts } from '../db/readiness.js';

export interface Readiness {
  readonly ready: boolean;
  /** Why the service is not ready; empty when it is. */
  readonly reasons: readonly string[];
  readonly database: 'reachable' | 'unreachable';
  readonly eventScheduler?: string;
  readonly refreshEvent?: string | null;
  readonly currentRun?: {
    readonly id: number;
    readonly evaluatedAt: string;
    readonly ageSeconds: number;
  } | null;
  /**
   * With a replica configured: which server serves reads, and the replica as checked just now.
   * Reads on the primary do not make the service unready: they are served all the same.
   */
  readonly reads?: { readonly server: ReadServer; readonly replica: ReplicaReport };
}

export interface ReadinessOptions {
  /**
   * A current run older than this many seconds makes the service unready: its windows are stale
   * (the EVENT runs every 5 minutes, so three missed runs). Default 900.
   */
  readonly maxRunAgeSeconds?: number;
  /** The read routing, to report where reads go (only when it has a replica). */
  readonly reads?: Pick<ReadRouter, 'check' | 'serving'>;
}

/**
 * Ready means: MariaDB answers, and its windows are being refreshed — the event scheduler ON and
 * the refresh_air_quality event ENABLED, and the current run no older than maxRunAgeSeconds.
 * On a replica the event is SLAVESIDE_DISABLED (events are replicated disabled: the primary
 * aggregates and the runs arrive by replication), so there only the age of the current run counts.
 * No run at all yet is not a reason: a fresh install gets its first one within minutes.
 * With a replica (options.reads), the answer also says where reads go and how the replica is,
 * checked at that moment; reads on the primary are no reason either: they are served all the same.
 */
export async function checkReadiness(
  db: Queryable,
  options: ReadinessOptions = {},
): Promise<Readiness> {
  const [readiness, replica] = await Promise.all([
    checkPrimary(db, options),
    options.reads?.check() ?? null,
  ]);
  if (!replica || !options.reads) return readiness;
  return { ...readiness, reads: { server: options.reads.serving, replica } };
}

/** Readiness as the primary says it, where the EVENT runs. */
async function checkPrimary(db: Queryable, options: ReadinessOptions): Promise<Readiness> {
  const maxRunAgeSeconds = options.maxRunAgeSeconds ?? 900;
  let facts: Awaited<ReturnType<typeof readReadinessFacts>>;
  try {
    facts = await readReadinessFacts(db);
  } catch (error) {
    const unavailability = classifyDatabaseError(error);
    let reason: string;
    if (unavailability?.poolTimeout) {
      reason = `No database connection is free: ${unavailability.detail}.`;
    } else if (unavailability) {
      reason = `MariaDB is unreachable (${unavailability.reason}): ${unavailability.detail}.`;
    } else {
      reason = `MariaDB did not answer the readiness query: ${describeError(error)}.`;
    }
    return { ready: false, reasons: [reason], database: 'unreachable' };
  }
  const reasons: string[] = [];
  const replica = facts.refreshEvent === 'SLAVESIDE_DISABLED';
  if (!replica && facts.eventScheduler !== 'ON') {
    reasons.push(
      `The MariaDB event scheduler is ${facts.eventScheduler}, so windows do not refresh: SET GLOBAL event_scheduler = ON.`,
    );
  }
  if (!replica && facts.refreshEvent !== 'ENABLED') {
    reasons.push(
      facts.refreshEvent === null
        ? 'The refresh_air_quality event is missing: run npm run db:migrate.'
        : `The refresh_air_quality event is ${facts.refreshEvent}, so windows do not refresh: ALTER EVENT refresh_air_quality ENABLE.`,
    );
  }
  const ageSeconds =
    facts.currentRun &&
    Math.round((facts.now.getTime() - facts.currentRun.evaluatedAt.getTime()) / 100) / 10;
  if (ageSeconds !== null && ageSeconds > maxRunAgeSeconds) {
    reasons.push(
      `The current run is ${ageSeconds} s old, more than the ${maxRunAgeSeconds} s allowed (READY_MAX_RUN_AGE_SECONDS): ` +
        (replica
          ? 'the primary has stopped aggregating, or this replica lags behind it.'
          : 'the refresh has not run; see the MariaDB error log for the event.'),
    );
  }
  return {
    ready: reasons.length === 0,
    reasons,
    database: 'reachable',
    eventScheduler: facts.eventScheduler,
    refreshEvent: facts.refreshEvent,
    currentRun: facts.currentRun && {
      id: facts.currentRun.id,
      evaluatedAt: facts.currentRun.evaluatedAt.toISOString(),
      ageSeconds: ageSeconds ?? 0,
    },
  };
}

/**
 * GET /healthz: the process is alive (no database involved). GET /readyz: see checkReadiness;
 * 200 or 503, with the facts as JSON either way.
 */
export function useHealthEndpoints(db: Queryable, options: ReadinessOptions = {}): Plugin {
  return {
    async onRequest({ url, fetchAPI, endResponse }) {
      if (url.pathname === '/healthz') {
        endResponse(fetchAPI.Response.json({ status: 'ok' }));
      } else if (url.pathname === '/readyz') {
        const readiness = await checkReadiness(db, options);
        endResponse(
          fetchAPI.Response.json(readiness, {
            status: readiness.ready ? 200 : 503,
            headers: { 'cache-control': 'no-store' },
          }),
        );
      }
    },
  };
}
