import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { graphql, useApp } from './helpers/app.js';
import { useTestDatabase, writeLegacyConfig } from './helpers/database.js';
import { type FakeIrceline, startFakeIrceline } from './helpers/fake-irceline.js';
import {
  emptyFeedTables,
  feedProgressRows,
  onceThroughApi,
  runFeedCommand,
  storedMeasurements,
} from './helpers/feed-run.js';

/**
 * npm run feed -- irceline, against a stand-in that answers in the shapes of IRCEL-CELINE's
 * timeseries API (test/fixtures/irceline/, recorded at 12:00 and replayed as the last hour but
 * one): 16 active series at 11 stations, one idle since 2019, a listing entry without a station,
 * -9999, a null value, "NaN" as a value and as coordinates, repeated and out-of-order values.
 */

const t = useTestDatabase(import.meta.filename);
const api = useApp(t);
let fake: FakeIrceline;

/** A recorded time of day (hours of 2026-11-21 UTC) as this run replays it. */
const at = (hour: number) => fake.atHour(hour);
const iso = (hour: number) => at(hour).toISOString();
const instant = (ms: number) => new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
/** The recorded hour a stored time stands for. */
const hourOf = (date: Date) => fake.hourOf(date);

const feed = (args: string[], env: Record<string, string> = {}) =>
  runFeedCommand(args, { IRCELINE_API_URL: fake.url, ...env });

/** The feed through the API, since 09:00 recorded: values of 10:00, 11:00 and 12:00. */
const apiFeed = (...extra: string[]) =>
  feed([...onceThroughApi('irceline', iso(9), api.url), ...extra]);

const stored = () => storedMeasurements(t.pool, hourOf);

async function progress(): Promise<Record<string, string>> {
  const rows = await feedProgressRows(t.pool, 'irceline');
  return Object.fromEntries(rows.map(([series, until]) => [series, until.toISOString()]));
}

/** The 42 measurements of 10:00-12:00 that are valid. */
const STORED_10_TO_12 = [
  'Antwerpen | 40AL01 - Linkeroever | pm10 10 22 µg/m³',
  'Antwerpen | 40AL01 - Linkeroever | pm10 11 21 µg/m³',
  'Antwerpen | 40AL01 - Linkeroever | pm10 12 19.5 µg/m³',
  'Antwerpen | 42R803 - Antwerpen (Park Spoor Noord) | bc 10 2.3 µg/m³',
  'Antwerpen | 42R803 - Antwerpen (Park Spoor Noord) | bc 11 2 µg/m³',
  'Antwerpen | 42R803 - Antwerpen (Park Spoor Noord) | bc 12 1.7 µg/m³',
  'Antwerpen | 42R803 - Antwerpen (Park Spoor Noord) | no2 10 42 µg/m³',
  'Antwerpen | 42R803 - Antwerpen (Park Spoor Noord) | no2 11 36 µg/m³',
  'Antwerpen | 42R803 - Antwerpen (Park Spoor Noord) | no2 12 33 µg/m³',
  'Antwerpen | 42R803 - Antwerpen (Park Spoor Noord) | pm10 10 25 µg/m³',
  'Antwerpen | 42R803 - Antwerpen (Park Spoor Noord) | pm10 11 22.5 µg/m³',
  'Antwerpen | 42R803 - Antwerpen (Park Spoor Noord) | pm10 12 20 µg/m³',
  'Antwerpen | 42R803 - Antwerpen (Park Spoor Noord) | pm25 10 14.5 µg/m³',
  'Antwerpen | 42R803 - Antwerpen (Park Spoor Noord) | pm25 11 13 µg/m³',
  'Antwerpen | 42R803 - Antwerpen (Park Spoor Noord) | pm25 12 12.5 µg/m³',
  // Arts-Loi: 10:00 came twice, 11:00 was corrected later in the same answer.
  'Brussels | 41B001 - Arts-Loi | no2 10 51 µg/m³',
  'Brussels | 41B001 - Arts-Loi | no2 11 50 µg/m³',
  'Brussels | 41B001 - Arts-Loi | no2 12 44 µg/m³',
  'Brussels | 41B006 - Bruxelles (Parlement UE) | pm25 10 10.5 µg/m³',
  'Brussels | 41B006 - Bruxelles (Parlement UE) | pm25 11 9.5 µg/m³',
  'Brussels | 41B006 - Bruxelles (Parlement UE) | pm25 12 8.5 µg/m³',
  'Brussels | 41R002 - Ixelles | co 10 360 µg/m³',
  'Brussels | 41R002 - Ixelles | co 11 340 µg/m³',
  'Brussels | 41R002 - Ixelles | co 12 320 µg/m³',
  'Brussels | 41R012 - Uccle | o3 10 45 µg/m³',
  'Brussels | 41R012 - Uccle | o3 11 49 µg/m³',
  'Brussels | 41R012 - Uccle | o3 12 52 µg/m³',
  'Brussels | 41R012 - Uccle | pm10 10 18 µg/m³',
  'Brussels | 41R012 - Uccle | pm10 11 16 µg/m³',
  'Brussels | 41R012 - Uccle | pm10 12 15.5 µg/m³',
  'Brussels | 47E013 - Vorst | no2 10 33 µg/m³',
  'Brussels | 47E013 - Vorst | no2 11 30 µg/m³',
  'Brussels | 47E013 - Vorst | no2 12 28 µg/m³',
  // Gent's ozone of 10:00 was null; Wondelgem's SO2 of 12:00 was "NaN".
  'Gent | 44R701 - Gent | no2 10 30.5 µg/m³',
  'Gent | 44R701 - Gent | no2 11 28 µg/m³',
  'Gent | 44R701 - Gent | no2 12 25 µg/m³',
  'Gent | 44R701 - Gent | o3 11 47 µg/m³',
  'Gent | 44R701 - Gent | o3 12 50 µg/m³',
  'Gent | 44R721 - Wondelgem | so2 10 3.1 µg/m³',
  'Gent | 44R721 - Wondelgem | so2 11 2.9 µg/m³',
  // Seraing's PM10 of 11:00 was -9999; Marcinelle's coordinates are "NaN": nothing stored.
  'Seraing | 43R222 - Seraing | pm10 10 27 µg/m³',
  'Seraing | 43R222 - Seraing | pm10 12 26 µg/m³',
];

