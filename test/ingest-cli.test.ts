import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RowDataPacket } from 'mysql2/promise';
import { beforeEach, describe, expect, it } from 'vitest';
import { main } from '../src/cli/ingest.js';
import { TOKEN, useApp } from './helpers/app.js';
import { clearMeasurements, useTestDatabase } from './helpers/database.js';
import { type Fault, startFlakyProxy } from './helpers/flaky-proxy.js';
import { captureOutput } from './helpers/output.js';

// How the files are read and parsed: test/unit/openaq-realtime.test.ts.

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
/** What the API says about the feed's -999, its "no data" value. */
const NEGATIVE = 'value -999 is negative: a concentration is 0 or more.';
/** What realtime.ndjson leaves stored of its Belgian records. */
const BELGIAN_ROWS = [
  'BE Antwerpen BETR801 pm25 2026-11-20T08:00:00Z 14 µg/m³',
  'BE Antwerpen BETR801 pm25 2026-11-20T09:00:00Z 13.1 µg/m³',
  'BE Antwerpen BETR801 pm25 2026-11-20T10:00:00Z 12.5 µg/m³',
  'BE Brussels-Capital Region BETN043 o3 2026-11-20T10:00:00Z 0.031 ppm',
  'BE Liège Liège – Saint-Léonard no2 2026-11-20T10:00:00Z 31.2 µg/m³',
];

