import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import {
  type AppDeps,
  type Context,
  createContextFactory,
  createWriteAccessCheck,
  type InitialContext,
} from '../context/context.js';
import { anonymousBodyRefused, payloadTooLarge } from '../errors/expected-errors.js';
import { useCompiledMutations } from '../plugins/use-compiled-mutations.js';
import { useDatabaseErrors } from '../plugins/use-database-errors.js';
import { useHealthEndpoints } from '../plugins/use-health-endpoints.js';
import { useItemLevelInputErrors } from '../plugins/use-item-level-input-errors.js';
import { useNoIntrospection } from '../plugins/use-no-introspection.js';
import { useOperationLimits } from '../plugins/use-operation-limits.js';
import { useWindowCache, type WindowCacheStats } from '../plugins/use-window-cache.js';
import { useWriteAccess } from '../plugins/use-write-access.js';
import { useWriteRateLimit, writerKeys } from '../plugins/use-write-rate-limit.js';
import { schema } from '../schema/index.js';
import { type BodyLimit, readBodyWithin } from './body-limit.js';
import { buildDashboard, DASHBOARD_OUT } from './dashboard-build.js';
import { createDashboardFiles } from './dashboard-files.js';
import { graphiqlTabs } from './graphiql-examples.js';
import { createLiveUpdates, type LiveStats } from './live-updates.js';

export type { AppDeps, Context } from '../context/context.js';
export type { WindowCacheStats } from '../plugins/use-window-cache.js';
export type { LiveStats } from './live-updates.js';

export interface App {
  readonly yoga: YogaServerInstance<InitialContext, Context>;
  /**
   * The one HTTP server: the dashboard at /, GraphQL at /graphql (GraphiQL for browsers, SSE for
   * subscriptions, graphql-ws on upgrade), /healthz, /readyz.
   */
  readonly server: Server;
  /** Counters of live updates: the poller's polls and statements, executions, connections. */
  liveStats(): LiveStats;
  /** Counters of the cache of whole answers that read the current windows. */
  windowCacheStats(): WindowCacheStats;
  /** Listens on the port (0: any free one) and resolves with the address. */
  start(port: number, host?: string): Promise<{ port: number; url: string }>;
  /**
   * Stops accepting connections, closes WebSockets and ends subscriptions, lets requests in
   * flight finish (cutting them after graceMs), and resolves when the server is closed and the
   * poller stopped. The pool belongs to the caller.
   */
  stop(graceMs?: number): Promise<void>;
}