const SERIES = [
  '10741',
  '10742',
  '10743',
  '10744',
  '6152',
  '6400',
  '6504',
  '6625',
  '6640',
  '6643',
  '6650',
  '6700',
  '6701',
  '7120',
  '7186',
  '7200',
];

const emptyTables = () => emptyFeedTables(t.pool);

describe('npm run feed -- irceline --once, through the API', () => {
  beforeEach(async () => {
    await emptyTables();
    fake = await startFakeIrceline();
  });
  afterEach(async () => {
    await fake.close();
  });

  it('polls all of Belgium in 9 requests, stores every valid value, rejects the others with their reasons', async () => {
    const { code, out, err } = await apiFeed();
    expect(code).toBe(1);
    expect(err).toBe('');
    expect(fake.count()).toEqual({ phenomena: 1, timeseries: 7, post: 1, get: 0, all: 9 });
    // One POST brought the three hours of the 16 active series, from a second after 09:00.
    const post = fake.requests.find((r) => r.method === 'POST')?.body as {
      timeseries: string[];
      timespan: string;
    };
    expect(post.timeseries.slice().sort()).toEqual(SERIES);
    expect(post.timespan).toMatch(new RegExp(`^${instant(at(9).getTime() + 1000)}/\\S+Z$`));
    const lines = out.split('\n');
    expect(lines[0]).toBe(`feed irceline: ${fake.url} into ${api.url}, once`);
    expect(lines[1]).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ irceline: 11 stations, 16 series \(1 idle\), 50 fetched: 42 new, 0 updated, 0 unchanged, 6 rejected, 3 skipped, 0 not fetched; 9 requests in \d+\.\d s; windows refreshed \(run \d+, 4 cities\)$/,
    );
    expect(lines.slice(2)).toEqual([
      '  rejected',
      '    3 × latitude: Float cannot represent non numeric value: "NaN". longitude: Float cannot represent non numeric value: "NaN".',
      '    1 × value -9999 is negative: a concentration is 0 or more.',
      '    1 × value is missing: it is required.',
      '    1 × value: Float cannot represent non numeric value: "NaN".',
      '  skipped',
      '    1 × repeated in the same answer',
      '    1 × replaced by a later value for the same time in the same answer',
      '    1 × timeseries entries without an id or a station',
      '',
    ]);
    expect(await stored()).toEqual(STORED_10_TO_12);
    // Every series moved on to 12:00, the rejected values' included: they are not fetched again.
    expect(await progress()).toEqual(Object.fromEntries(SERIES.map((s) => [s, iso(12)])));
  });

  it('gives the current windows of its cities at once, by any of their names', async () => {
    await apiFeed();
    const { data } = await graphql(
      api.app,
      `{ airQuality(cities: ["Anvers", "Bruxelles", "Ghent", "Seraing", "Charleroi"]) {
           city { name } belaqi pollutants { parameter average count locations } } }`,
    );
    // The window is the last three hours: the values of 11:00 and 12:00.
    expect(data.airQuality).toEqual([
      {
        city: { name: 'Antwerpen' },
        belaqi: 5,
        pollutants: [
          { parameter: 'BC', average: 1.85, count: 2, locations: 1 },
          { parameter: 'NO2', average: 34.5, count: 2, locations: 1 },
          { parameter: 'PM10', average: 20.75, count: 4, locations: 2 },
          { parameter: 'PM25', average: 12.75, count: 2, locations: 1 },
        ],
      },
      {
        city: { name: 'Brussels' },
        belaqi: 5,
        pollutants: [
          { parameter: 'CO', average: 330, count: 2, locations: 1 },
          { parameter: 'NO2', average: 38, count: 4, locations: 2 },
          { parameter: 'O3', average: 50.5, count: 2, locations: 1 },
          { parameter: 'PM10', average: 15.75, count: 2, locations: 1 },
          { parameter: 'PM25', average: 9, count: 2, locations: 1 },
        ],
      },
      {
        city: { name: 'Gent' },
        belaqi: 4,
        pollutants: [
          { parameter: 'NO2', average: 26.5, count: 2, locations: 1 },
          { parameter: 'O3', average: 48.5, count: 2, locations: 1 },
          { parameter: 'SO2', average: 2.9, count: 1, locations: 1 },
        ],
      },
      {
        city: { name: 'Seraing' },
        belaqi: 3,
        pollutants: [{ parameter: 'PM10', average: 26, count: 1, locations: 1 }],
      },
    ]);
    const stations = await graphql(
      api.app,
      '{ city(name: "Brussel") { names { nl fr de en } locations { name latitude longitude sourceName sourceType licence attribution } } }',
    );
    expect(stations.data.city.names).toEqual({
      nl: 'Brussel',
      fr: 'Bruxelles',
      de: 'Brüssel',
      en: 'Brussels',
    });
    expect(stations.data.city.locations[0]).toEqual({
      name: '41B001 - Arts-Loi',
      latitude: 50.84425087906217,
      longitude: 4.384790968373947,
      sourceName: 'IRCEL-CELINE',
      sourceType: 'government',
      licence: 'CC BY 4.0',
      attribution: 'IRCEL-CELINE, https://www.irceline.be',
    });
    expect(stations.data.city.locations.map((l: { name: string }) => l.name)).toEqual([
      '41B001 - Arts-Loi',
      '41B006 - Bruxelles (Parlement UE)',
      '41R002 - Ixelles',
      '41R012 - Uccle',
      '47E013 - Vorst',
    ]);
  });

  it('resumes where it stopped: nothing is downloaded twice, a new hour costs no more requests', async () => {
    await apiFeed();
    const first = fake.count();

    // Nothing new upstream: the listings say so, and nothing else is asked.
    const again = await apiFeed();
    expect(again.code).toBe(0);
    expect(again.out).toContain(
      'irceline: 11 stations, 16 series (1 idle), 0 fetched: 0 new, 0 updated, 0 unchanged, 0 rejected, 1 skipped, 0 not fetched; 8 requests',
    );
    expect(fake.count().all - first.all).toBe(8);
    expect(fake.count().post).toBe(1);

    // 13:00 is published: each series is an hour behind, its lastValue is all that is new.
    fake.publish(1);
    const next = await apiFeed();
    expect(next.code).toBe(1);
    expect(next.out).toContain(
      '16 series (1 idle), 16 fetched: 15 new, 0 updated, 0 unchanged, 1 rejected, 1 skipped, 0 not fetched; 8 requests',
    );
    expect(fake.count()).toEqual({ phenomena: 3, timeseries: 21, post: 1, get: 0, all: 25 });
    const rows = await stored();
    expect(rows.filter((r) => /\| \w+ 13 /.test(r))).toHaveLength(15);
    expect(rows).toHaveLength(42 + 15);
    expect(await progress()).toEqual(Object.fromEntries(SERIES.map((s) => [s, iso(13)])));
  });

  it('after hours away, asks each series for what it misses since its last value, in one request', async () => {
    // The feed last ran when 10:00 was the newest hour.
    fake.publish(-2);
    const early = await apiFeed('--since', iso(7));
    expect(early.code).toBe(1);
    expect(await progress()).toEqual(Object.fromEntries(SERIES.map((s) => [s, iso(10)])));
    const before = (await stored()).length;

    // It comes back three hours later.
    fake.publish(3);
    const back = await apiFeed();
    const posts = fake.requests.filter((r) => r.method === 'POST');
    expect(posts).toHaveLength(2);
    expect((posts[1]?.body as { timespan?: string } | undefined)?.timespan).toMatch(
      new RegExp(`^${instant(at(10).getTime() + 1000)}/`),
    );
    // 11:00, 12:00 and 13:00 of each series, Arts-Loi's corrected 11:00 counted twice; 5 of them
    // rejected (Marcinelle's three, -9999 at 11:00, "NaN" at 12:00).
    expect(back.out).toContain('49 fetched: 43 new, 0 updated, 0 unchanged, 5 rejected, 2 skipped');
    expect((await stored()).length - before).toBe(43);
    expect(await progress()).toEqual(Object.fromEntries(SERIES.map((s) => [s, iso(13)])));
  });
});