describe('npm run ingest, against the running app', () => {
  const t = useTestDatabase(import.meta.filename);
  const api = useApp(t);
  beforeEach(() => clearMeasurements(t.pool));

  async function ingest(args: string[], stdin: AsyncIterable<unknown> = text()) {
    const output = captureOutput();
    const code = await main(args, { ...output, stdin, env: {} });
    return { code, ...output.text() };
  }

  async function* text(...chunks: string[]) {
    for (const chunk of chunks) yield Buffer.from(chunk);
  }

  const fixture = (name: string) => `${FIXTURES}${name}`;
  const auth = () => ['--endpoint', api.url, '--token', TOKEN];

  async function stored(): Promise<string[]> {
    const [rows] = await t.pool.query<RowDataPacket[]>(
      `SELECT CONCAT_WS(' ', c.country, c.name, l.name, m.pollutant,
                DATE_FORMAT(m.measured_at, '%Y-%m-%dT%H:%i:%sZ'), m.original_value, m.original_unit) AS row
       FROM measurement m JOIN location l ON l.id = m.location_id JOIN city c ON c.id = l.city_id
       ORDER BY c.country, c.name, l.name, m.pollutant, m.measured_at`,
    );
    return rows.map((r) => r.row as string);
  }

  it('stores the Belgian records of a realtime file and accounts for every other one', async () => {
    const { code, out, err } = await ingest([...auth(), fixture('realtime.ndjson')]);
    expect(code).toBe(1);
    const where = fixture('realtime.ndjson');
    expect(err.split('\n')).toEqual([
      `${where}:5: malformed: not valid JSON (Expected ',' or '}' after property value in JSON at position 74): {"location":"BETR802","city":"Antwerpen","country":"BE","par…`,
      `${where}:11: malformed: "value" must be a number, got "n/a"`,
      `${where}:15: malformed: not valid JSON (Unterminated string in JSON at position 70): {"location":"BETR802","city":"Antwerpen","country":"BE","par…`,
      `${where}:13: rejected: ${NEGATIVE}`,
      '',
    ]);
    expect(out).toBe(
      [
        'ingest summary',
        '  inputs        1',
        '  read          14 records',
        '  malformed     3',
        '  filtered out  5 (keeping BE)',
        '      1 × country BG',
        '      1 × country GR',
        '      1 × country JP',
        '      1 × country NL',
        '      1 × parameter pm1',
        '  sent          6',
        '    inserted    5',
        '    updated     0',
        '    unchanged   0',
        '    rejected    1',
        `      1 × ${NEGATIVE}`,
        '  not sent      0',
        '',
      ].join('\n'),
    );
    expect(await stored()).toEqual(BELGIAN_ROWS);
  });

  it('keeps every country with --country all, non-Latin names intact', async () => {
    const { code, out } = await ingest([...auth(), '--country', 'all', fixture('realtime.ndjson')]);
    expect(code).toBe(1);
    expect(out).toContain(
      '  filtered out  1\n      1 × parameter pm1\n  sent          10\n    inserted    9\n',
    );
    expect(await stored()).toEqual([
      ...BELGIAN_ROWS,
      'BG София Дружба pm10 2026-11-20T09:00:00Z 27.4 µg/m³',
      'GR Αθήνα Αγία Σοφία no2 2026-11-20T10:00:00Z 38.2 µg/m³',
      'JP 東京都 千代田区神田司町 co 2026-11-20T01:00:00Z 0.4 ppm',
      'NL Amsterdam NL49014 pm10 2026-11-20T10:00:00Z 18 µg/m³',
    ]);
  });

  it('exits 0 when every record is stored, and stores nothing twice when run again', async () => {
    const files = ['belgium.ndjson.gz', 'sns-notifications.ndjson', 'lambda-sqs-event.json'];
    const first = await ingest([...auth(), ...files.map(fixture)]);
    expect([first.code, first.err]).toEqual([0, '']);
    expect(first.out).toContain('  read          10 records\n');
    expect(first.out).toContain('  sent          10\n    inserted    10\n');
    const rows = await stored();
    expect(rows).toHaveLength(10);
    const again = await ingest([...auth(), '--batch-size', '3', ...files.map(fixture)]);
    expect(again.code).toBe(0);
    expect(again.out).toContain('    inserted    0\n    updated     0\n    unchanged   10\n');
    expect(await stored()).toEqual(rows);
  });

  it('reads standard input when given no files, as a script run by npm', async () => {
    const child = spawn(TSX, ['src/cli/ingest.ts', ...auth(), '--country', 'all'], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.stderr.on('data', (chunk) => {
      err += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    createReadStream(fixture('lambda-events.ndjson')).pipe(child.stdin);
    expect(await exited).toBe(1);
    expect(err).toBe(
      "stdin:3 Records[0].Sns.Message: malformed: SNS Message is not JSON: Expected property name or '}' in JSON at position 1\n",
    );
    expect(out).toContain('  read          4 records\n  malformed     1\n');
    expect(out).toContain('    inserted    3\n');
    expect(await stored()).toEqual([
      'BE Diepenbeek BETR232 no2 2026-11-25T06:00:00Z 17.9 µg/m³',
      'BE Genk BETR222 pm10 2026-11-25T06:00:00Z 24.2 µg/m³',
      'UA Київ Голосіївський pm25 2026-11-25T06:00:00Z 15.5 µg/m³',
    ]);
  });

  /** Ingests the SQS fixture through a proxy that fails as told; what the proxy saw, too. */
  async function ingestThrough(faults: Fault[]) {
    const proxy = await startFlakyProxy(api.url, faults);
    try {
      const args = ['--endpoint', proxy.url, '--token', TOKEN, fixture('lambda-sqs-event.json')];
      return { ...(await ingest(args)), log: proxy.log };
    } finally {
      await proxy.close();
    }
  }

  it('retries a 503 and stores the batch once', async () => {
    const { code, out, err, log } = await ingestThrough(['503']);
    expect(code).toBe(0);
    expect(err).toMatch(
      /^request failed \(HTTP 503 from .*: Service Unavailable\); retry 1 of 5 in \d+ ms\n$/,
    );
    expect(log).toEqual(['503', 'passed']);
    expect(out).toContain('    inserted    3\n    updated     0\n    unchanged   0\n');
    expect(await stored()).toHaveLength(3);
  });

  it('retries when the answer is lost after the batch was stored, without storing it twice', async () => {
    const { code, out, err, log } = await ingestThrough(['drop-answer']);
    expect(code).toBe(0);
    expect(err).toMatch(
      /^request failed \(cannot reach .*: UND_ERR_SOCKET\); retry 1 of 5 in \d+ ms\n$/,
    );
    expect(log).toEqual(['drop-answer', 'passed']);
    // The first answer never arrived: the retry finds the batch stored already.
    expect(out).toContain('    inserted    0\n    updated     0\n    unchanged   3\n');
    expect(await stored()).toHaveLength(3);
  });

  it('gives up on a server that stays away, and says what was not sent', async () => {
    const closed = await startFlakyProxy(api.url, []);
    await closed.close();
    const { code, out } = await ingest([
      '--endpoint',
      closed.url,
      '--token',
      TOKEN,
      '--retries',
      '1',
      fixture('lambda-sqs-event.json'),
    ]);
    expect(code).toBe(1);
    expect(out).toContain('  not sent      3\n');
    expect(out).toMatch(
      / {2}stopped: cannot reach http:\/\/127\.0\.0\.1:\d+\/graphql: ECONNREFUSED \(after 2 attempts\)\n$/,
    );
  });

  it('refuses to write without a token, and says how to give one', async () => {
    const { code, out } = await ingest(['--endpoint', api.url, fixture('lambda-sqs-event.json')]);
    expect(code).toBe(1);
    expect(out).toContain('  not sent      3\n');
    expect(out).toContain(
      "  stopped: UNAUTHENTICATED: This operation writes data: send the header Authorization: Bearer <token> with a token from the server's API_TOKENS. (no token was given: pass --token or set API_TOKENS)\n",
    );
    expect(await stored()).toEqual([]);
  });

  it('goes on with the other files when one cannot be read', async () => {
    const { code, out, err } = await ingest([
      ...auth(),
      fixture('missing.ndjson'),
      fixture('lambda-sqs-event.json'),
    ]);
    expect(code).toBe(1);
    expect(err).toBe(
      `${fixture('missing.ndjson')}: unreadable: ENOENT: no such file or directory, open '${fixture('missing.ndjson')}'\n`,
    );
    expect(out).toContain('  inputs        2 (1 could not be read)\n');
    expect(await stored()).toHaveLength(3);
  });

  it('explains its usage', async () => {
    const wrong = await ingest(['--country', 'Belgium']);
    expect(wrong.code).toBe(2);
    expect(wrong.err).toMatch(
      /^--country takes two-letter codes \(BE, or BE,NL\) or "all", got "Belgium"\n\nUsage: npm run ingest/,
    );
    const help = await ingest(['--help']);
    expect([
      help.code,
      help.out.startsWith('Usage: npm run ingest -- [options] [files...]'),
    ]).toEqual([0, true]);
  });
});