const JSON_CONTENT = /^application\/json\s*(?:;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

/**
 * A JSON request body as the object it holds, parsed once here: handed to Yoga as it is, a 2 MB
 * batch is not turned back into a stream, piped through Yoga's byte counter (this server has
 * counted its bytes already) and decoded again. Only for what Yoga would read the same way (a
 * non-empty JSON object sent as application/json in UTF-8); anything else, malformed JSON
 * included, goes to Yoga as a stream and gets Yoga's own answer.
 */
function parsedJsonBody(req: IncomingMessage, body: Buffer): object | undefined {
  if (!JSON_CONTENT.test(req.headers['content-type'] ?? '')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return Object.keys(value).length > 0 ? value : undefined;
}

/** Builds the API on its dependencies; nothing here reads the environment or listens. */
export function buildApp(deps: AppDeps): App {
  const live = createLiveUpdates(deps);
  const writeAccessOf = createWriteAccessCheck(deps.config.apiTokens);
  const windowCache = useWindowCache({ poller: live.poller, schema });
  const yoga = createYoga<InitialContext, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    context: createContextFactory({ ...deps, poller: live.poller }),
    logging: deps.logger,
    landingPage: false,
    // GraphiQL's scripts and styles come with the package and are served inline, so that GraphiQL
    // works without access to a CDN (air-gapped hosts, offline laptops).
    renderGraphiQL,
    // Off: a browser's GET gets what any other client gets.
    graphiql: deps.config.graphiql
      ? () => ({ title: 'belair', defaultTabs: graphiqlTabs(), shouldPersistHeaders: true })
      : false,
    // Expected errors (GraphQLErrors with extensions.code) reach the client as they are; anything
    // else is masked as "Unexpected error." and Yoga logs it in full (with its cause and stack).
    maskedErrors: true,
    plugins: [
      useHealthEndpoints(deps.pool, {
        maxRunAgeSeconds: deps.config.readyMaxRunAgeSeconds,
        logger: deps.logger,
        ...(deps.reads ? { reads: deps.reads } : {}),
        isOperator: (authorization) => writeAccessOf(authorization).writeAccess === 'token',
      }),
      useOperationLimits(deps.config),
      ...(deps.config.introspection ? [] : [useNoIntrospection()]),
      // Before the plugins that change the variables or the executor: a refused write runs nothing,
      // and a write without a valid token is refused before anything of it is looked at.
      useWriteAccess(),
      // Before the write rate limit, which reads the primary: a budget that cannot be read is
      // DATABASE_UNAVAILABLE too.
      useDatabaseErrors(deps.logger),
      useWriteRateLimit({
        db: deps.pool,
        writerKeys: writerKeys(deps.config.apiTokens),
        perSecond: deps.config.writeRateLimit,
        burst: deps.config.writeRateBurst,
        ...(deps.clock ? { clock: deps.clock } : {}),
      }),
      useItemLevelInputErrors(),
      useCompiledMutations(),
      live.plugin,
      windowCache.plugin,
    ],
  });

  const dashboardDir = deps.dashboard?.dir ?? DASHBOARD_OUT;
  const dashboard = createDashboardFiles({
    dir: dashboardDir,
    logger: deps.logger,
    // Production mode serves what `npm run build` made: the image holds neither the page's
    // sources nor the tools that bundle it.
    ...(deps.dashboard?.build === false || deps.config.production
      ? {}
      : { ensureBuilt: () => buildDashboard({ outDir: dashboardDir }) }),
  });
  const { maxBodyBytes, maxAnonymousBodyBytes } = deps.config;
  /**
   * What may be read of a request's body. With a valid token, MAX_BODY_BYTES (a full batch).
   * Without one, MAX_ANONYMOUS_BODY_BYTES at most, and a body past it is refused before the rest
   * is read: an anonymous client must not make the server read, parse and check 8 MB to be told
   * that it needs a token.
   */
  const bodyLimitOf = (req: IncomingMessage): BodyLimit => {
    const { writeAccess } = writeAccessOf(req.headers.authorization || null);
    if (writeAccess === 'token') return { bytes: maxBodyBytes };
    if (maxAnonymousBodyBytes < maxBodyBytes) {
      return {
        bytes: maxAnonymousBodyBytes,
        refusal: anonymousBodyRefused(writeAccess, maxAnonymousBodyBytes),
      };
    }
    return { bytes: maxBodyBytes, refusal: payloadTooLarge(maxBodyBytes) };
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const body = await readBodyWithin(req, res, bodyLimitOf(req));
      if (body === null) return;
      // Yoga (@whatwg-node/server) takes a body already read from req.body: parsed JSON as it
      // is, anything else as a stream (not the Buffer itself: it inspects the object's keys, and
      // a Buffer has one per byte).
      (req as IncomingMessage & { body?: unknown }).body =
        parsedJsonBody(req, body) ?? Readable.from(body.length > 0 ? [body] : []);
    }
    if (await dashboard.handle(req, res)) return;
    if (!live.admit(req, res)) return;
    await yoga(req, res);
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      deps.logger.error('request failed outside GraphQL', error);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('Internal server error');
    });
  });
  live.mount(server, yoga);

  return {
    yoga,
    server,
    liveStats: () => live.stats(),
    windowCacheStats: () => windowCache.stats(),
    start(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          resolve({ port: address.port, url: `http://${shown}:${address.port}/graphql` });
        });
      });
    },
    async stop(graceMs = 10_000) {
      const closed = new Promise<void>((resolve, reject) => {
        if (!server.listening) {
          resolve();
          return;
        }
        const cut = setTimeout(() => server.closeAllConnections(), graceMs);
        cut.unref();
        server.close((error) => {
          clearTimeout(cut);
          void Promise.resolve(yoga.dispose()).finally(() => (error ? reject(error) : resolve()));
        });
        // Keep-alive connections with no request in flight would hold close() open.
        server.closeIdleConnections();
      });
      // Subscriptions never finish by themselves: end them, then close the connections they
      // leave idle.
      await live.close(Math.min(graceMs, 1000));
      server.closeIdleConnections();
      await closed;
    },
  };
}
