import {
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLType,
  getNamedType,
  isListType,
  isNonNullType,
  isObjectType,
} from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectedError, rateLimited } from '../src/errors/expected-errors.js';
import { schema } from '../src/schema/index.js';
import { graphql, TOKEN, testApp, useApps, withToken } from './helpers/app.js';
import { countOf, useTestDatabase } from './helpers/database.js';
import { wsClient, wsSubscribe } from './helpers/live-clients.js';
import { ingestMutation, measurement, minutesAgo } from './helpers/measurements.js';

const t = useTestDatabase(import.meta.filename);
/** An app listening on a free port, with its graphql-ws URL; stopped at the end of the file. */
const listening = useApps(t, 'all').listen;

/** Runs one operation over graphql-ws and waits for its end: results, or the error message. */
async function overWs(wsUrl: string, query: string, connectionParams?: Record<string, unknown>) {
  const client = wsClient(wsUrl, connectionParams ? { connectionParams } : {});
  try {
    const received = wsSubscribe(client, { query });
    await received.until((r) => r.completed || r.failures.length > 0, 'the answer');
    received.dispose();
    return received;
  } finally {
    await client.dispose();
  }
}

const measurements = () => countOf(t.pool, 'SELECT COUNT(*) AS n FROM measurement');

const aliased = (n: number, field = 'airQualityRuns(last: 1) { id }', prefix = 'a') =>
  Array.from({ length: n }, (_, i) => `${prefix}${i}: ${field}`).join(' ');

