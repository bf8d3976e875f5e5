import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { printSchemaText } from '../src/schema/print.js';
import { graphiqlTabs } from '../src/server/graphiql-examples.js';
import {
  graphql,
  refreshMutation as refreshThroughApp,
  TOKEN,
  useApp,
  withToken,
} from './helpers/app.js';
import { countingPool } from './helpers/counting-pool.js';
import {
  callRefresh as callRefreshElsewhere,
  connect,
  useTestDatabase,
  withEventScheduler,
} from './helpers/database.js';
import {
  type Operation,
  type Received,
  rawWsMessages,
  sseSubscribe,
  until,
  wsClient,
  wsSubscribe,
} from './helpers/live-clients.js';
import { ingestMutation, measurement, minutesAgo } from './helpers/measurements.js';
import { useProxiedPool } from './helpers/tcp-proxy.js';

const t = useTestDatabase(import.meta.filename);
// The app reaches MariaDB through a proxy the outage test cuts; the test itself goes direct.
const proxied = useProxiedPool(t, 8);
/** The app's pool, recording every statement sent through it. */
let counted: ReturnType<typeof countingPool>;
const api = useApp(t, () => {
  counted = countingPool(proxied.pool);
  return {
    env: { POLL_INTERVAL_MS: '50' },
    // Queries keep the poller running for 100 ms only, so that each test ends with it stopped.
    options: { pool: counted.pool, live: { maxBackoffMs: 400, queryIdleMs: 100 } },
  };
});
const open: { dispose: () => unknown }[] = [];
const liveStats = () => api.app.liveStats();

const FIELDS = `city { name country latitude longitude } run { id evaluatedAt } windowStart windowEnd
  belaqi eaqi pollutants { parameter unit average min max count locations latestMeasuredAt belaqi eaqi }`;
const WINDOWS: Operation = {
  query: `subscription Windows($cities: [String!]) { airQuality(cities: $cities) { ${FIELDS} } }`,
  variables: { cities: ['Antwerpen', 'Gent'] },
};
const RUNS: Operation = { query: 'subscription { airQualityRuns { id evaluatedAt } }' };

async function ingest(measurements: ReturnType<typeof measurement>[]) {
  const result = await graphql(
    api.app,
    ingestMutation('inserted rejected { reason }'),
    { m: measurements },
    withToken,
  );
  expect(result.data.ingestMeasurements).toEqual({ inserted: measurements.length, rejected: [] });
}

/** What Query.airQuality answers for the two cities, in the subscription's shape. */
async function queriedWindows() {
  const result = await graphql(
    api.app,
    `query ($cities: [String!]) { airQuality(cities: $cities) { ${FIELDS} } }`,
    WINDOWS.variables,
  );
  expect(result.errors).toBeUndefined();
  // biome-ignore lint/suspicious/noExplicitAny: compared as a whole with what was pushed
  return result.data.airQuality as any[];
}

/** A run through the app's own mutation. */
const refreshMutation = (at?: string) => refreshThroughApp(api.app, at);

/** A run as another client (Adminer, a script) would make it, past the app's pool. */
const callRefresh = () => callRefreshElsewhere(t.db);

/** The windows pushed to one subscription, city by city, as run ids. */
function runsByCity(received: Received): Record<string, number[]> {
  const runs: Record<string, number[]> = {};
  for (const window of received.values('airQuality')) {
    const name = window.city.name as string;
    runs[name] ??= [];
    runs[name].push(Number(window.run.id));
  }
  return runs;
}

/** The last window pushed for a city. */
function lastWindow(received: Received, city: string) {
  return received
    .values('airQuality')
    .filter((window) => window.city.name === city)
    .at(-1);
}

function hasRun(received: Received, runId: number) {
  return ['Antwerpen', 'Gent'].every(
    (city) => Number(lastWindow(received, city)?.run.id) === runId,
  );
}

function subscribeOverWs(operation: Operation) {
  const client = wsClient(api.wsUrl);
  const received = wsSubscribe(client, operation);
  const handle = { dispose: () => client.dispose() };
  open.push(handle);
  return received;
}

function subscribeOverSse(operation: Operation) {
  const received = sseSubscribe(api.url, operation);
  open.push(received);
  return received;
}

/** Resolves when no subscription listens and the poller has stopped. */
function untilIdle() {
  return until(() => {
    const { poller: feed, connections } = liveStats();
    return (
      feed.listeners === 0 &&
      feed.waiting === 0 &&
      !feed.timerActive &&
      !feed.polling &&
      connections.webSockets === 0 &&
      connections.eventStreams === 0
    );
  }, 'every subscription to end and the poller to stop');
}