describe('when IRCEL-CELINE misbehaves', () => {
  beforeEach(async () => {
    await emptyTables();
  });
  afterEach(async () => {
    await fake.close();
  });

  it('retries a 500 and a stalled connection, reports a body that is not JSON with its URL, and stores the rest', async () => {
    fake = await startFakeIrceline();
    const listing = (phenomenon: string) => (r: { path: string; query: Record<string, string> }) =>
      r.path === '/timeseries' && r.query.phenomenon === phenomenon;
    fake.inject(listing('5'), { status: 500, json: { userMessage: 'Internal error' } });
    fake.inject(listing('6001'), { stall: true });
    fake.inject(listing('8'), { status: 200, text: '<html><body>502 Bad Gateway</body></html>' });
    const { code, out, err } = await apiFeed('--timeout', '500ms');
    expect(code).toBe(1);
    // PM10 and PM2.5 came on the second try; NO2's answer was no JSON.
    expect(fake.count()).toEqual({ phenomena: 1, timeseries: 9, post: 1, get: 0, all: 11 });
    const url = `${fake.url}/timeseries?expanded=true&force_latest_values=true&phenomenon=8`;
    expect(err).toMatch(/IRCEL-CELINE answered 500 for .*phenomenon=5; retry 1 of 1 in \d+ ms\n/);
    expect(err).toMatch(
      /IRCEL-CELINE: no answer in 0.5 s for .*phenomenon=6001; retry 1 of 1 in \d+ ms\n/,
    );
    expect(err).toContain(
      `timeseries of no2: IRCEL-CELINE answered 200 with a body that is not JSON: <html><body>502 Bad Gateway</body></html> (${url})\n`,
    );
    expect(out).toMatch(
      / irceline: 9 stations, 12 series \(1 idle\), 36 fetched: 30 new, 0 updated, 0 unchanged, 6 rejected, 0 skipped, 1 not fetched; 11 requests in /,
    );
    expect(out).toContain(
      '  not fetched\n    1 × timeseries of no2: IRCEL-CELINE answered 200 with a body that is not JSON: <html><body>502 Bad Gateway</body></html>\n',
    );
    expect(await stored()).toEqual(STORED_10_TO_12.filter((r) => !r.includes('| no2 ')));
    // NO2's series were not fetched: their progress did not move, the next poll asks for them.
    expect(Object.keys(await progress()).sort()).toEqual(
      SERIES.filter((s) => !['10741', '7186', '6504', '6700'].includes(s)),
    );
  });

  it('asks series by series where the server takes no POST of getData', async () => {
    fake = await startFakeIrceline({ refusePost: true });
    const { code, out } = await apiFeed();
    expect(code).toBe(1);
    expect(fake.count()).toEqual({ phenomena: 1, timeseries: 7, post: 1, get: 16, all: 25 });
    expect(out).toContain('50 fetched: 42 new');
    expect(await stored()).toEqual(STORED_10_TO_12);
  });

  it('keeps one series per station and pollutant where a station lists two devices', async () => {
    fake = await startFakeIrceline({ series: ['10743'], secondDevice: true });
    const { code, out } = await apiFeed();
    expect(code).toBe(0);
    expect(out).toContain(
      'irceline: 1 stations, 1 series, 3 fetched: 3 new, 0 updated, 0 unchanged, 0 rejected, 1 skipped',
    );
    expect(out).toContain(
      '    1 × second series of a pollutant at one station (the newest is kept)\n',
    );
    expect(await stored()).toEqual(
      STORED_10_TO_12.filter((r) => r.includes('Spoor Noord) | pm10')),
    );
    expect(Object.keys(await progress())).toEqual(['10743']);
  });

  it('exits 0 when everything fetched was stored or deliberately skipped', async () => {
    fake = await startFakeIrceline({ series: ['10743', '6152', '6504'] });
    const { code, out, err } = await apiFeed();
    expect([code, err]).toEqual([0, '']);
    expect(out).toContain(
      'irceline: 3 stations, 3 series, 11 fetched: 9 new, 0 updated, 0 unchanged, 0 rejected, 2 skipped, 0 not fetched; 9 requests',
    );
  });

  it('exits 2 on a usage error, and when a proxy refuses the request', async () => {
    fake = await startFakeIrceline();
    const usage = await feed(['irceline', '--interval', '10 minutes']);
    expect(usage.code).toBe(2);
    expect(usage.err).toMatch(
      /^--interval must be a duration from 1s to 1d such as 90s, 10m or 1h, got "10 minutes"\n\nUsage: npm run feed/,
    );
    expect((await feed(['openweather'])).err).toMatch(
      /^the feed is irceline or openaq, got "openweather"/,
    );
    expect(fake.requests).toEqual([]);

    fake.inject(() => true, { status: 401, json: { message: 'Proxy authentication required' } });
    const refused = await apiFeed();
    expect(refused.code).toBe(2);
    expect(refused.err).toBe(
      `IRCEL-CELINE refused the request (401): Proxy authentication required (${fake.url}/phenomena?locale=en)\n`,
    );
    expect(fake.requests).toHaveLength(1);
  });
});