describe('limits on the document', () => {
  let app: ReturnType<typeof testApp>;
  let wsUrl: string;
  beforeAll(async () => {
    ({ app, wsUrl } = await listening());
  });

  it('refuses more than 30 aliases, counting those in fragments, with the limit and the fix', async () => {
    const fine = await graphql(app, `{ ${aliased(30)} }`);
    expect(fine.errors).toBeUndefined();
    expect(Object.keys(fine.data)).toHaveLength(30);
    // __typename under another name costs nothing, and does not count.
    const typenames = await graphql(app, `{ ${aliased(30)} ${aliased(5, '__typename', 't')} }`);
    expect(typenames.errors).toBeUndefined();

    const tooMany = await graphql(
      app,
      `{ ${aliased(20)} ...More } fragment More on Query { ${aliased(11, undefined, 'b')} }`,
    );
    expect(tooMany.status).toBe(200);
    expect(tooMany.data).toBeUndefined();
    expect(tooMany.errors).toEqual([
      {
        message:
          'The operation has 31 aliases, above the limit of 30: ask for fewer fields under other names, or split it.',
        extensions: { code: 'QUERY_TOO_COMPLEX' },
      },
    ]);
  });

  it('refuses a document of more than 10,000 tokens before parsing it all', async () => {
    // 3,338 aliases' worth of tokens: the token limit answers before the alias count could.
    const huge = `{ ${aliased(3338, '__typename')} }`;
    const refused = await graphql(app, huge);
    expect(refused.errors).toEqual([
      {
        message:
          'The document has more than 10000 tokens, the limit: send large inputs such as batches of measurements as variables rather than inline, or split the operation.',
        extensions: { code: 'QUERY_TOO_COMPLEX' },
      },
    ]);
    expect(refused.data).toBeUndefined();
  });

  it('leaves a batch of 1,000 measurements in a variable well within the token limit', async () => {
    const now = Date.now();
    const batch = Array.from({ length: 1000 }, (_, i) =>
      measurement(
        'Tokenville',
        `TOKENS${i % 10}`,
        'PM10',
        i,
        minutesAgo(60 + Math.floor(i / 10), now),
      ),
    );
    const stored = await graphql(app, ingestMutation('received inserted'), { m: batch }, withToken);
    expect(stored.errors).toBeUndefined();
    expect(stored.data).toEqual({ ingestMeasurements: { received: 1000, inserted: 1000 } });
  });

  it('refuses more than 50 directives', async () => {
    const directives = (n: number) =>
      Array.from({ length: n }, (_, i) => `d${i}: __typename @include(if: true)`).join(' ');
    expect((await graphql(app, `{ ${directives(25)} }`)).errors).toBeUndefined();
    const refused = await graphql(
      app,
      `{ airQualityRuns(last: 1) @skip(if: false) { id ${'@include(if: true) '.repeat(50)} } }`,
    );
    expect(refused.errors).toEqual([
      {
        message:
          'The operation has 51 directives, above the limit of 50: use fewer directives, or split it.',
        extensions: { code: 'QUERY_TOO_COMPLEX' },
      },
    ]);
  });

  it('takes its limits from MAX_ALIASES, MAX_TOKENS and MAX_DIRECTIVES', async () => {
    const strict = testApp(t, { MAX_ALIASES: '2', MAX_TOKENS: '100', MAX_DIRECTIVES: '1' });
    expect((await graphql(strict, `{ ${aliased(2)} }`)).errors).toBeUndefined();
    expect((await graphql(strict, `{ ${aliased(3)} }`)).errors?.[0]?.message).toBe(
      'The operation has 3 aliases, above the limit of 2: ask for fewer fields under other names, or split it.',
    );
    expect((await graphql(strict, `{ ${'__typename '.repeat(98)} }`)).errors).toBeUndefined();
    expect((await graphql(strict, `{ ${'__typename '.repeat(99)} }`)).errors?.[0]?.message).toBe(
      'The document has more than 100 tokens, the limit: send large inputs such as batches of measurements as variables rather than inline, or split the operation.',
    );
    const twoDirectives = '{ __typename @include(if: true) @skip(if: false) }';
    expect((await graphql(strict, twoDirectives)).errors?.[0]?.message).toBe(
      'The operation has 2 directives, above the limit of 1: use fewer directives, or split it.',
    );
  });

  it('applies every limit to graphql-ws subscriptions and queries alike', async () => {
    const run = 'airQualityRuns { id }';
    const cases = [
      {
        query: `subscription { airQualityRuns { ${aliased(31, 'id')} } }`,
        message:
          'The operation has 31 aliases, above the limit of 30: ask for fewer fields under other names, or split it.',
      },
      {
        query: `subscription { ${run} ${aliased(3338, '__typename')} }`,
        message:
          'The document has more than 10000 tokens, the limit: send large inputs such as batches of measurements as variables rather than inline, or split the operation.',
      },
      {
        query: `subscription { airQualityRuns { id ${'@include(if: true) '.repeat(51)} } }`,
        message:
          'The operation has 51 directives, above the limit of 50: use fewer directives, or split it.',
      },
      {
        query: `{ ${aliased(31)} }`,
        message:
          'The operation has 31 aliases, above the limit of 30: ask for fewer fields under other names, or split it.',
      },
    ];
    for (const { query, message } of cases) {
      const received = await overWs(wsUrl, query);
      expect(received.results).toEqual([]);
      expect(received.failures).toEqual([
        // Refused before execution, without the HTTP status and headers Yoga's errors carry.
        [expect.objectContaining({ message, extensions: { code: 'QUERY_TOO_COMPLEX' } })],
      ]);
    }
    // Within the limits the same socket serves the subscription.
    const fine = await overWs(wsUrl, `{ ${aliased(30)} }`);
    expect(fine.failures).toEqual([]);
    expect(Object.keys(fine.results[0]?.data ?? {})).toHaveLength(30);
  });
});

/** A list argument's type, or a "how many" Int argument; what the bound table must cover. */
function needsBound(argument: GraphQLArgument): boolean {
  let type: GraphQLType = argument.type;
  if (isNonNullType(type)) type = type.ofType;
  return isListType(type) || getNamedType(type).name === 'Int';
}

