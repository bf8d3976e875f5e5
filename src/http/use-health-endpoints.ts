import type { Plugin } from 'graphql-yoga';
import type { Queryable } from '../db/queryable.js';
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
}

/** Ready means: MariaDB answers, its event scheduler is ON and the refresh event is ENABLED. */
export async function checkReadiness(db: Queryable): Promise<Readiness> {
  let facts: Awaited<ReturnType<typeof readReadinessFacts>>;
  try {
    facts = await readReadinessFacts(db);
  } catch (error) {
    return {
      ready: false,
      reasons: [`MariaDB is unreachable: ${(error as Error).message}`],
      database: 'unreachable',
    };
  }
  const reasons: string[] = [];
  if (facts.eventScheduler !== 'ON') {
    reasons.push(
      `The MariaDB event scheduler is ${facts.eventScheduler}, so windows do not refresh: SET GLOBAL event_scheduler = ON.`,
    );
  }
  if (facts.refreshEvent !== 'ENABLED') {
    reasons.push(
      facts.refreshEvent === null
        ? 'The refresh_air_quality event is missing: run npm run db:migrate.'
        : `The refresh_air_quality event is ${facts.refreshEvent}, so windows do not refresh: ALTER EVENT refresh_air_quality ENABLE.`,
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
      ageSeconds:
        Math.round((facts.now.getTime() - facts.currentRun.evaluatedAt.getTime()) / 100) / 10,
    },
  };
}

/**
 * GET /healthz: the process is alive (no database involved). GET /readyz: see checkReadiness;
 * 200 or 503, with the facts as JSON either way.
 */
export function useHealthEndpoints(db: Queryable): Plugin {
  return {
    async onRequest({ url, fetchAPI, endResponse }) {
      if (url.pathname === '/healthz') {
        endResponse(fetchAPI.Response.json({ status: 'ok' }));
      } else if (url.pathname === '/readyz') {
        const readiness = await checkReadiness(db);
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
