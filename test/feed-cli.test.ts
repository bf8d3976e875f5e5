import { type ChildProcess, spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseStationLabel } from '../src/sources/irceline/station-label.js';
import { stationCodeIn } from '../src/sources/openaq/station-code.js';
import { parseDuration } from '../src/util/duration.js';
import { graphql, TOKEN, useApp } from './helpers/app.js';
import { useTestDatabase, waitFor } from './helpers/database.js';
import { startFakeIrceline } from './helpers/fake-irceline.js';
import { watchProcess } from './helpers/watched-process.js';

/**
 * The feed as a user runs it: `npm run feed -- irceline --once` against a running API, with
 * IRCELINE_API_URL pointing at the local stand-in of IRCEL-CELINE; and the long-running feed
 * stopped by SIGTERM, as docker stop does.
 */

const t = useTestDatabase(import.meta.filename);
const api = useApp(t);

function run(command: string, args: string[], env: Record<string, string>) {
  const child = spawn(command, args, {
    cwd: new URL('..', import.meta.url),
    env: { ...process.env, API_TOKENS: TOKEN, ...env },
  });
  const { seen, exited } = watchProcess(child);
  return { child, seen, exited: exited.then(({ code }) => code) };
}

describe('npm run feed -- irceline --once', () => {
  it('gives the current windows of the cities of the stations it fetched', async () => {
    const fake = await startFakeIrceline();
    try {
      const { seen, exited } = run(
        'npm',
        ['run', '--silent', 'feed', '--', 'irceline', '--once', '--endpoint', api.url],
        {
          IRCELINE_API_URL: fake.url,
        },
      );
      expect(await exited).toBe(1);
      expect(seen.err).toBe('');
      expect(seen.out).toMatch(
        new RegExp(
          `^feed irceline: ${fake.url} into ${api.url}, once\\n\\S+Z irceline: 11 stations, 16 series \\(1 idle\\), \\d+ fetched: \\d+ new, 0 updated, 0 unchanged, \\d+ rejected, \\d+ skipped, 0 not fetched; 9 requests in \\S+ s; windows refreshed \\(run \\d+, 4 cities\\)\\n`,
        ),
      );
      const { data } = await graphql(
        api.app,
        '{ airQuality { city { name names { fr } } belaqi pollutants { parameter } } }',
      );
      expect(data.airQuality).toEqual([
        {
          city: { name: 'Antwerpen', names: { fr: 'Anvers' } },
          belaqi: 5,
          pollutants: [
            { parameter: 'BC' },
            { parameter: 'NO2' },
            { parameter: 'PM10' },
            { parameter: 'PM25' },
          ],
        },
        {
          city: { name: 'Brussels', names: { fr: 'Bruxelles' } },
          belaqi: 5,
          pollutants: [
            { parameter: 'CO' },
            { parameter: 'NO2' },
            { parameter: 'O3' },
            { parameter: 'PM10' },
            { parameter: 'PM25' },
          ],
        },
        {
          city: { name: 'Gent', names: { fr: 'Gand' } },
          belaqi: 4,
          pollutants: [{ parameter: 'NO2' }, { parameter: 'O3' }, { parameter: 'SO2' }],
        },
        {
          city: { name: 'Seraing', names: { fr: 'Seraing' } },
          belaqi: 3,
          pollutants: [{ parameter: 'PM10' }],
        },
      ]);
    } finally {
      await fake.close();
    }
  });
});

describe('npm run feed -- irceline, until SIGTERM', () => {
  it('polls every interval, and stops cleanly on SIGTERM between two polls', async () => {
    // A feed of its own: no progress from the run above.
    await t.pool.query('DELETE FROM feed_progress');
    const fake = await startFakeIrceline({ series: ['10743', '6152'] });
    try {
      const { child, seen, exited } = run(
        process.execPath,
        [
          '--import',
          'tsx',
          'src/cli/feed.ts',
          'irceline',
          '--interval',
          '1h',
          '--endpoint',
          api.url,
        ],
        { IRCELINE_API_URL: fake.url },
      );
      await waitFor(
        async () => (/ irceline: 2 stations/.test(seen.out) ? true : undefined),
        60_000,
        'the first poll',
      );
      (child as ChildProcess).kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(seen.out).toMatch(
        new RegExp(`^feed irceline: ${fake.url} into ${api.url}, every 1h until Ctrl-C\\n`),
      );
      expect(seen.err).toBe(
        '\nSIGTERM: storing what was fetched, then stopping (again to quit at once)\n',
      );
      expect(fake.requests).toHaveLength(9);
    } finally {
      await fake.close();
    }
  });
});

describe('what the feeds read in names', () => {
  it('takes durations as 90s, 10m, 1h30m', () => {
    expect(
      ['90s', '10m', '1h', '1h30m', '500ms', '2d', '10 minutes', '', '5x'].map(parseDuration),
    ).toEqual([90_000, 600_000, 3_600_000, 5_400_000, 500, 172_800_000, null, null, null]);
  });

  it('reads the code and the place of an IRCEL-CELINE label', () => {
    expect(
      [
        '42R803 - Antwerpen (Park Spoor Noord)',
        '41B006 - Bruxelles (Parlement UE)',
        '41WOL1 - Wol.St.L.',
        'RMBX03 - Bruxelles (Brouckere)',
        'Ukkel',
      ].map(parseStationLabel),
    ).toEqual([
      { code: '42R803', place: 'Antwerpen' },
      { code: '41B006', place: 'Bruxelles' },
      { code: '41WOL1', place: 'Wol.St.L.' },
      { code: 'RMBX03', place: 'Bruxelles' },
      { code: null, place: 'Ukkel' },
    ]);
  });

  it('finds a Belgian station code in an OpenAQ location name', () => {
    expect(
      [
        'BETR801',
        'Antwerpen BETN043',
        '42R801 - Borgerhout',
        'Gent - Sint-Pietersplein',
        'PARIS 1ER',
        null,
      ].map(stationCodeIn),
    ).toEqual(['BETR801', 'BETN043', '42R801', null, null, null]);
  });
});
