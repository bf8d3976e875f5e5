import type { YogaLogger } from 'graphql-yoga';
import type { Pool } from 'mysql2/promise';
import { loadConfig } from '../../src/config/config.js';
import { type App, type AppDeps, buildApp } from '../../src/server/app.js';
import type { TestDatabase } from './database.js';

export const TOKEN = 'test-token';

/** A logger that keeps what it is told, for tests that check what was logged. */
export function recordingLogger(): YogaLogger & { errors: unknown[][] } {
  const errors: unknown[][] = [];
  const quiet = () => {};
  return { debug: quiet, info: quiet, warn: quiet, error: (...args) => errors.push(args), errors };
}

/**
 * The app on a test database, with the environment the test gives (API_TOKENS=test-token and
 * WRITE_RATE_LIMIT=0 unless said otherwise). The database was migrated by createTestDatabase: the app itself never
 * migrates, nor flips the event scheduler.
 */
export function testApp(
  t: TestDatabase,
  env: Record<string, string> = {},
  options: {
    pool?: Pool;
    refreshWaitSeconds?: number;
    live?: AppDeps['live'];
    clock?: () => number;
  } = {},
): App & { logger: ReturnType<typeof recordingLogger> } {
  // A token's write budget is the service's, kept in the database across apps (and so across
  // the tests of a file): only the tests about it turn it on, with WRITE_RATE_LIMIT.
  const config = {
    ...loadConfig({ API_TOKENS: TOKEN, WRITE_RATE_LIMIT: '0', ...env }),
    db: t.db,
  };
  const logger = recordingLogger();
  const app = buildApp({
    pool: options.pool ?? t.pool,
    config,
    logger,
    refreshWaitSeconds: options.refreshWaitSeconds ?? 1,
    ...(options.live ? { live: options.live } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  return Object.assign(app, { logger });
}

export interface GraphQLResponse {
  status: number;
  contentType: string | null;
  // biome-ignore lint/suspicious/noExplicitAny: a test reads whatever shape the query asked for
  data: any;
  errors?: { message: string; path?: string[]; extensions?: Record<string, unknown> }[];
}

/** POSTs an operation through yoga.fetch (no network). */
export async function graphql(
  app: App,
  query: string,
  variables?: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<GraphQLResponse> {
  const response = await app.yoga.fetch('http://belair.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as Omit<GraphQLResponse, 'status' | 'contentType'>;
  return { status: response.status, contentType: response.headers.get('content-type'), ...body };
}

export const withToken = { authorization: `Bearer ${TOKEN}` };
