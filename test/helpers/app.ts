import { request as httpRequest } from 'node:http';
import type { YogaLogger } from 'graphql-yoga';
import type { Pool } from 'mysql2/promise';
import { afterAll, afterEach, expect } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { type App, type AppDeps, buildApp } from '../../src/server/app.js';
import type { TestDatabase } from './database.js';
import { useForAll } from './lifecycle.js';

export const TOKEN = 'test-token';

export interface RecordingLogger extends YogaLogger {
  /** The arguments of every error() call. */
  readonly errors: unknown[][];
  /** The message of every warn() and info() call. */
  readonly warnings: string[];
  readonly infos: string[];
}

/** A logger that keeps what it is told, for tests that check what was logged. */
export function recordingLogger(): RecordingLogger {
  const errors: unknown[][] = [];
  const warnings: string[] = [];
  const infos: string[] = [];
  return {
    debug: () => {},
    info: (message) => void infos.push(String(message)),
    warn: (message) => void warnings.push(String(message)),
    error: (...args) => void errors.push(args),
    errors,
    warnings,
    infos,
  };
}

export interface TestAppOptions {
  readonly pool?: Pool;
  readonly refreshWaitSeconds?: number;
  readonly live?: AppDeps['live'];
  readonly clock?: () => number;
}

export type TestApp = App & { logger: RecordingLogger };

/**
 * The app on a test database, with the environment the test gives (API_TOKENS=test-token and
 * WRITE_RATE_LIMIT=0 unless said otherwise). The database was migrated by createTestDatabase: the app itself never
 * migrates, nor flips the event scheduler.
 */
export function testApp(
  t: TestDatabase,
  env: Record<string, string> = {},
  options: TestAppOptions = {},
): TestApp {
  // A token's write budget is the service's, kept in the database across apps (and so across
  // the tests of a file): only the tests about it turn it on, with WRITE_RATE_LIMIT.
  const config = { ...loadConfig({ API_TOKENS: TOKEN, WRITE_RATE_LIMIT: '0', ...env }), db: t.db };
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

/** An app listening on a free port of 127.0.0.1, and where to reach it. */
export interface ListeningApp {
  readonly app: TestApp;
  readonly port: number;
  /** http://127.0.0.1:port */
  readonly base: string;
  /** The GraphQL endpoint, http://127.0.0.1:port/graphql. */
  readonly url: string;
  /** The same endpoint for graphql-ws, ws://127.0.0.1:port/graphql. */
  readonly wsUrl: string;
}

/** Starts the app on a free port of 127.0.0.1. */
export async function listen(app: TestApp): Promise<ListeningApp> {
  const { port } = await app.start(0, '127.0.0.1');
  const base = `http://127.0.0.1:${port}`;
  return { app, port, base, url: `${base}/graphql`, wsUrl: `ws://127.0.0.1:${port}/graphql` };
}

export interface AppSetup {
  readonly env?: Record<string, string>;
  readonly options?: TestAppOptions;
}

/**
 * One app for the file (or the describe block), listening from a beforeAll hook on, stopped by an
 * afterAll hook. The setup is read in that beforeAll, so that it may name what earlier hooks made
 * (a pool, a proxy).
 */
export function useApp(t: TestDatabase, setup: AppSetup | (() => AppSetup) = {}): ListeningApp {
  return useForAll(
    'the app',
    () => {
      const { env, options } = typeof setup === 'function' ? setup() : setup;
      return listen(testApp(t, env, options));
    },
    ({ app }) => app.stop(),
  );
}

/**
 * Apps that tests make as they need them, each stopped after the test that made it
 * (`after: 'each'`) or after the file's tests (`after: 'all'`).
 */
export function useApps(t: TestDatabase, after: 'each' | 'all') {
  const made: TestApp[] = [];
  const stopAll = async () => {
    for (const app of made.splice(0)) await app.stop(1000);
  };
  if (after === 'each') afterEach(stopAll);
  else afterAll(stopAll);
  /** An app on the test database, not listening. */
  const make = (env: Record<string, string> = {}, options: TestAppOptions = {}): TestApp => {
    const app = testApp(t, env, options);
    made.push(app);
    return app;
  };
  return {
    make,
    /** An app on the test database, listening on a free port. */
    listen: (env: Record<string, string> = {}, options: TestAppOptions = {}) =>
      listen(make(env, options)),
  };
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

/** Makes a run through the app's own mutation (at `at`, or now) and resolves with its id. */
export async function refreshMutation(app: App, at?: string): Promise<number> {
  const result = await graphql(
    app,
    'mutation ($at: DateTime) { refreshAirQuality(at: $at) { id } }',
    { at },
    withToken,
  );
  expect(result.errors).toBeUndefined();
  return Number(result.data.refreshAirQuality.id);
}

/** The headers of a JSON POST with the write token, as a script or a browser's fetch sends it. */
export const JSON_WITH_TOKEN = {
  'content-type': 'application/json',
  accept: 'application/json',
  ...withToken,
};

/** POSTs a request body, as it is, over real HTTP, with the write token. */
export function postWithToken(
  url: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { ...JSON_WITH_TOKEN, ...headers }, body });
}

/** POSTs an operation over real HTTP with the write token: the status and the parsed answer. */
export async function postOperation(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
) {
  const response = await postWithToken(url, JSON.stringify({ query, variables }));
  // biome-ignore lint/suspicious/noExplicitAny: whatever the server answered
  return { status: response.status, json: (await response.json()) as any };
}

/**
 * POSTs a JSON body chunked (transfer-encoding: chunked, no content-length), `chunkChars` at a
 * time as the socket takes them, and resolves with the status and the body of the answer. Writes
 * the server no longer reads fail once it has answered: the answer counts.
 */
export function postChunked(
  url: string,
  body: string,
  chunkChars: number,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
    });
    req.on('response', (res) => {
      let answer = '';
      res.on('data', (chunk) => {
        answer += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: answer }));
    });
    req.on('error', (error) => (req.writableEnded ? undefined : reject(error)));
    let offset = 0;
    const writeMore = () => {
      while (offset < body.length) {
        const chunk = body.slice(offset, offset + chunkChars);
        offset += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', writeMore);
          return;
        }
      }
      req.end();
    };
    writeMore();
    req.on('close', () => {
      offset = body.length;
    });
  });
}