/** Every bounded argument, with an operation one past its bound and the error it gets. */
const BOUNDS: Record<string, { query: string; message: string; headers?: Record<string, string> }> =
  {
    'Query.airQuality(cities)': {
      query: `{ airQuality(cities: [${'"x",'.repeat(1001)}]) { belaqi } }`,
      message: 'cities holds 1001 items, more than the 1000 allowed.',
    },
    'Subscription.airQuality(cities)': {
      query: `subscription { airQuality(cities: [${'"x",'.repeat(1001)}]) { belaqi } }`,
      message: 'cities holds 1001 items, more than the 1000 allowed.',
    },
    'Subscription.airQualityAlerts(cities)': {
      query: `subscription { airQualityAlerts(cities: [${'"x",'.repeat(1001)}], atLeast: 6) { current } }`,
      message: 'cities holds 1001 items, more than the 1000 allowed.',
    },
    'Subscription.airQualityAlerts(atLeast)': {
      query: 'subscription { airQualityAlerts(atLeast: 11) { current } }',
      message: 'atLeast 11 is not a BelAQI level: give a whole number from 1 to 10.',
    },
    'Query.airQualityRuns(last)': {
      query: '{ airQualityRuns(last: 1001) { id } }',
      message: 'last 1001 must be from 1 to 1000.',
    },
    'City.history(from,to)': {
      query:
        '{ city(name: "Tokenville") { history(from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:01Z") { belaqi } } }',
      message:
        'The range from 2026-01-01T00:00:00.000Z to 2026-02-01T00:00:01.000Z spans more than 31 days: ask for it in parts.',
    },
    'Mutation.recordFeedProgress(progress)': {
      query: `mutation { recordFeedProgress(feed: "irceline", progress: [${'{ series: "s", fetchedUntil: "2026-01-01T00:00:00Z" },'.repeat(1001)}]) }`,
      message: 'progress holds 1001 series, more than the 1000 allowed.',
      headers: withToken,
    },
    'Mutation.ingestMeasurements(measurements)': {
      query: `mutation { ingestMeasurements(measurements: [${'{ location: "L", city: "C", country: "BE", parameter: PM10, value: 1, unit: "µg/m³", measuredAt: "2026-01-01T00:00:00Z" }'.repeat(3)}]) { received } }`,
      message:
        'The batch holds 3 measurements, more than the 2 allowed per request: split it into batches of at most 2.',
      headers: withToken,
    },
  };

