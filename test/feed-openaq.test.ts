import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { graphql, useApp } from './helpers/app.js';
import { useTestDatabase } from './helpers/database.js';
import {
  type FakeOpenaq,
  type FakeOpenaqOptions,
  OPENAQ_KEY,
  OPENAQ_RECORDED_AT,
  startFakeOpenaq,
} from './helpers/fake-openaq.js';
import { shiftTimes } from './helpers/fake-upstream.js';
import {
  emptyFeedTables,
  feedProgressRows,
  onceThroughApi,
  runFeedCommand,
  storedMeasurements,
} from './helpers/feed-run.js';

/**
 * npm run feed -- openaq, against a stand-in in the shapes of OpenAQ API v3
 * (test/fixtures/openaq/, recorded at 12:00 and replayed as the last hour but one): EEA stations
 * by their European codes (one with a null locality), a low-cost sensor with parameters belair
 * does not follow, a mobile location, one OpenAQ lost (404), impossible coordinates, a unit
 * belair does not know, -9999, repeated and out-of-order measurements.
 */

const t = useTestDatabase(import.meta.filename);
const api = useApp(t);
let fake: FakeOpenaq;

const at = (hour: number) => fake.atHour(hour);
const iso = (hour: number) => at(hour).toISOString();
const hourOf = (date: Date) => fake.hourOf(date);

const feed = (args: string[], env: Record<string, string> = {}) =>
  runFeedCommand(args, { OPENAQ_API_URL: fake.url, OPENAQ_API_KEY: OPENAQ_KEY, ...env });

/** Through the API, since 09:00 recorded: the measurements of 10:00, 11:00 and 12:00. */
const apiFeed = (...extra: string[]) =>
  feed([...onceThroughApi('openaq', iso(9), api.url), ...extra]);

const stored = () => storedMeasurements(t.pool, hourOf);

async function progress(): Promise<string[]> {
  return (await feedProgressRows(t.pool, 'openaq')).map(
    ([series, until]) => `${series} ${hourOf(until)}`,
  );
}

const STORED = [
  'Antwerpen | BETR801 | no2 10 54 µg/m³',
  'Antwerpen | BETR801 | no2 11 49 µg/m³',
  'Antwerpen | BETR801 | no2 12 45 µg/m³',
  // pm10 of 11:00 was -9999
  'Antwerpen | BETR801 | pm10 10 34 µg/m³',
  'Antwerpen | BETR801 | pm10 12 30 µg/m³',
  'Antwerpen | BETR801 | pm25 10 18.5 µg/m³',
  'Antwerpen | BETR801 | pm25 11 17 µg/m³',
  'Antwerpen | BETR801 | pm25 12 16 µg/m³',
  // BETN043 has no locality: the station table places it in Haren, Brussels.
  'Brussels | BETN043 | no2 10 25 µg/m³',
  'Brussels | BETN043 | no2 11 23 µg/m³',
  'Brussels | BETN043 | no2 12 21 µg/m³',
  'Brussels | BETN043 | o3 10 44 µg/m³',
  'Brussels | BETN043 | o3 11 48 µg/m³',
  'Brussels | BETN043 | o3 12 51 µg/m³',
  'Gent | Gent - Sint-Pietersplein | pm25 10 13.9 µg/m³',
  'Gent | Gent - Sint-Pietersplein | pm25 11 12.2 µg/m³',
  'Gent | Gent - Sint-Pietersplein | pm25 12 11.7 µg/m³',
  // its CO came in mg/m³: rejected
  'Seraing | BETR222 | no2 10 0.023 ppm',
  'Seraing | BETR222 | no2 11 0.021 ppm',
  'Seraing | BETR222 | no2 12 0.02 ppm',
];

const SENSORS = ['5401', '5402', '5403', '5501', '5502', '5601', '5602', '6601', '6901'];

async function fresh(options: FakeOpenaqOptions = {}) {
  await emptyFeedTables(t.pool);
  fake = await startFakeOpenaq(options);
}

afterEach(async () => {
  await fake.close();
});

