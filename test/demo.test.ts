import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/demo.js';
import { countOf, dbEnv, useTestDatabase, withEventScheduler } from './helpers/database.js';
import { startFakeIrceline } from './helpers/fake-irceline.js';
import { runScript } from './helpers/output.js';

const t = useTestDatabase(import.meta.filename);
const count = (sql: string) => countOf(t.pool, sql);

/** npm run demo on the test database, in this process, with the global event scheduler as told. */
const demo = (scheduler: 'ON' | 'OFF', argv: string[], env: Record<string, string> = {}) =>
  withEventScheduler(scheduler, () => runScript(main, argv, { ...dbEnv(t.db), PORT: '0', ...env }));

describe('npm run demo', () => {
  it('starts the API, backfills, generates and refreshes, then stops with everything it sent stored', async () => {
    const argv = ['--backfill', '1', '--rate', '1200', '--refresh-every', '1', '--duration', '3'];
    // The demo applies sql/ as the API does, which turns the global event scheduler on.
    const { code, out, err } = await demo('ON', argv);
    expect([code, err]).toEqual([0, '']);
    expect(out).toMatch(
      / {2}GraphiQL {2}http:\/\/localhost:\d+\/graphql\n {2}token {5}demo-[0-9a-f]{32}\n/,
    );
    const backfill = /backfill: ([\d,]+) measurements over the last 1 h \(([\d,]+) new\)/.exec(out);
    const live = /stopped: ([\d,]+) live measurements sent \(([\d,]+) new, 0 rejected\)/.exec(out);
    if (!backfill || !live) throw new Error(`unexpected output:\n${out}`);
    const number = (text: string | undefined) => Number(text?.replaceAll(',', ''));
    expect(number(live[1])).toBeGreaterThan(0);
    expect(await count('SELECT COUNT(*) AS n FROM measurement')).toBe(
      number(backfill[2]) + number(live[2]),
    );
    // At least the run that followed the backfill; the timer adds more.
    expect(await count('SELECT COUNT(*) AS n FROM air_quality_run')).toBeGreaterThanOrEqual(1);
    expect(out).toContain('windows refreshed: run ');
  });

  it('gives a backfill longer than a window a history: a past window every 30 minutes, the current one last', async () => {
    await t.pool.query('DELETE FROM air_quality_run');
    const argv = ['--backfill', '5', '--rate', '600', '--refresh-every', '3600', '--duration', '1'];
    const { code, out, err } = await demo('OFF', argv);
    expect([code, err]).toEqual([0, '']);
    // 5 h of data: past windows from 2 h ago (the first full 3 h) to now, every 30 minutes.
    expect(out).toContain('history: 4 past windows, one every 30 minutes of the backfill\n');
    const [runs] = (await t.pool.query(
      'SELECT evaluated_at AS at, measurements FROM air_quality_run ORDER BY evaluated_at',
    )) as unknown as [{ at: Date; measurements: number }[]];
    expect(runs).toHaveLength(5);
    const gaps = runs
      .slice(1, 4)
      .map((run, i) => run.at.getTime() - (runs[i] as { at: Date }).at.getTime());
    expect(gaps).toEqual([1_800_000, 1_800_000, 1_800_000]);
    // Each past window holds three hours of the backfill, as the current one does.
    for (const run of runs) expect(run.measurements).toBeGreaterThan(0);
    // The current run is the one after the backfill, the latest.
    const [[current]] = (await t.pool.query(
      'SELECT MAX(evaluated_at) AS at FROM air_quality_run',
    )) as unknown as [[{ at: Date }]];
    expect(Date.now() - current.at.getTime()).toBeLessThan(60_000);
  });

  it('runs on real data with --feed irceline: the feed into its own API instead of the generator', async () => {
    await t.pool.query('DELETE FROM measurement');
    // The stand-in of IRCEL-CELINE, with three clean series: Antwerpen's PM10, Linkeroever's, Arts-Loi's NO2.
    const fake = await startFakeIrceline({ series: ['10743', '6152', '6504'] });
    try {
      const argv = ['--feed', 'irceline', '--duration', '2'];
      const { code, out, err } = await demo('ON', argv, { IRCELINE_API_URL: fake.url });
      expect([code, err]).toEqual([0, '']);
      expect(out).toContain(`real data from irceline (${fake.url}) every 10m; Ctrl-C to stop\n`);
      expect(out).toMatch(
        /feed irceline: http:\/\/127\.0\.0\.1:\d+ into http:\/\/localhost:\d+\/graphql, every 10m until Ctrl-C\n/,
      );
      const summary =
        / irceline: 3 stations, 3 series, (\d+) fetched: (\d+) new, 0 updated, 0 unchanged, 0 rejected, \d+ skipped, 0 not fetched; 9 requests in \S+ s; windows refreshed \(run \d+, 2 cities\)\n/.exec(
          out,
        );
      if (!summary) throw new Error(`unexpected output:\n${out}`);
      expect(await count('SELECT COUNT(*) AS n FROM measurement')).toBe(Number(summary[2]));
      expect(fake.requests).toHaveLength(9);
    } finally {
      await fake.close();
    }
  });
});