describe('bounded arguments', () => {
  it('bounds every list argument and every "how many" argument of the schema', () => {
    const found: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('__')) continue;
      for (const field of Object.values(type.getFields()) as GraphQLField<unknown, unknown>[]) {
        const bounded = field.args.filter(needsBound);
        // history's "how many" is its range: from and to together.
        if (type.name === 'City' && field.name === 'history') {
          found.push('City.history(from,to)');
          continue;
        }
        for (const argument of bounded) found.push(`${type.name}.${field.name}(${argument.name})`);
      }
    }
    // A new list or count argument fails here until it has a bound and a line in BOUNDS.
    expect(found.sort()).toEqual(Object.keys(BOUNDS).sort());
  });

  it('answers BAD_USER_INPUT one past each bound, over HTTP and graphql-ws', async () => {
    const { app, wsUrl } = await listening({ INGEST_MAX_BATCH: '2', WRITE_RATE_BURST: '1000' });
    await graphql(
      app,
      'mutation { ingestMeasurements(measurements: [{ location: "L", city: "Tokenville", country: "BE", parameter: PM10, value: 1, unit: "µg/m³", measuredAt: "2026-01-01T00:00:00Z" }]) { received } }',
      {},
      withToken,
    );
    const before = await measurements();
    for (const [argument, { query, message, headers }] of Object.entries(BOUNDS)) {
      const expected = expect.objectContaining({
        message,
        extensions: { code: 'BAD_USER_INPUT' },
      });
      if (query.startsWith('subscription')) {
        const received = await overWs(wsUrl, query);
        expect(received.results, argument).toEqual([{ errors: [expected] }]);
      } else {
        const answer = await graphql(app, query, {}, headers);
        expect(answer.errors, argument).toEqual([expected]);
      }
    }
    expect(await measurements()).toBe(before);
    // At the bound itself, each passes.
    const atBound = await graphql(
      app,
      `{ airQuality(cities: [${'"x",'.repeat(1000)}]) { belaqi } airQualityRuns(last: 1000) { id }
         city(name: "Tokenville") { history(from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z") { belaqi } } }`,
    );
    expect(atBound.errors).toBeUndefined();
    expect(atBound.data.city).toEqual({ history: [] });
  });
  it('bounds the history one operation reads to 31 days in all, city by city, per event', async () => {
    const { app, wsUrl } = await listening({ POLL_INTERVAL_MS: '50' });
    const now = Date.now();
    const iso = (daysAgo: number) => new Date(now - daysAgo * 86_400_000).toISOString();
    const item = (city: string) =>
      `{ location: "H-${city}", city: "${city}", country: "LU", parameter: PM10, value: 12, unit: "µg/m³", measuredAt: "${iso(0.01)}" }`;
    const stored = await graphql(
      app,
      `mutation { ingestMeasurements(measurements: [${item('Histoa')}, ${item('Histob')}]) { inserted } }`,
      {},
      withToken,
    );
    expect(stored.data.ingestMeasurements.inserted).toBe(2);
    const history = (days: number) =>
      `{ cities(country: "LU") { name history(from: "${iso(days)}", to: "${iso(-1)}") { belaqi } } }`;

    // 2 × (14 + 1) days: within the budget.
    const within = await graphql(app, history(14));
    expect(within.errors).toBeUndefined();
    expect(within.data.cities.map((c: { name: string }) => c.name)).toEqual(['Histoa', 'Histob']);
    // 2 × (20 + 1) days: the second city is over it (and, the list being non-null, so is the
    // answer).
    const over = await graphql(app, history(20));
    expect(over.data).toBeNull();
    expect(over.errors).toEqual([
      expect.objectContaining({
        message:
          'This operation asks for more than 31 days of history in all (city by city, 42 days by Histob): ask for fewer cities or shorter ranges, or split it.',
        path: ['cities', 1, 'history'],
        extensions: { code: 'BAD_USER_INPUT' },
      }),
    ]);

    // A subscription's budget is per event: 21 days each time, never added up across events.
    const client = wsClient(wsUrl);
    try {
      const received = wsSubscribe(client, {
        query: `subscription { airQuality(cities: ["Histoa"], country: "LU") { city { history(from: "${iso(20)}", to: "${iso(-1)}") { belaqi } } } }`,
      });
      for (let run = 1; run <= 2; run += 1) {
        const refreshed = await graphql(
          app,
          'mutation { refreshAirQuality { id } }',
          {},
          withToken,
        );
        expect(refreshed.errors).toBeUndefined();
        await received.until((r) => r.results.length >= run, `event ${run}`);
      }
      received.dispose();
      expect(received.results.map((r) => r.errors)).toEqual([undefined, undefined]);
      expect(received.values('airQuality').map((w) => w.city.history.length)).toEqual([1, 2]);
    } finally {
      await client.dispose();
    }
  });

  it('bounds city names at 128 characters, the longest the database holds', async () => {
    const app = testApp(t);
    const long = 'x'.repeat(129);
    const byName = await graphql(app, `{ city(name: "${long}") { name } }`);
    expect(byName.errors).toEqual([
      expect.objectContaining({
        message: 'name is 129 characters long; no city name is longer than 128.',
        extensions: { code: 'BAD_USER_INPUT' },
      }),
    ]);
    const inList = await graphql(
      app,
      'query($c: [String!]) { airQuality(cities: $c) { belaqi } }',
      {
        c: ['Antwerpen', long],
      },
    );
    expect(inList.errors?.[0]?.message).toBe(
      'cities[1] is 129 characters long; no city name is longer than 128.',
    );
    // Characters, not UTF-16 units: 128 emoji are 256 units and still a possible name.
    const wide = await graphql(app, `{ city(name: "${'😀'.repeat(128)}") { name } }`);
    expect(wide.errors).toBeUndefined();
    expect(wide.data).toEqual({ city: null });
  });
});