describe('npm run feed -- openaq --once', () => {
  beforeEach(() => fresh());

  it('polls the Belgian locations in 16 requests, with the key, and stores what is valid', async () => {
    const { code, out, err } = await apiFeed();
    expect([code, err]).toEqual([1, '']);
    expect(fake.count()).toEqual({ locations: 1, latest: 6, measurements: 9, tooMany: 0, all: 16 });
    expect(fake.requests.every((r) => r.headers['x-api-key'] === OPENAQ_KEY)).toBe(true);
    expect(fake.requests[0]?.query).toEqual({ iso: 'BE', limit: '1000', page: '1' });
    expect(fake.requests.find((r) => r.path === '/v3/sensors/5401/measurements')?.query).toEqual({
      datetime_from: iso(9).replace('.000Z', 'Z'),
      datetime_to: expect.stringMatching(/Z$/),
      limit: '1000',
      page: '1',
    });
    const lines = out.split('\n');
    expect(lines[1]).toMatch(
      /^\S+Z openaq: 6 stations, 10 series \(1 idle\), 28 fetched: 20 new, 0 updated, 0 unchanged, 7 rejected, 7 skipped, 0 not fetched; 16 requests in \d+\.\d s; rate budget 34 of 50 requests a minute left, 44 at the upstream for \d+ s; windows refreshed \(run \d+, 4 cities\)$/,
    );
    expect(lines.slice(2)).toEqual([
      '  rejected',
      '    3 × latitude 95.2 is not a number from -90 to 90 (degrees).',
      '    3 × unit "mg/m³" is not known: use µg/m³ (or ug/m3), or ppm for gases.',
      '    1 × value -9999 is negative: a concentration is 0 or more.',
      '  skipped',
      '    1 × location 1234602 not found at OpenAQ (404)',
      '    1 × locations with no locality and no station code in their name',
      '    1 × mobile locations (their position moves)',
      '    1 × parameter pm1 is not a pollutant belair follows',
      '    1 × parameter relativehumidity is not a pollutant belair follows',
      '    1 × parameter temperature is not a pollutant belair follows',
      '    1 × repeated in the same answer',
      '',
    ]);
    expect(await stored()).toEqual(STORED);
    // Every sensor fetched moved on to 12:00 (rejected values are not fetched again).
    expect(await progress()).toEqual(SENSORS.map((s) => `${s} 12`));
  });

  it("keeps each provider's licence and credit on its stations", async () => {
    await apiFeed();
    const { data } = await graphql(
      api.app,
      `{ cities(country: "BE") { name locations { name sourceName sourceType licence attribution } } }`,
    );
    expect(data.cities).toEqual([
      {
        name: 'Antwerpen',
        locations: [
          {
            name: 'BETR801',
            sourceName: 'EEA',
            sourceType: 'monitor',
            licence: 'CC BY 4.0',
            attribution:
              'European Environment Agency, https://www.eea.europa.eu; via OpenAQ, https://openaq.org',
          },
        ],
      },
      {
        name: 'Brussels',
        locations: [
          {
            name: 'BETN043',
            sourceName: 'EEA',
            sourceType: 'monitor',
            licence: 'CC BY 4.0',
            attribution:
              'European Environment Agency, https://www.eea.europa.eu; via OpenAQ, https://openaq.org',
          },
        ],
      },
      {
        name: 'Gent',
        locations: [
          {
            name: 'Gent - Sint-Pietersplein',
            sourceName: 'AirGradient',
            sourceType: 'sensor',
            licence: 'CC BY-SA 4.0',
            attribution: 'AirGradient; via OpenAQ, https://openaq.org',
          },
        ],
      },
      {
        name: 'Seraing',
        locations: [
          {
            name: 'BETR222',
            sourceName: 'EEA',
            sourceType: 'monitor',
            licence: 'CC BY 4.0',
            attribution:
              'European Environment Agency, https://www.eea.europa.eu; via OpenAQ, https://openaq.org',
          },
        ],
      },
    ]);
  });

  it('asks again only for what is newer: an up-to-date location costs nothing, a new hour one request', async () => {
    await apiFeed();
    const again = await apiFeed();
    expect(again.code).toBe(0);
    // The list of locations, and the one OpenAQ lost, which has no progress yet.
    expect(fake.count()).toEqual({ locations: 2, latest: 7, measurements: 9, tooMany: 0, all: 18 });
    expect(again.out).toContain('10 series (1 idle), 0 fetched: 0 new');

    fake.publish(1);
    const next = await apiFeed();
    // 13:00 is each sensor's latest value: no measurements asked for.
    expect(fake.count()).toEqual({
      locations: 3,
      latest: 13,
      measurements: 9,
      tooMany: 0,
      all: 25,
    });
    expect(next.out).toContain('9 fetched: 7 new, 0 updated, 0 unchanged, 2 rejected');
    expect((await stored()).filter((r) => /\| \w+ 13 /.test(r))).toEqual([
      'Antwerpen | BETR801 | no2 13 42 µg/m³',
      'Antwerpen | BETR801 | pm10 13 28 µg/m³',
      'Antwerpen | BETR801 | pm25 13 15 µg/m³',
      'Brussels | BETN043 | no2 13 20 µg/m³',
      'Brussels | BETN043 | o3 13 55 µg/m³',
      'Gent | Gent - Sint-Pietersplein | pm25 13 10.9 µg/m³',
      'Seraing | BETR222 | no2 13 0.019 ppm',
    ]);
    expect(await progress()).toEqual(SENSORS.map((s) => `${s} 13`));
  });
});

