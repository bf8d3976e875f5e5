import type { Plugin, YogaLogger } from 'graphql-yoga';
import type { Queryable } from '../db/queryable.js';
import type { ReadRouter, ReadServer, ReplicaReport } from '../db/read-routing.js';
import { describeReadinessFailure, readReadinessFacts } from '../db/readiness.js';

export interface Readiness {
  readonly ready: boolean;
  /**
   * Why the service is not ready, in words an operator can act on and an outsider learns nothing
   * from (no driver message, host, port or user); empty when it is ready.
   */
  readonly reasons: readonly string[];
  /** The errors behind the reasons, as the driver said them: for the log and for operators only. */
  readonly details?: readonly string[];
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
    const failure = describeReadinessFailure(error);
    return {
      ready: false,
      reasons: [failure.reason],
      details: [failure.detail],
      database: 'unreachable',
    };
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

export interface HealthEndpointOptions extends ReadinessOptions {
  readonly logger: YogaLogger;
  /** Whether a request's Authorization header holds a valid token (operators see the details). */
  readonly isOperator: (authorization: string | null) => boolean;
}

/**
 * GET /healthz: the process is alive (no database involved). GET /readyz: see checkReadiness;
 * 200 or 503, with the facts as JSON either way. The errors behind a reason go to the log, once
 * each time they change (probes ask every few seconds), and into the answer (`details`) only for
 * a request with a valid token.
 */
export function useHealthEndpoints(db: Queryable, options: HealthEndpointOptions): Plugin {
  let logged = '';
  const log = (readiness: Readiness) => {
    const said = readiness.ready ? '' : JSON.stringify([readiness.reasons, readiness.details]);
    if (said === logged) return;
    if (said === '') options.logger.info('/readyz: ready again');
    else {
      const details = readiness.details?.length ? ` (${readiness.details.join('; ')})` : '';
      options.logger.warn(`/readyz: not ready: ${readiness.reasons.join(' ')}${details}`);
    }
    logged = said;
  };
  return {
    async onRequest({ request, url, fetchAPI, endResponse }) {
      if (url.pathname === '/healthz') {
        endResponse(fetchAPI.Response.json({ status: 'ok' }));
      } else if (url.pathname === '/readyz') {
        const readiness = await checkReadiness(db, options);
        log(readiness);
        const { details, ...answer } = readiness;
        const operator =
          details !== undefined && options.isOperator(request.headers.get('authorization'));
        endResponse(
          fetchAPI.Response.json(operator ? { ...answer, details } : answer, {
            status: readiness.ready ? 200 : 503,
            headers: { 'cache-control': 'no-store' },
          }),
        );
      }
    },
  };
}
