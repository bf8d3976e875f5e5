import { createHash, timingSafeEqual } from 'node:crypto';
import type { YogaLogger } from 'graphql-yoga';
import type { Pool } from 'mysql2/promise';
import type { Config } from '../config/config.js';
import type { Queryable } from '../db/queryable.js';
import type { ReadRouter } from '../db/read-routing.js';
import { createRefreshFlights, type RefreshFlights } from '../db/refresh-flights.js';
import type { Poller } from '../poller/poller.js';
import type { ItemLevelInputErrorsByVariable } from './item-level-input-errors.js';
import { createLoaders, type Loaders } from './loaders.js';

/**
 * Who may write, as the request's Authorization header says:
 * - `token`: a Bearer token from API_TOKENS;
 * - `missing`: no Authorization header;
 * - `invalid`: a header that is not `Bearer <token>` with a known token;
 * - `disabled`: the server has no tokens at all, so nobody may write.
 */
export type WriteAccess = 'token' | 'missing' | 'invalid' | 'disabled';

/** What buildApp needs; everything the server touches comes in through here. */
export interface AppDeps {
  /** The primary: writes, refreshes, and reads when no replica serves them. */
  readonly pool: Pool;
  /**
   * Where reads go (db/read-routing.ts: a replica while it keeps up); every read on the pool when
   * absent.
   */
  readonly reads?: ReadRouter;
  readonly config: Config;
  readonly logger: YogaLogger;
  /** The clock of the write rate limit, in ms (default Date.now): tests move it by hand. */
  readonly clock?: () => number;
  /** How long refreshAirQuality waits for a run in progress before REFRESH_BUSY. Default 5. */
  readonly refreshWaitSeconds?: number;
  /**
   * Live updates: the poller's longest backoff (default 30 s), how long it keeps polling after the
   * last query read the current windows (default 30 s), graphql-ws pings (default 12 s).
   */
  readonly live?: {
    readonly maxBackoffMs?: number;
    readonly queryIdleMs?: number;
    readonly keepAliveMs?: number;
  };
  /**
   * The dashboard at /: its build folder (default web/dist) and whether to build it there, when
   * missing or stale, before its first answer (default true).
   */
  readonly dashboard?: { readonly dir?: string; readonly build?: boolean };
}

/** The GraphQL context of one operation (one HTTP request, or one WebSocket operation). */
export interface Context {
  /** The primary: every write goes here. */
  readonly pool: Pool;
  /** What queries read with: the replica while it serves reads, else the primary. */
  readonly reads: Queryable;
  readonly config: Config;
  readonly logger: YogaLogger;
  readonly refreshWaitSeconds: number;
  /** The app's one queue of aggregation runs, shared by concurrent refreshAirQuality calls. */
  readonly refreshes: RefreshFlights;
  readonly writeAccess: WriteAccess;
  /**
   * With writeAccess `token`, the position of the request's token in API_TOKENS: the key of its
   * write budget (src/plugins/use-write-rate-limit.ts), so that the token itself is kept nowhere.
   */
  readonly writer: number | null;
  /** The process's one poller: subscriptions listen to it, queries read its snapshot. */
  readonly poller: Poller;
  /** Per-operation DataLoaders; replaced after writes (see resetLoaders). */
  loaders: Loaders;
  /** Days of City.history this operation has read so far, summed over cities (a budget). */
  historyCityDays: number;
  /** Items of ingestMeasurements batches that GraphQL would refuse, set aside per variable. */
  itemLevelInputErrors?: ItemLevelInputErrorsByVariable;
}

/** What Yoga (HTTP) or graphql-ws (connectionParams) hands the context factory. */
export interface InitialContext {
  readonly request?: Request;
  readonly connectionParams?: Readonly<Record<string, unknown>>;
}

const digest = (token: string) => createHash('sha256').update(token).digest();

/**
 * The position of a token among the known ones, or null. Compares in constant time (over their
 * digests, so lengths leak nothing either), against every known token whatever matches.
 */
function knownTokenIndex(token: string, known: readonly Buffer[]): number | null {
  const candidate = digest(token);
  let found: number | null = null;
  known.forEach((k, index) => {
    if (timingSafeEqual(candidate, k)) found = index;
  });
  return found;
}

/** The Authorization of an HTTP request, or of a WebSocket's connectionParams. */
export function authorizationOf(initial: InitialContext): string | null {
  const fromRequest = initial.request?.headers.get('authorization');
  if (fromRequest) return fromRequest;
  const params = initial.connectionParams;
  const fromParams = params?.Authorization ?? params?.authorization;
  return typeof fromParams === 'string' ? fromParams : null;
}

export interface WriteAccessOf {
  readonly writeAccess: WriteAccess;
  /** With writeAccess `token`, the position of the token in API_TOKENS. */
  readonly writer: number | null;
}

/**
 * The token check: what an Authorization header (or null: none) allows. Made once per app, so
 * that the known tokens are digested once; used by the context factory and, before a request's
 * body is read, by the HTTP server (src/server/app.ts).
 */
export function createWriteAccessCheck(
  apiTokens: readonly string[],
): (authorization: string | null | undefined) => WriteAccessOf {
  const known = apiTokens.map(digest);
  return (header) => {
    if (known.length === 0) return { writeAccess: 'disabled', writer: null };
    if (header === null || header === undefined) return { writeAccess: 'missing', writer: null };
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const writer = match?.[1] ? knownTokenIndex(match[1], known) : null;
    return { writeAccess: writer !== null ? 'token' : 'invalid', writer };
  };
}

export function createContextFactory(
  deps: AppDeps & { readonly poller: Poller },
): (initial: InitialContext) => Context {
  const check = createWriteAccessCheck(deps.config.apiTokens);
  const refreshWaitSeconds = deps.refreshWaitSeconds ?? 5;
  const refreshes = createRefreshFlights(deps.pool);
  const reads: Queryable = deps.reads?.reads ?? deps.pool;
  return (initial) => {
    const { writeAccess, writer } = check(authorizationOf(initial));
    return {
      pool: deps.pool,
      reads,
      config: deps.config,
      logger: deps.logger,
      refreshWaitSeconds,
      refreshes,
      writeAccess,
      writer,
      poller: deps.poller,
      loaders: createLoaders(reads, deps.poller),
      historyCityDays: 0,
    };
  };
}

/** A new set of the context's DataLoaders, nothing cached. */
export function freshLoaders(context: Pick<Context, 'reads' | 'poller'>): Loaders {
  return createLoaders(context.reads, context.poller);
}

/** After a write, what the loaders cached may be stale: later fields read afresh. */
export function resetLoaders(context: Context): void {
  context.loaders = freshLoaders(context);
}