describe('the rate budget of OpenAQ', () => {
  it('spends at most --max-requests-per-minute, and says what it could not reach in the interval', async () => {
    await fresh();
    const { code, out, err } = await apiFeed('--max-requests-per-minute', '5', '--interval', '2s');
    expect(code).toBe(1);
    expect(fake.count().all).toBe(5);
    // The page of locations, then Borgerhout's latest values and its three sensors' measurements.
    expect(fake.requests.map((r) => r.path)).toEqual([
      '/v3/locations',
      '/v3/locations/2881/latest',
      '/v3/sensors/5401/measurements',
      '/v3/sensors/5402/measurements',
      '/v3/sensors/5403/measurements',
    ]);
    expect(err).toMatch(
      /^OpenAQ: the poll could not finish within its 2s interval: 5 locations skipped \(rate budget 0 of 5 requests a minute left, 55 at the upstream for \d+ s\); the next poll starts with them\n$/,
    );
    expect(out).toContain('    5 × locations not reached within the 2s interval (rate budget)\n');
    expect(await progress()).toEqual(['5401 12', '5402 12', '5403 12']);

    // The next poll starts with the locations left behind.
    const next = await apiFeed('--max-requests-per-minute', '5', '--interval', '2s');
    expect(next.code).toBe(0);
    expect(fake.requests.slice(5).map((r) => r.path)).toEqual([
      '/v3/locations',
      '/v3/locations/2890/latest',
      '/v3/sensors/5501/measurements',
      '/v3/sensors/5502/measurements',
      '/v3/locations/3110/latest',
    ]);
  });

  it('waits when the upstream says its budget is spent, without a single 429', async () => {
    // The stand-in allows 10 requests per 2 seconds and says so in x-ratelimit-* headers.
    await fresh({ perWindow: 10, windowMs: 2000 });
    const started = Date.now();
    const { code, out } = await apiFeed();
    expect(code).toBe(1);
    expect(fake.count()).toEqual({ locations: 1, latest: 6, measurements: 9, tooMany: 0, all: 16 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(out).toContain('28 fetched: 20 new');
    expect(await stored()).toEqual(STORED);
  });

  it('waits out a 429 for the time its headers ask, then carries on', async () => {
    await fresh();
    fake.inject((r) => r.path === '/v3/locations/2881/latest', {
      status: 429,
      headers: {
        'x-ratelimit-limit': '60',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': '1',
      },
      json: { message: 'Too many requests' },
    });
    const started = Date.now();
    const { code, out, err } = await apiFeed();
    expect(code).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(err).toBe(
      `OpenAQ: 429 Too Many Requests for ${fake.url}/v3/locations/2881/latest; waiting 1 s as it asks\n`,
    );
    expect(fake.requests.map((r) => r.path).filter((p) => p.includes('/2881/'))).toEqual([
      '/v3/locations/2881/latest',
      '/v3/locations/2881/latest',
    ]);
    expect(fake.count().all).toBe(17);
    expect(out).toContain('28 fetched: 20 new');
    expect(await stored()).toEqual(STORED);
  });
});

describe('when OpenAQ refuses', () => {
  it('exits 2 at once on a wrong key (401), with no retry', async () => {
    await fresh();
    const { code, out, err } = await apiFeed('--api-key', 'not-my-key');
    expect(code).toBe(2);
    expect(fake.count().all).toBe(1);
    expect(out).toBe(`feed openaq: ${fake.url} into ${api.url}, once\n`);
    expect(err).toBe(
      `OpenAQ refused the request (401): Unauthorized. A valid API key must be provided in the X-API-Key header. (${fake.url}/v3/locations?iso=BE&limit=1000&page=1)\nOpenAQ refused the API key: check OPENAQ_API_KEY or --api-key (a free key: https://explore.openaq.org/register).\n`,
    );
  });

  it('exits 2 without a key, saying where to get one', async () => {
    await fresh();
    const { code, err } = await feed(['openaq', '--once'], { OPENAQ_API_KEY: '' });
    expect(code).toBe(2);
    expect(err).toBe(
      'OpenAQ API v3 needs a key: set OPENAQ_API_KEY or pass --api-key. A free key comes with an account at https://explore.openaq.org/register (Settings, API key).\n',
    );
    expect(fake.requests).toEqual([]);
  });

  it('reports a 422, whose body is a JSON string, with its URL, and stores the rest', async () => {
    await fresh();
    fake.inject((r) => r.path === '/v3/sensors/5403/measurements', {
      status: 422,
      json: 'datetime_from must be before datetime_to',
    });
    const { code, out, err } = await apiFeed();
    expect(code).toBe(1);
    const url = fake.requests.find((r) => r.path === '/v3/sensors/5403/measurements');
    expect(url).toBeDefined();
    expect(err).toMatch(
      /^sensor 5403: OpenAQ refused the request \(422\): datetime_from must be before datetime_to \(http:\/\/127\.0\.0\.1:\d+\/v3\/sensors\/5403\/measurements\?datetime_from=\S+\)\n$/,
    );
    expect(out).toContain(
      '  not fetched\n    1 × sensor 5403: OpenAQ refused the request (422): datetime_from must be before datetime_to\n',
    );
    expect(await stored()).toEqual(STORED.filter((r) => !r.includes('BETR801 | pm25')));
    expect(await progress()).toEqual(SENSORS.filter((s) => s !== '5403').map((s) => `${s} 12`));
  });
});

describe('a location with two sensors of one pollutant', () => {
  it('keeps the first, in µg/m³, and skips the other with its values', async () => {
    await fresh({ secondSensor: true });
    const { out } = await apiFeed();
    expect(fake.count()).toEqual({ locations: 1, latest: 6, measurements: 9, tooMany: 0, all: 16 });
    expect(out).toContain('28 fetched: 20 new, 0 updated, 0 unchanged, 7 rejected, 9 skipped');
    expect(out).toContain(
      '    1 × second sensors of a pollutant at one location (the first is kept)\n',
    );
    expect(out).toContain('    1 × values of a second sensor of a pollutant at one location\n');
    expect(await stored()).toEqual(STORED);
  });
});

describe('the list of locations', () => {
  it('is read page by page while OpenAQ says there are more (meta.found ">1000")', async () => {
    await fresh({ filler: 1203 });
    const { code, out } = await apiFeed();
    expect(code).toBe(1);
    expect(fake.requests.filter((r) => r.path === '/v3/locations').map((r) => r.query)).toEqual([
      { iso: 'BE', limit: '1000', page: '1' },
      { iso: 'BE', limit: '1000', page: '2' },
    ]);
    expect(out).toContain('    1,203 × locations that measure no pollutant belair follows\n');
    expect(await stored()).toEqual(STORED);
  });

  it('comes from a stand-in that answers as OpenAQ recorded', async () => {
    await fresh();
    const recorded = JSON.parse(
      readFileSync(new URL('./fixtures/openaq/latest-2881.json', import.meta.url), 'utf8'),
    ) as unknown;
    expect(fake.latest(2881)).toEqual(shiftTimes(recorded, at(12).getTime() - OPENAQ_RECORDED_AT));
  });
});
