import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import type { YogaLogger } from 'graphql-yoga';
import type { RowDataPacket } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/config.js';
import { createPool } from '../src/db/pool.js';
import { schema } from '../src/schema/index.js';
import { buildApp } from '../src/server/app.js';
import { graphql, testApp } from './helpers/app.js';
import { useTestDatabase } from './helpers/database.js';
import { wsClient, wsSubscribe } from './helpers/live-clients.js';
import { ingestMutation, measurement, minutesAgo } from './helpers/measurements.js';

const t = useTestDatabase(import.meta.filename);

// Distinctive texts, so that finding them anywhere means they leaked.
const TOKEN = `right-${randomBytes(16).toString('hex')}`;
const WRONG = `wrong-${randomBytes(16).toString('hex')}`;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Rows of every table a write can touch. */
async function rows(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of [
    'city',
    'location',
    'measurement',
    'air_quality_run',
    'city_air_quality',
    'feed_progress',
  ]) {
    const [[row]] = await t.pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${table}`);
    counts[table] = Number(row?.n);
  }
  return counts;
}

const measuredAt = () => minutesAgo(60);

/**
 * One valid call of each Mutation field, and what it changes when it succeeds. A new Mutation
 * field fails the first test until it has a line here, and then the second proves it needs a token.
 */
const MUTATIONS: Record<string, { query: string; variables: () => Record<string, unknown> }> = {
  ingestMeasurements: {
    query: ingestMutation('received inserted'),
    variables: () => ({ m: [measurement('Authville', 'AUTH1', 'PM10', 12, measuredAt())] }),
  },
  refreshAirQuality: {
    query: 'mutation { refreshAirQuality { cities } }',
    variables: () => ({}),
  },
  recordFeedProgress: {
    query:
      'mutation($p: [FeedProgressInput!]!) { recordFeedProgress(feed: "irceline", progress: $p) }',
    variables: () => ({ p: [{ series: 'AUTH1', fetchedUntil: measuredAt() }] }),
  },
};

describe('every write needs a token', () => {
  it('knows every Mutation field of the schema', () => {
    const fields = Object.keys(schema.getMutationType()?.getFields() ?? {});
    expect(fields.sort()).toEqual(Object.keys(MUTATIONS).sort());
  });

  it('refuses each Mutation field without a token, with a wrong one and without API_TOKENS, storing nothing', async () => {
    const app = testApp(t, { API_TOKENS: TOKEN });
    const disabled = testApp(t, { API_TOKENS: '' });
    const wsApp = testApp(t, { API_TOKENS: TOKEN });
    const { port } = await wsApp.start(0, '127.0.0.1');
    try {
      for (const [field, { query, variables }] of Object.entries(MUTATIONS)) {
        const before = await rows();
        const refusals = [
          { app, headers: {}, code: 'UNAUTHENTICATED', status: 401 },
          { app, headers: bearer(WRONG), code: 'UNAUTHENTICATED', status: 401 },
          { app, headers: { authorization: TOKEN }, code: 'UNAUTHENTICATED', status: 401 },
          { app: disabled, headers: bearer(TOKEN), code: 'FORBIDDEN', status: 403 },
        ];
        for (const { app: server, headers, code, status } of refusals) {
          const refused = await graphql(server, query, variables(), headers);
          expect(refused.status, `${field} ${JSON.stringify(headers)}`).toBe(status);
          expect(refused.data).toBeNull();
          expect(refused.errors).toEqual([
            expect.objectContaining({ path: [field], extensions: { code } }),
          ]);
        }
        // Over graphql-ws, a wrong token in connectionParams.
        const client = wsClient(`ws://127.0.0.1:${port}/graphql`, {
          connectionParams: bearer(WRONG),
        });
        const overWs = wsSubscribe(client, { query, variables: variables() });
        await overWs.until((r) => r.completed, 'the answer');
        await client.dispose();
        expect(overWs.results).toEqual([
          {
            data: null,
            errors: [
              expect.objectContaining({ path: [field], extensions: { code: 'UNAUTHENTICATED' } }),
            ],
          },
        ]);
        expect(await rows(), field).toEqual(before);

        const allowed = await graphql(app, query, variables(), bearer(TOKEN));
        expect(allowed.errors, field).toBeUndefined();
        expect(allowed.data[field]).not.toBeNull();
        expect(await rows(), field).not.toEqual(before);
      }
    } finally {
      await wsApp.stop(1000);
    }
  });
});

