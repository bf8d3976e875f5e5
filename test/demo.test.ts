import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/demo.js';
import { countOf, useTestDatabase, withEventScheduler } from './helpers/database.js';
import { captureOutput } from './helpers/output.js';

const t = useTestDatabase(import.meta.filename);
const count = (sql: string) => countOf(t.pool, sql);

describe('npm run demo', () => {
  it('starts the API, backfills, generates and refreshes, then stops with everything it sent stored', async () => {
    const output = captureOutput();
    const env = {
      DB_HOSTNAME: t.db.host,
      DB_PORT: String(t.db.port),
      DB_USERNAME: t.db.user,
      DB_PASSWORD: t.db.password,
      DB_DATABASE: t.db.database,
      PORT: '0',
    };
    const argv = ['--backfill', '1', '--rate', '1200', '--refresh-every', '1', '--duration', '3'];
    // The demo applies sql/ as the API does, which turns the global event scheduler on.
    const code = await withEventScheduler('ON', () => main(argv, { ...output, env }));
    const { out, err } = output.text();
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
});