describe('production mode', () => {
  const introspection = '{ __schema { queryType { name } } }';
  /** What Firefox and Chrome send for a page. */
  const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
  const typeQuery = '{ __type(name: "City") { name } }';

  async function getAsBrowser(app: ReturnType<typeof testApp>, accept: string) {
    const response = await app.yoga.fetch('http://belair.test/graphql', {
      headers: { accept },
    });
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      body: await response.text(),
    };
  }

  it('serves neither GraphiQL nor introspection with NODE_ENV=production', async () => {
    const { app, wsUrl } = await listening({ NODE_ENV: 'production' });
    const browser = await getAsBrowser(app, BROWSER_ACCEPT);
    const program = await getAsBrowser(app, '*/*');
    expect(browser).toEqual(program);
    expect(browser.body).not.toContain('<html');

    for (const query of [introspection, typeQuery]) {
      const refused = await graphql(app, query);
      const field = query.includes('__schema') ? '__schema' : '__type';
      expect(refused.errors).toEqual([
        {
          message: `Introspection is disabled on this server (${field}): the schema is published as schema.graphql in the project's repository; the operator can enable introspection with INTROSPECTION=true.`,
          locations: [{ line: 1, column: 3 }],
          extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
        },
      ]);
    }
    const overSocket = await overWs(wsUrl, introspection);
    expect(overSocket.failures).toEqual([
      [expect.objectContaining({ message: expect.stringMatching(/^Introspection is disabled/) })],
    ]);
    // __typename is not introspection, and the API itself answers.
    const plain = await graphql(app, '{ __typename airQualityRuns(last: 1) { id } }');
    expect(plain.errors).toBeUndefined();
    expect(plain.data.__typename).toBe('Query');
  });

  it('serves both in development, and GRAPHIQL / INTROSPECTION decide in either mode', async () => {
    const development = testApp(t, {});
    expect((await getAsBrowser(development, BROWSER_ACCEPT)).body).toContain(
      '<title>belair</title>',
    );
    expect((await graphql(development, introspection)).data).toEqual({
      __schema: { queryType: { name: 'Query' } },
    });

    const productionOn = testApp(t, {
      NODE_ENV: 'production',
      GRAPHIQL: 'true',
      INTROSPECTION: 'true',
    });
    expect((await getAsBrowser(productionOn, BROWSER_ACCEPT)).body).toContain(
      '<title>belair</title>',
    );
    expect((await graphql(productionOn, introspection)).errors).toBeUndefined();

    const developmentOff = testApp(t, { GRAPHIQL: 'false', INTROSPECTION: 'false' });
    expect((await getAsBrowser(developmentOff, BROWSER_ACCEPT)).body).not.toContain('<html');
    expect((await graphql(developmentOff, typeQuery)).errors?.[0]?.message).toMatch(
      /^Introspection is disabled on this server \(__type\)/,
    );
  });
});

