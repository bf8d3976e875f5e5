import { type LoadResult, loadTest } from '../lib/autocannon.js';
import { type Child, startChild } from '../lib/child.js';
import { type Profile, summarizeProfile } from '../lib/cpu-profile.js';
import { createBenchDatabase } from '../lib/database.js';
import { BELGIAN_LAYOUT, createStations } from '../lib/generate.js';
import { median } from '../lib/measure.js';
import { callRefresh, loadHistoryAndWindows } from '../lib/refresh-timing.js';
import { figure } from '../lib/result.js';
import type { Scenario, ScenarioContext } from '../lib/scenario.js';
import { serverEnv } from '../lib/server-env.js';

/**
 * Scenario 3, queries: requests/s and p50/p99 of airQuality for all cities with their pollutants
 * against the same server answering a constant query, load from autocannon in a process of its
 * own. Target ≥ 0.8×: the windows only change once per run, so a server that caches them per run
 * answers them nearly as fast as a constant.
 */

const CONSTANT = '{ __typename }';
export const AIR_QUALITY = `{ airQuality { city { name country } windowStart windowEnd belaqi eaqi
  pollutants { parameter unit average min max count locations latestMeasuredAt belaqi eaqi } } }`;

const WINDOW_END = new Date('2025-01-15T12:00:00.000Z');
/** One current window: 10 readings per series in its three hours. */
const WINDOW_ROWS = 10_000;
const CONNECTIONS = 10;
const TARGET = 0.8;

const meanRps = (list: readonly LoadResult[]) =>
  list.reduce((sum, r) => sum + r.requestsPerSecond, 0) / list.length;

const FULL = { rounds: 3, seconds: 5 };
const QUICK = { rounds: 1, seconds: 1 };

const body = (query: string) => JSON.stringify({ query });

async function checkAnswers(url: string): Promise<number> {
  const constant = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: body(CONSTANT),
  });
  const constantBody = (await constant.json()) as { data?: { __typename?: string } };
  if (constantBody.data?.__typename !== 'Query') {
    throw new Error(`constant query: ${JSON.stringify(constantBody)}`);
  }
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: body(AIR_QUALITY),
  });
  const answer = (await response.json()) as {
    data?: { airQuality: { pollutants: unknown[] }[] };
    errors?: unknown;
  };
  const cities = answer.data?.airQuality ?? [];
  if (answer.errors || cities.length !== BELGIAN_LAYOUT.cities) {
    throw new Error(`airQuality: ${JSON.stringify(answer).slice(0, 500)}`);
  }
  return cities.reduce((sum, city) => sum + city.pollutants.length, 0);
}

function check(name: string, result: LoadResult): LoadResult {
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${name}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  }
  return result;
}

async function run(context: ScenarioContext) {
  const started = Date.now();
  const sizes = context.quick ? QUICK : FULL;
  const judge = !context.quick;
  const bench = await createBenchDatabase(context.server, 'queries');
  const connection = await bench.connect();
  const env = serverEnv(bench.db);
  try {
    await createStations(connection, BELGIAN_LAYOUT);
    await loadHistoryAndWindows(connection, 0, WINDOW_END, [
      { end: WINDOW_END, rows: WINDOW_ROWS },
    ]);
    await callRefresh(connection, WINDOW_END);

    const server = await startChild<{ port: number }>('servers/api-server.ts', { env });
    const url = `http://127.0.0.1:${server.ready.port}/graphql`;
    const results = { constant: [] as LoadResult[], airQuality: [] as LoadResult[] };
    let rows = 0;
    let profile: string | undefined;
    try {
      rows = await checkAnswers(url);
      context.log(`warming up, then ${sizes.rounds} rounds of ${sizes.seconds} s per query`);
      await loadTest({ url, body: body(AIR_QUALITY), seconds: 1, connections: CONNECTIONS });
      for (let round = 0; round < sizes.rounds; round += 1) {
        // Alternate which query goes first in a round, so that neither always follows the other.
        const order =
          round % 2 === 0
            ? (['constant', 'airQuality'] as const)
            : (['airQuality', 'constant'] as const);
        for (const name of order) {
          const query = name === 'constant' ? CONSTANT : AIR_QUALITY;
          results[name].push(
            check(
              name,
              await loadTest({
                url,
                body: body(query),
                seconds: sizes.seconds,
                connections: CONNECTIONS,
              }),
            ),
          );
        }
      }
      const ratio = meanRps(results.airQuality) / meanRps(results.constant);
      // A smoke run takes the profile too, so that CI exercises that path.
      if (context.quick || ratio < TARGET) {
        context.log('profiling the server under the airQuality load');
        profile = await profileAirQuality(server, url, sizes.seconds);
      }
    } finally {
      await server.stop();
    }

    const p = (list: LoadResult[], key: 'p50' | 'p99') => median(list.map((r) => r[key]));
    const figures = [
      figure({
        measure: `airQuality, all ${BELGIAN_LAYOUT.cities} cities with their pollutants (${rows} rows)`,
        value: meanRps(results.airQuality),
        unit: 'req/s',
        baseline: { measure: 'constant query { __typename }', value: meanRps(results.constant) },
        ratioAtLeast: TARGET,
        judge,
      }),
      figure({
        measure: 'airQuality p50 latency',
        value: p(results.airQuality, 'p50'),
        unit: 'ms',
        baseline: { measure: 'constant query', value: p(results.constant, 'p50') },
        judge,
      }),
      figure({
        measure: 'airQuality p99 latency',
        value: p(results.airQuality, 'p99'),
        unit: 'ms',
        baseline: { measure: 'constant query', value: p(results.constant, 'p99') },
        judge,
      }),
    ];
    return {
      scenario: 'queries',
      title: '3. Queries: airQuality against a constant query on the same server',
      figures,
      notes: [
        `autocannon in a process of its own, ${CONNECTIONS} connections, POST /graphql; ` +
          `${sizes.rounds} rounds of ${sizes.seconds} s per query, the queries taking turns, ` +
          'after a 1 s warm-up; req/s is the mean of the rounds, latencies the median of the ' +
          'rounds. The server is the API (buildApp) in a process of its own, on a database with ' +
          `one current run of ${BELGIAN_LAYOUT.cities} cities × ${BELGIAN_LAYOUT.pollutants.length} pollutants.`,
      ],
      ...(profile
        ? {
            profile: `The API process under ${sizes.seconds} s more of the airQuality load (V8 CPU profile):\n\n${profile}`,
          }
        : {}),
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    await connection.end();
    await bench.drop();
  }
}

/** Runs the airQuality load once more, the server's CPU profiled for the length of the load. */
async function profileAirQuality(server: Child, url: string, seconds: number): Promise<string> {
  await server.request('profileStart');
  await loadTest({ url, body: body(AIR_QUALITY), seconds, connections: CONNECTIONS });
  return summarizeProfile(await server.request<Profile>('profileStop'));
}

export const queries: Scenario = { name: 'queries', run };