beforeAll(async () => {
  await ingest([
    measurement('Antwerpen', 'BETR801', 'PM10', 20, minutesAgo(30)),
    measurement('Antwerpen', 'BETR802', 'NO2', 25, minutesAgo(40)),
    measurement('Gent', 'BETN012', 'PM25', 7.5, minutesAgo(20)),
    measurement('Leuven', 'BETL001', 'PM10', 12, minutesAgo(10)),
  ]);
  await t.pool.query(
    "UPDATE location SET latitude = 51.2, longitude = 4.4 WHERE name IN ('BETR801', 'BETR802')",
  );
  await refreshMutation();
});

afterEach(async () => {
  for (const handle of open.splice(0)) await handle.dispose();
  await untilIdle();
});

describe('Subscription', () => {
  it('is the GraphQL contract of docs/architecture.md', () => {
    const sdl = printSchemaText().replace(/ *"""[\s\S]*?"""\n/g, '');
    expect(sdl).toContain('type Subscription {');
    expect(sdl).toContain('  airQuality(cities: [String!], country: String): CityAirQuality!\n');
    expect(sdl).toContain('  airQualityRuns: AirQualityRun!\n');
  });

  it('pushes over graphql-ws and SSE: the current windows at once, then those of the EVENT and of refreshAirQuality, equal to the query', async () => {
    const viaWs = subscribeOverWs(WINDOWS);
    const viaSse = subscribeOverSse(WINDOWS);
    const initial = await queriedWindows();
    expect(initial.map((w) => w.city.name)).toEqual(['Antwerpen', 'Gent']);
    for (const received of [viaWs, viaSse]) {
      await received.until((r) => r.results.length === 2, 'the current windows');
      expect(received.values('airQuality')).toEqual(initial);
    }
    expect(initial[0]).toMatchObject({
      city: { name: 'Antwerpen', country: 'BE', latitude: 51.2, longitude: 4.4 },
      pollutants: [
        { parameter: 'NO2', average: 25 },
        { parameter: 'PM10', average: 20 },
      ],
    });

    // The EVENT itself, rescheduled to every second in this test's database.
    const firstRun = Number(initial[0]?.run.id);
    await ingest([measurement('Antwerpen', 'BETR801', 'PM10', 44, minutesAgo(5))]);
    await withEventScheduler('ON', async () => {
      await t.pool.query('ALTER EVENT refresh_air_quality ON SCHEDULE EVERY 1 SECOND ENABLE');
      try {
        for (const received of [viaWs, viaSse]) {
          await received.until(
            (r) => r.values('airQuality').some((w) => Number(w.run.id) > firstRun),
            'a window of a run of the event',
          );
        }
      } finally {
        await t.pool.query('ALTER EVENT refresh_air_quality DISABLE');
      }
    });
    // A run the event started before it was disabled holds the procedure's lock until it commits.
    const settle = await connect(t.db);
    await settle.query("DO GET_LOCK(belair_lock_name('refresh_air_quality'), 30)");
    await settle.end();
    // Queries answer from the feed's snapshot, at most one poll interval behind MariaDB: wait for
    // a poll that started after the last run.
    const polled = liveStats().poller.polls;
    await until(() => liveStats().poller.polls >= polled + 2, 'a poll after the last run');
    const byEvent = await queriedWindows();
    const eventRun = Number(byEvent[0]?.run.id);
    expect(eventRun).toBeGreaterThan(firstRun);
    expect(byEvent[0]?.pollutants).toContainEqual(
      expect.objectContaining({ parameter: 'PM10', average: 32, count: 2 }),
    );
    for (const received of [viaWs, viaSse]) {
      await received.until((r) => hasRun(r, eventRun), `the windows of run ${eventRun}`);
      expect([lastWindow(received, 'Antwerpen'), lastWindow(received, 'Gent')]).toEqual(byEvent);
    }

    // The mutation.
    const mutationRun = await refreshMutation();
    const byMutation = await queriedWindows();
    expect(Number(byMutation[0]?.run.id)).toBe(mutationRun);
    for (const received of [viaWs, viaSse]) {
      await received.until((r) => hasRun(r, mutationRun), `the windows of run ${mutationRun}`);
      expect([lastWindow(received, 'Antwerpen'), lastWindow(received, 'Gent')]).toEqual(byMutation);
      // Every push is a newer run than the one before it, city by city: nothing pushed twice.
      for (const runs of Object.values(runsByCity(received))) {
        expect(runs).toEqual([...new Set(runs)].sort((a, b) => a - b));
      }
      expect(received.failures).toEqual([]);
      expect(received.completed).toBe(false);
    }
    // withEventScheduler may wait its turn behind other test runs on the same server.
  }, 360_000);

  it('costs the same statements per poll and one execution per event for 1 and for 500 subscribers', async () => {
    const counters = () => {
      const { poller: feed, execution, graphqlWs } = liveStats();
      return {
        statements: counted.statements.length,
        feedStatements: feed.statements,
        polls: feed.polls,
        loads: feed.loads,
        executions: execution.executions,
        deliveries: execution.deliveries,
        serialisations: graphqlWs.serialisations,
        written: graphqlWs.written,
      };
    };
    const delta = (before: ReturnType<typeof counters>, after: ReturnType<typeof counters>) => {
      const d = Object.fromEntries(
        Object.entries(after).map(([key, value]) => [
          key,
          value - before[key as keyof typeof before],
        ]),
      ) as ReturnType<typeof counters>;
      return { ...d, statementsPerPoll: (d.statements - d.loads) / d.polls };
    };
    const push = async (subscriptions: Received[]) => {
      const before = counters();
      const run = await callRefresh();
      for (const received of subscriptions) {
        await received.until((r) => hasRun(r, run), `the windows of run ${run}`);
      }
      return delta(before, counters());
    };

    const one = [subscribeOverWs(WINDOWS)];
    await one[0]?.until((r) => r.results.length === 2, 'the current windows');
    const forOne = await push(one);

    // 499 more over ten sockets: joining costs no statement and no execution (the windows
    // executed for the first subscriber are reused).
    const beforeJoining = counters();
    const many = [...one];
    for (let socket = 0; socket < 10; socket += 1) {
      const client = wsClient(api.wsUrl);
      open.push({ dispose: () => client.dispose() });
      for (let i = 0; i < (socket === 0 ? 49 : 50); i += 1) many.push(wsSubscribe(client, WINDOWS));
    }
    for (const received of many) {
      await received.until((r) => r.results.length >= 2, 'the current windows');
    }
    const joining = delta(beforeJoining, counters());
    expect(many).toHaveLength(500);
    expect(liveStats().poller.listeners).toBe(500);
    expect(joining.executions).toBe(0);
    expect(joining.deliveries).toBe(2 * 499);
    expect(joining.statements).toBe(joining.polls);

    const forMany = await push(many);
    for (const d of [forOne, forMany]) {
      // One statement a poll, one load of the new run, all of them the feed's.
      expect(d.polls).toBeGreaterThan(0);
      expect(d.statementsPerPoll).toBe(1);
      expect(d.loads).toBe(1);
      expect(d.statements).toBe(d.feedStatements);
      // One execution per city window, however many subscribers receive it.
      expect(d.executions).toBe(2);
    }
    expect(forOne.deliveries).toBe(2);
    expect(forMany.deliveries).toBe(1000);
    // Each city's window serialised once, and written to each of the 500 subscribers.
    expect(forMany.serialisations).toBe(2);
    expect(forMany.written).toBe(1000);
    expect(liveStats().graphqlWs).toMatchObject({ subscriptions: 500, unflushed: 0 });
    const values = many.map((received) => received.results.slice(-2));
    for (const value of values) expect(value).toEqual(values[0]);
  });

  it('stops polling when the last subscriber leaves, and polls afresh when one comes', async () => {
    const first = subscribeOverWs(RUNS);
    await first.until((r) => r.results.length === 1, 'the current run');
    const running = liveStats().poller;
    expect(running.timerActive || running.polling).toBe(true);
    const before = Number(first.values('airQualityRuns')[0].id);
    await open.splice(0)[0]?.dispose();
    await untilIdle();

    // While nobody listens, a run lands: the poller does not see it...
    const stopped = liveStats().poller;
    const run = await callRefresh();
    expect(run).toBeGreaterThan(before);
    expect(liveStats().poller).toEqual(stopped);
    expect(stopped.currentRunId).toBe(before);

    // ...and the next subscriber waits for a fresh poll instead of the stale snapshot.
    const next = subscribeOverWs(RUNS);
    await next.until((r) => r.results.length === 1, 'the current run');
    expect(next.values('airQualityRuns')).toEqual([
      { id: String(run), evaluatedAt: expect.any(String) },
    ]);
    const restarted = liveStats().poller;
    expect(restarted.polls).toBeGreaterThan(stopped.polls);
    expect(restarted.timerActive || restarted.polling).toBe(true);
  });

  it('leaves no listener, timer or iterator behind 1,000 sockets opened and closed', async () => {
    const clients = Array.from({ length: 1000 }, () => wsClient(api.wsUrl));
    const subscriptions = clients.map((client, i) =>
      wsSubscribe(client, i % 2 === 0 ? RUNS : WINDOWS),
    );
    const streams = Array.from({ length: 20 }, () => subscribeOverSse(RUNS));
    for (const received of [...subscriptions, ...streams]) {
      await received.until((r) => r.results.length >= 1, 'a first push');
    }
    const stats = liveStats();
    expect(stats.poller.listeners).toBe(1020);
    expect(stats.connections).toMatchObject({ webSockets: 1000, eventStreams: 20 });

    for (const client of clients) await client.dispose();
    for (const stream of streams) stream.dispose();
    open.splice(0);
    await untilIdle();
    expect(liveStats().poller).toMatchObject({
      listeners: 0,
      waiting: 0,
      timerActive: false,
      polling: false,
    });
    for (const received of subscriptions) expect(received.failures).toEqual([]);
  });

  it('sends subscribers of the same operation byte-identical payloads, the JSON of the windows', async () => {
    const [a, b] = await Promise.all([
      rawWsMessages(api.wsUrl, 'a', WINDOWS, 2),
      rawWsMessages(api.wsUrl, 'b', WINDOWS, 2),
    ]);
    /** The text of each message's payload member, the envelope checked and cut off. */
    const payloads = (id: string, messages: string[]) =>
      messages.map((text) => {
        const envelope = `{"id":"${id}","type":"next","payload":`;
        expect(text.startsWith(envelope) && text.endsWith('}')).toBe(true);
        return text.slice(envelope.length, -1);
      });
    const windows = await queriedWindows();
    const expected = windows.map((window) => JSON.stringify({ data: { airQuality: window } }));
    expect(payloads('a', a)).toEqual(expected);
    expect(payloads('b', b)).toEqual(expected);
  });

  it('pushes nothing for a backfill run', async () => {
    const runs = subscribeOverWs(RUNS);
    const windows = subscribeOverWs(WINDOWS);
    await runs.until((r) => r.results.length === 1, 'the current run');
    await windows.until((r) => r.results.length === 2, 'the current windows');
    const current = Number(runs.values('airQualityRuns')[0].id);

    const backfill = await refreshMutation(minutesAgo(60));
    expect(backfill).toBeGreaterThan(current);
    const polls = liveStats().poller.polls;
    await until(() => liveStats().poller.polls >= polls + 3, 'three polls after the backfill');
    expect(liveStats().poller.currentRunId).toBe(current);

    const next = await refreshMutation();
    await runs.until((r) => r.results.length === 2, 'the next run');
    await windows.until((r) => hasRun(r, next), 'the next windows');
    expect(runs.values('airQualityRuns').map((run) => Number(run.id))).toEqual([current, next]);
    expect(runsByCity(windows)).toEqual({ Antwerpen: [current, next], Gent: [current, next] });
  });

  it('keeps subscriptions open while MariaDB is unreachable, then pushes what changed, once', async () => {
    const viaWs = subscribeOverWs(WINDOWS);
    const viaSse = subscribeOverSse(RUNS);
    await viaWs.until((r) => r.results.length === 2, 'the current windows');
    await viaSse.until((r) => r.results.length === 1, 'the current run');
    const before = Number(viaSse.values('airQualityRuns')[0].id);
    const warnings = api.app.logger.warnings.length;
    const infos = api.app.logger.infos.length;

    proxied.proxy.cut();
    await until(() => liveStats().poller.failedPolls >= 2, 'failed polls');
    expect(liveStats().poller.down).toBe(true);
    // Two runs while the feed cannot see them: only the last one is current when it is back.
    const missed = await callRefresh();
    const latest = await callRefresh();
    expect(latest).toBeGreaterThan(missed);
    const failed = liveStats().poller.failedPolls;
    await until(() => liveStats().poller.failedPolls >= failed + 2, 'more failed polls');
    proxied.proxy.restore();

    await viaWs.until((r) => hasRun(r, latest), `the windows of run ${latest}`);
    await viaSse.until((r) => r.results.length === 2, `run ${latest}`);
    const after = await callRefresh();
    await viaWs.until((r) => hasRun(r, after), `the windows of run ${after}`);
    await viaSse.until((r) => r.results.length === 3, `run ${after}`);

    expect(runsByCity(viaWs)).toEqual({
      Antwerpen: [before, latest, after],
      Gent: [before, latest, after],
    });
    expect(viaSse.values('airQualityRuns').map((run) => Number(run.id))).toEqual([
      before,
      latest,
      after,
    ]);
    for (const received of [viaWs, viaSse]) {
      expect(received.failures).toEqual([]);
      expect(received.completed).toBe(false);
    }
    expect(api.app.logger.warnings.slice(warnings)).toEqual([
      expect.stringMatching(/^live updates: MariaDB does not answer \(.+\); retrying with backoff/),
    ]);
    expect(api.app.logger.infos.slice(infos)).toEqual([
      expect.stringMatching(/^live updates: MariaDB answers again after \d+ failed polls$/),
    ]);
    expect(api.app.logger.errors).toEqual([]);
  });

  it('serves the GraphiQL subscription tab over SSE, and SSE by GET as an EventSource sends it', async () => {
    const tab = graphiqlTabs().find((example) => example.query.startsWith('# Each new window'));
    expect(tab).toBeDefined();
    const viaGraphiql = subscribeOverSse({ query: tab?.query ?? '' });
    await viaGraphiql.until((r) => r.results.length === 1, 'the window of Antwerpen');
    const current = (await queriedWindows())[0];
    expect(viaGraphiql.values('airQuality')).toEqual([
      {
        city: { name: 'Antwerpen' },
        run: { evaluatedAt: current?.run.evaluatedAt },
        belaqi: expect.any(Number),
        eaqi: expect.any(String),
        pollutants: [
          { parameter: 'NO2', average: 25 },
          { parameter: 'PM10', average: 32 },
        ],
      },
    ]);

    const query = 'subscription { airQualityRuns { id } }';
    const controller = new AbortController();
    const response = await fetch(`${api.url}?query=${encodeURIComponent(query)}`, {
      headers: { accept: 'text/event-stream' },
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while (!text.includes('\n\n', text.indexOf('event: next'))) {
      const { value } = await reader.read();
      text += new TextDecoder().decode(value);
    }
    expect(text).toContain(
      `event: next\ndata: {"data":{"airQualityRuns":{"id":"${current?.run.id}"}}}\n\n`,
    );
    controller.abort();
  });

  it('runs queries and mutations over graphql-ws, with the token from connectionParams', async () => {
    const mutation = { query: 'mutation { refreshAirQuality { id } }' };
    const anonymous = wsClient(api.wsUrl);
    const withParams = wsClient(api.wsUrl, {
      connectionParams: { Authorization: `Bearer ${TOKEN}` },
    });
    open.push({ dispose: () => anonymous.dispose() }, { dispose: () => withParams.dispose() });
    const refused = wsSubscribe(anonymous, mutation);
    const refreshed = wsSubscribe(withParams, mutation);
    for (const received of [refused, refreshed]) {
      await received.until((r) => r.completed, 'the answer');
    }
    const query = wsSubscribe(anonymous, { query: '{ airQualityRuns(last: 1) { id } }' });
    await query.until((r) => r.completed, 'the answer');
    expect(refused.results).toEqual([
      {
        data: null,
        errors: [
          expect.objectContaining({
            path: ['refreshAirQuality'],
            extensions: { code: 'UNAUTHENTICATED' },
          }),
        ],
      },
    ]);
    const run = refreshed.results[0]?.data.refreshAirQuality.id;
    expect(Number(run)).toBeGreaterThan(0);
    expect(query.results).toEqual([{ data: { airQualityRuns: [{ id: run }] } }]);
  });

  it('answers bad subscriptions on the operation, and keeps the socket', async () => {
    const client = wsClient(api.wsUrl);
    open.push({ dispose: () => client.dispose() });
    const badCountry = wsSubscribe(client, {
      query: 'subscription { airQuality(country: "Belgium") { belaqi } }',
    });
    const badSyntax = wsSubscribe(client, { query: 'subscription { airQuality(' });
    const unknownField = wsSubscribe(client, { query: 'subscription { weather { rain } }' });
    const deep = 'city { airQuality { '.repeat(5);
    const tooDeep = wsSubscribe(client, {
      query: `subscription { airQuality { ${deep} belaqi ${'} } '.repeat(5)} } }`,
    });
    await tooDeep.until((r) => r.completed, 'the end of the too deep subscription');
    // Refused when it starts, not answered with an error at every push.
    expect(tooDeep.results).toEqual([
      {
        errors: [
          expect.objectContaining({
            message:
              "The operation's depth is 12, above the limit of 10: select fewer fields or split it.",
            extensions: { code: 'QUERY_TOO_COMPLEX' },
          }),
        ],
      },
    ]);
    await badCountry.until((r) => r.completed, 'the end of the bad subscription');
    expect(badCountry.results).toEqual([
      {
        errors: [
          expect.objectContaining({
            message: 'country "Belgium" is not a two-letter ISO 3166-1 code such as BE.',
            extensions: { code: 'BAD_USER_INPUT' },
          }),
        ],
      },
    ]);
    for (const received of [badSyntax, unknownField]) {
      await received.until((r) => r.failures.length === 1, 'an error');
    }
    expect(badSyntax.failures).toEqual([
      [expect.objectContaining({ message: 'Syntax Error: Expected Name, found <EOF>.' })],
    ]);
    expect(unknownField.failures).toEqual([
      [
        expect.objectContaining({
          message: 'Cannot query field "weather" on type "Subscription".',
        }),
      ],
    ]);
    const good = wsSubscribe(client, RUNS);
    await good.until((r) => r.results.length === 1, 'a run on the same socket');
    expect(liveStats().connections.webSockets).toBe(1);
  });
});

describe('the connection cap and stop()', () => {
  const capped = useApp(t, { env: { MAX_CONNECTIONS: '2', POLL_INTERVAL_MS: '50' } });

  it('refuses sockets and streams beyond MAX_CONNECTIONS with a clear reason', async () => {
    const first = wsClient(capped.wsUrl);
    const second = wsClient(capped.wsUrl);
    const a = wsSubscribe(first, RUNS);
    const b = wsSubscribe(second, RUNS);
    for (const received of [a, b]) await received.until((r) => r.results.length === 1, 'a run');

    const third = wsClient(capped.wsUrl);
    const refused = wsSubscribe(third, RUNS);
    await refused.until((r) => r.failures.length === 1, 'the refusal');
    expect(refused.failures[0]).toMatchObject({
      code: 1013,
      reason:
        'The server holds its maximum of 2 live connections (MAX_CONNECTIONS): try again later.',
    });
    const stream = await fetch(capped.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify(RUNS),
    });
    expect(stream.status).toBe(503);
    expect(await stream.json()).toEqual({
      errors: [
        {
          message:
            'The server holds its maximum of 2 live connections (MAX_CONNECTIONS): try again later.',
          extensions: { code: 'TOO_MANY_CONNECTIONS' },
        },
      ],
    });
    // Queries are not long-lived connections: never refused by the cap.
    const query = await fetch(capped.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ airQualityRuns(last: 1) { id } }' }),
    });
    expect(query.status).toBe(200);
    expect(capped.app.liveStats().connections).toEqual({
      webSockets: 2,
      eventStreams: 0,
      refused: 2,
      max: 2,
    });

    await first.dispose();
    await until(() => capped.app.liveStats().connections.webSockets === 1, 'the socket to close');
    const again = wsSubscribe(third, RUNS);
    await again.until((r) => r.results.length === 1, 'a run on a new socket');
    await second.dispose();
    await third.dispose();
    await until(() => capped.app.liveStats().connections.webSockets === 0, 'the sockets to close');
  });

  it('stop() closes sockets, ends SSE streams and stops the feed', async () => {
    const client = wsClient(capped.wsUrl);
    const viaWs = wsSubscribe(client, RUNS);
    const viaSse = sseSubscribe(capped.url, RUNS);
    for (const received of [viaWs, viaSse]) {
      await received.until((r) => r.results.length === 1, 'a run');
    }
    let closed: { code: number; reason: string } | undefined;
    client.on('closed', (event) => {
      closed = event as { code: number; reason: string };
    });
    await capped.app.stop(5_000);
    expect(capped.app.server.listening).toBe(false);
    await viaSse.until((r) => r.completed, 'the end of the SSE stream');
    await until(() => closed !== undefined, 'the socket to close');
    expect(closed).toMatchObject({ code: 1001 });
    expect(capped.app.liveStats().poller).toMatchObject({
      listeners: 0,
      waiting: 0,
      timerActive: false,
      polling: false,
    });
    await client.dispose();
  });
});