/** A logger that keeps every line at every level, as text with stacks and causes. */
function capturingLogger(): YogaLogger & { text(): string } {
  const lines: string[] = [];
  const keep =
    (level: string) =>
    (...args: unknown[]) =>
      void lines.push(`${level} ${args.map((a) => inspect(a, { depth: 10 })).join(' ')}`);
  return {
    debug: keep('debug'),
    info: keep('info'),
    warn: keep('warn'),
    error: keep('error'),
    text: () => lines.join('\n'),
  };
}

describe('tokens never reach the logs', () => {
  it('logs no token at LOG_LEVEL debug: writes, refusals, an unexpected failure, graphql-ws', async () => {
    const logger = capturingLogger();
    const config = { ...loadConfig({ API_TOKENS: TOKEN, LOG_LEVEL: 'debug' }), db: t.db };
    expect(config.logLevel).toBe('debug');
    const app = buildApp({ pool: t.pool, config, logger });
    // A pool on a database without belair's tables: every statement fails with an error nobody
    // expected (an unreachable database would be the expected DATABASE_UNAVAILABLE instead).
    const broken = createPool({ ...t.db, database: 'mysql' }, 1);
    const failing = buildApp({ pool: broken, config, logger });
    const { port } = await app.start(0, '127.0.0.1');
    try {
      const { query, variables } = MUTATIONS.ingestMeasurements as (typeof MUTATIONS)[string];
      const stored = await graphql(app, query, variables(), bearer(TOKEN));
      expect(stored.data.ingestMeasurements.received).toBe(1);
      const wrong = await graphql(app, query, variables(), bearer(WRONG));
      expect(wrong.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      const unexpected = await graphql(failing, query, variables(), bearer(TOKEN));
      expect(unexpected.errors).toEqual([
        expect.objectContaining({
          message: 'Unexpected error.',
          extensions: { code: 'INTERNAL_SERVER_ERROR' },
        }),
      ]);
      const syntax = await graphql(app, 'mutation {', {}, bearer(TOKEN));
      expect(syntax.errors?.[0]?.message).toBe('Syntax Error: Expected Name, found <EOF>.');

      const client = wsClient(`ws://127.0.0.1:${port}/graphql`, {
        connectionParams: bearer(TOKEN),
      });
      const refresh = MUTATIONS.refreshAirQuality as (typeof MUTATIONS)[string];
      const overWs = wsSubscribe(client, { query: refresh.query, variables: refresh.variables() });
      await overWs.until((r) => r.completed, 'the answer');
      await client.dispose();
      expect(overWs.results[0]?.errors).toBeUndefined();
    } finally {
      await app.stop(1000);
      await broken.end();
    }

    const logged = logger.text();
    // The logger was really at work: the unexpected failure is there in full, and debug lines.
    expect(logged).toContain("Table 'mysql.");
    expect(logged).toMatch(/^debug /m);
    expect(logged).not.toContain(TOKEN);
    expect(logged).not.toContain(WRONG);
  });

  it('shows no token in a failing configuration message', () => {
    let message = '';
    try {
      loadConfig(
        {
          API_TOKENS: `${TOKEN},${WRONG}`,
          NODE_ENV: 'production',
          PORT: TOKEN,
          DATABASE_URL: `mysql://[${TOKEN}`,
          WRITE_RATE_BURST: '1',
        },
        { server: true },
      );
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      message = error.message;
    }
    expect(message).toMatch(/^Invalid configuration:\n {2}- PORT: must be a whole number/);
    expect(message).not.toContain(TOKEN);
    expect(message).not.toContain(WRONG);
  });
});
