import { createSchema, createYoga } from 'graphql-yoga';
import mysql from 'mysql2/promise';
import { beforeAll, describe, expect, it } from 'vitest';
import { useCompiledMutations } from '../../src/plugins/use-compiled-mutations.js';
import { useDatabaseErrors } from '../../src/plugins/use-database-errors.js';
import { recordingLogger } from '../helpers/app.js';
import { closedPort } from '../helpers/closed-port.js';

/**
 * The plugin on a small schema whose resolvers throw what mysql2 really throws when MariaDB
 * cannot be reached, so that every executor and a subscription's later events can be made to
 * fail on demand (the API's own outage tests cannot stop an event's execution half-way).
 */
let refused: Error;

beforeAll(async () => {
  refused = await mysql.createConnection({ host: '127.0.0.1', port: await closedPort() }).then(
    () => {
      throw new Error('expected a refusal');
    },
    (error: Error) => error,
  );
});

function buildYoga() {
  const logger = recordingLogger();
  const yoga = createYoga({
    schema: createSchema({
      typeDefs: /* GraphQL */ `
        type Query { reads: Int! bug: Int! }
        type Mutation { writes: Int! }
        type Subscription { ticks: Tick! }
        type Tick { n: Int! value: Int! }
      `,
      resolvers: {
        Query: {
          reads: () => Promise.reject(refused),
          bug: () => Promise.reject(new Error('a bug')),
        },
        Mutation: { writes: () => Promise.reject(refused) },
        Subscription: {
          ticks: {
            async *subscribe() {
              for (const n of [1, 2, 3]) yield { ticks: { n } };
            },
          },
        },
        Tick: {
          value: ({ n }: { n: number }) => (n === 2 ? Promise.reject(refused) : n * 10),
        },
      },
    }),
    logging: logger,
    maskedErrors: true,
    plugins: [useCompiledMutations(), useDatabaseErrors(logger)],
  });
  return { yoga, logger, warnings: logger.warnings };
}

const post = (
  yoga: ReturnType<typeof buildYoga>['yoga'],
  query: string,
  accept = 'application/json',
) =>
  yoga.fetch('http://belair.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept },
    body: JSON.stringify({ query }),
  });

const RETRY = 'Try again in 5 seconds or so; GET /readyz says when the service is ready again.';

describe('useDatabaseErrors', () => {
  it('maps a query (graphql-js) and a mutation (graphql-jit), and leaves other errors masked', async () => {
    const { yoga, logger, warnings } = buildYoga();
    const query = await post(yoga, '{ reads }');
    expect(query.status).toBe(503);
    expect(query.headers.get('retry-after')).toBe('5');
    expect(await query.json()).toEqual({
      data: null,
      errors: [
        {
          message: `The database is unavailable (connection refused). ${RETRY}`,
          locations: [{ line: 1, column: 3 }],
          path: ['reads'],
          extensions: { code: 'DATABASE_UNAVAILABLE', retryable: true },
        },
      ],
    });
    const mutation = await post(yoga, 'mutation { writes }');
    expect(mutation.status).toBe(503);
    expect((await mutation.json()).errors).toEqual([
      expect.objectContaining({
        message: `The database is unavailable (connection refused). The write was not done (nothing of it was stored): send it again. ${RETRY}`,
        extensions: { code: 'DATABASE_UNAVAILABLE', retryable: true },
      }),
    ]);
    expect(warnings).toEqual([
      expect.stringMatching(
        /^database unavailable in query \(anonymous\) at reads: .*ECONNREFUSED/,
      ),
      expect.stringMatching(
        /^database unavailable in mutation \(anonymous\) at writes: .*ECONNREFUSED/,
      ),
    ]);
    expect(logger.errors).toEqual([]);

    const bug = await post(yoga, '{ bug }');
    expect((await bug.json()).errors).toEqual([
      expect.objectContaining({
        message: 'Unexpected error.',
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      }),
    ]);
    expect(logger.errors).toHaveLength(1);
  });

  it('maps the event of a subscription that fails, and the next events still come', async () => {
    const { yoga } = buildYoga();
    const response = await post(yoga, 'subscription { ticks { n value } }', 'text/event-stream');
    const events = (await response.text())
      .split('\n')
      .filter((line) => line.startsWith('data: '))
      .map((line) => JSON.parse(line.slice(6)));
    expect(events).toEqual([
      { data: { ticks: { n: 1, value: 10 } } },
      {
        data: null,
        errors: [
          {
            message: `The database is unavailable (connection refused). ${RETRY}`,
            locations: [{ line: 1, column: 26 }],
            path: ['ticks', 'value'],
            extensions: { code: 'DATABASE_UNAVAILABLE', retryable: true },
          },
        ],
      },
      { data: { ticks: { n: 3, value: 30 } } },
    ]);
  });
});