describe('write rate limit per token', () => {
  const OTHER = 'other-token';
  const INGEST = ingestMutation('received inserted unchanged');
  /** n distinct measurements of one station, minutes apart, the newest an hour ago. */
  const batch = (station: string, n: number) =>
    Array.from({ length: n }, (_, i) =>
      measurement('Ratelimit', station, 'NO2', i, minutesAgo(60 + i)),
    );

  // 100 measurements per second, 1,100 at once: a full batch of 1,000 (1,100 with its overhead).
  const env = {
    API_TOKENS: `${TOKEN},${OTHER}`,
    INGEST_MAX_BATCH: '1000',
    WRITE_RATE_LIMIT: '100',
    WRITE_RATE_BURST: '1100',
  };

  it('refuses a write over the budget with RATE_LIMITED and Retry-After, stores nothing, and lets it pass after the delay', async () => {
    let now = 1_000_000;
    const app = testApp(t, env, { clock: () => now });
    const first = await graphql(app, INGEST, { m: batch('RATE1', 500) }, withToken);
    expect(first.data).toEqual({
      ingestMeasurements: { received: 500, inserted: 500, unchanged: 0 },
    });
    const before = await measurements();

    // 500 left of 1,100; this one costs 500 + 100.
    const response = await app.yoga.fetch('http://belair.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...withToken },
      body: JSON.stringify({ query: INGEST, variables: { m: batch('RATE2', 500) } }),
    });
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(await response.json()).toEqual({
      errors: [
        {
          message:
            "This token's write rate is over its limit of 100 measurements per second (WRITE_RATE_LIMIT; each operation counts 100 more): nothing was stored; send it again in 1 s.",
          extensions: { code: 'RATE_LIMITED', retryable: true, retryAfterSeconds: 1 },
        },
      ],
    });
    expect(await measurements()).toBe(before);

    // Another token has its own budget.
    const other = await graphql(
      app,
      INGEST,
      { m: batch('RATE3', 600) },
      {
        authorization: `Bearer ${OTHER}`,
      },
    );
    expect(other.data.ingestMeasurements.inserted).toBe(600);

    // 0.9 s later it is still 10 short of 600; after the full second it passes.
    now += 900;
    const early = await graphql(app, INGEST, { m: batch('RATE2', 500) }, withToken);
    expect(early.errors?.[0]?.extensions).toEqual({
      code: 'RATE_LIMITED',
      retryable: true,
      retryAfterSeconds: 1,
    });
    now += 100;
    const later = await graphql(app, INGEST, { m: batch('RATE2', 500) }, withToken);
    expect(later.data).toEqual({
      ingestMeasurements: { received: 500, inserted: 500, unchanged: 0 },
    });
  });

  it('prices an operation as a whole: two aliased batches over the budget store neither', async () => {
    let now = 5_000_000;
    const app = testApp(t, env, { clock: () => now });
    const before = await measurements();
    const both = await graphql(
      app,
      'mutation($a: [MeasurementInput!]!, $b: [MeasurementInput!]!) { a: ingestMeasurements(measurements: $a) { inserted } b: ingestMeasurements(measurements: $b) { inserted } }',
      { a: batch('RATE4', 450), b: batch('RATE5', 450) },
      withToken,
    );
    // 450 + 100 + 450 + 100 = 1,100: exactly the burst.
    expect(both.data).toEqual({ a: { inserted: 450 }, b: { inserted: 450 } });
    const refresh = await graphql(app, 'mutation { refreshAirQuality { id } }', {}, withToken);
    // A refresh costs 1,000: 10 s at 100 per second.
    expect(refresh.errors?.[0]?.extensions).toEqual({
      code: 'RATE_LIMITED',
      retryable: true,
      retryAfterSeconds: 10,
    });
    expect(await measurements()).toBe(before + 900);
    now += 10_000;
    const again = await graphql(
      app,
      'mutation($a: [MeasurementInput!]!, $b: [MeasurementInput!]!) { a: ingestMeasurements(measurements: $a) { inserted } b: ingestMeasurements(measurements: $b) { inserted } }',
      { a: batch('RATE6', 500), b: batch('RATE7', 501) },
      withToken,
    );
    // 1,201 is more than any token may write at once: not retryable, split it.
    expect(again.errors).toEqual([
      expect.objectContaining({
        message:
          'This operation writes 1201 measurement units, more than a token may write at once (WRITE_RATE_BURST 1100): split it into several operations.',
        extensions: { code: 'BAD_USER_INPUT' },
      }),
    ]);
    expect(await measurements()).toBe(before + 900);
  });

  it('answers RATE_LIMITED over graphql-ws too, with the delay and without HTTP details', async () => {
    let now = 9_000_000;
    const { wsUrl } = await listening(env, { clock: () => now });
    const params = { Authorization: `Bearer ${TOKEN}` };
    const refresh = 'mutation { refreshAirQuality(at: "2025-06-01T00:00:00Z") { cities } }';
    const first = await overWs(wsUrl, refresh, params);
    expect(first.results).toEqual([{ data: { refreshAirQuality: { cities: 0 } } }]);
    const second = await overWs(wsUrl, refresh, params);
    expect(second.results).toEqual([
      {
        errors: [
          expect.objectContaining({
            extensions: { code: 'RATE_LIMITED', retryable: true, retryAfterSeconds: 9 },
          }),
        ],
      },
    ]);
    now += 9_000;
    expect((await overWs(wsUrl, refresh, params)).results).toEqual([
      { data: { refreshAirQuality: { cities: 0 } } },
    ]);
  });

  it('marks RATE_LIMITED and REFRESH_BUSY retryable, and nothing else', () => {
    expect(expectedError('REFRESH_BUSY', 'busy').extensions).toEqual({
      code: 'REFRESH_BUSY',
      retryable: true,
    });
    expect(rateLimited('slow down', 3).extensions).toEqual({
      code: 'RATE_LIMITED',
      retryable: true,
      retryAfterSeconds: 3,
      http: { status: 429, headers: { 'Retry-After': '3' } },
    });
    expect(expectedError('BAD_USER_INPUT', 'no').extensions).toEqual({ code: 'BAD_USER_INPUT' });
  });

  it('is off with WRITE_RATE_LIMIT=0', async () => {
    const app = testApp(
      t,
      { ...env, WRITE_RATE_LIMIT: '0', WRITE_RATE_BURST: '1' },
      {
        clock: () => 0,
      },
    );
    for (const station of ['RATE8', 'RATE9', 'RATE10']) {
      const stored = await graphql(app, INGEST, { m: batch(station, 1000) }, withToken);
      expect(stored.data.ingestMeasurements.inserted).toBe(1000);
    }
  });
});