describe('npm run feed -- irceline database.conf --once, straight into the database', () => {
  it('stores the same rows through belair ingestion, and keeps its progress in the database', async () => {
    await emptyTables();
    fake = await startFakeIrceline();
    try {
      const folder = await mkdtemp(join(tmpdir(), 'belair-feed-'));
      const conf = join(folder, 'database.conf');
      await writeLegacyConfig(conf, t.db);
      const { code, out } = await feed(['irceline', conf, '--once', '--since', iso(9)]);
      expect(code).toBe(1);
      expect(out.split('\n')[0]).toBe(
        `feed irceline: ${fake.url} into database ${t.db.database} on ${t.db.host}:${t.db.port}, once`,
      );
      // The same rejections, worded by belair's validation rather than by GraphQL's types.
      expect(out).toContain(
        '  rejected\n    3 × latitude "NaN" is not a number from -90 to 90 (degrees). longitude "NaN" is not a number from -180 to 180 (degrees).\n    1 × value -9999 is negative: a concentration is 0 or more.\n    1 × value "NaN" is not a finite number.\n    1 × value null is not a finite number.\n',
      );
      expect(await stored()).toEqual(STORED_10_TO_12);
      expect(await progress()).toEqual(Object.fromEntries(SERIES.map((s) => [s, iso(12)])));
      const again = await feed(['irceline', conf, '--once', '--since', iso(9)]);
      expect(again.code).toBe(0);
      expect(fake.count().all).toBe(9 + 8);
    } finally {
      await fake.close();
    }
  });
});
