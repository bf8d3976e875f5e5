import type { RowDataPacket } from 'mysql2/promise';
import { beforeEach, describe, expect, it } from 'vitest';
import { main as ingestCli } from '../src/cli/ingest.js';
import { ISO_3166_1_ALPHA_2 } from '../src/ingest/countries.js';
import { postWithToken, TOKEN, useApp } from './helpers/app.js';
import { useTestDatabase } from './helpers/database.js';
import { captureOutput } from './helpers/output.js';

/**
 * Countries are ISO 3166-1 alpha-2 codes that are assigned to a country, and names (city,
 * location, source) carry no invisible formatting characters: both rejected item by item with
 * the reason, over the mutation and through npm run ingest alike, by one set of rules.
 */

const t = useTestDatabase(import.meta.filename);
const api = useApp(t);
beforeEach(async () => {
  await t.pool.query('DELETE FROM measurement');
  await t.pool.query('DELETE FROM location');
  await t.pool.query('DELETE FROM city');
});

const INGEST = `mutation ($m: [MeasurementInput!]!) {
  ingestMeasurements(measurements: $m) { received inserted rejected { index reason } }
}`;

// biome-ignore lint/suspicious/noExplicitAny: items are whatever a client may send
type Item = Record<string, any>;

let slot = 0;
function item(changes: Item = {}): Item {
  slot += 1;
  return {
    location: `Station ${slot}`,
    city: 'Gent',
    country: 'BE',
    parameter: 'PM10',
    value: 20,
    unit: 'µg/m³',
    measuredAt: new Date(Date.UTC(2026, 0, 20) + slot * 60_000).toISOString(),
    ...changes,
  };
}

async function ingest(items: Item[]) {
  const response = await postWithToken(
    api.url,
    JSON.stringify({ query: INGEST, variables: { m: items } }),
  );
  expect(response.status).toBe(200);
  // biome-ignore lint/suspicious/noExplicitAny: the answer's shape is the query's
  const json = (await response.json()) as any;
  expect(json.errors).toBeUndefined();
  return json.data.ingestMeasurements as {
    received: number;
    inserted: number;
    rejected: { index: number; reason: string }[];
  };
}

async function storedCountries(): Promise<string[]> {
  const [rows] = await t.pool.query<RowDataPacket[]>(
    'SELECT c.country FROM measurement m JOIN location l ON l.id = m.location_id JOIN city c ON c.id = l.city_id ORDER BY 1',
  );
  return rows.map((r) => r.country as string);
}

const UNASSIGNED = (sent: string) =>
  `country "${sent}" is not assigned to any country in ISO 3166-1 (Belgium is BE).`;

/** [field, the text sent, the reason the item gets]. */
const INVISIBLE: [string, string, string][] = [
  [
    'city',
    'Gen\u200bt',
    'city "Gen\\u200bt" contains an invisible formatting character (U+200B zero width space): send the name without zero-width or bidirectional marks.',
  ],
  [
    'location',
    'BETR\u202e108',
    'location "BETR\\u202e108" contains an invisible formatting character (U+202E right-to-left override): send the name without zero-width or bidirectional marks.',
  ],
  [
    'location',
    '\u2066BETR801\u2069',
    'location "\\u2066BETR801\\u2069" contains invisible formatting characters (U+2066 left-to-right isolate, U+2069 pop directional isolate): send the name without zero-width or bidirectional marks.',
  ],
  [
    'city',
    'Antwerpen\u200e',
    'city "Antwerpen\\u200e" contains an invisible formatting character (U+200E left-to-right mark): send the name without zero-width or bidirectional marks.',
  ],
  [
    'city',
    '\ufeffBrugge',
    'city "\\ufeffBrugge" contains an invisible formatting character (U+FEFF zero width no-break space (byte order mark)): send the name without zero-width or bidirectional marks.',
  ],
  [
    'sourceName',
    'EEA\u00adBelgium',
    'sourceName "EEA\\u00adBelgium" contains an invisible formatting character (U+00AD soft hyphen): send the name without zero-width or bidirectional marks.',
  ],
  [
    'sourceType',
    'govern\u2060ment',
    'sourceType "govern\\u2060ment" contains an invisible formatting character (U+2060 word joiner): send the name without zero-width or bidirectional marks.',
  ],
  [
    'city',
    'Leuven\u2028',
    'city "Leuven\\u2028" contains an invisible formatting character (U+2028 line separator): send the name without zero-width or bidirectional marks.',
  ],
  [
    'location',
    'BETR\u{e0041}801',
    'location "BETR\\udb40\\udc41801" contains an invisible formatting character (U+E0041 tag latin capital letter a): send the name without zero-width or bidirectional marks.',
  ],
];

describe('countries: assigned ISO 3166-1 alpha-2 codes only', () => {
  it('holds the 249 officially assigned codes as data', () => {
    expect(ISO_3166_1_ALPHA_2.size).toBe(249);
    expect(ISO_3166_1_ALPHA_2.get('BE')).toBe('Belgium');
    for (const code of ['XX', 'ZZ', 'UK', 'EL', 'EU', 'AA', 'QM']) {
      expect(ISO_3166_1_ALPHA_2.has(code), code).toBe(false);
    }
  });

  it('rejects codes no country has, each with the reason, and stores the good items beside them', async () => {
    const answer = await ingest([
      item(),
      item({ country: 'XX' }),
      item({ country: 'ZZ' }),
      item({ country: 'nl' }),
      item({ country: 'xx' }),
      item({ country: 'UK' }),
      item({ country: 'EL' }),
      item({ country: 'EU' }),
      item({ country: 'LU' }),
      item({ country: 'BE\u200b' }),
      // JavaScript's trim() takes a byte order mark away: the rule looks at the text as sent.
      item({ country: 'BE\ufeff' }),
    ]);
    expect(answer).toEqual({
      received: 11,
      inserted: 3,
      rejected: [
        { index: 1, reason: UNASSIGNED('XX') },
        { index: 2, reason: UNASSIGNED('ZZ') },
        { index: 4, reason: UNASSIGNED('xx') },
        {
          index: 5,
          reason:
            'country "UK" is not assigned to any country in ISO 3166-1: the United Kingdom is GB.',
        },
        {
          index: 6,
          reason: 'country "EL" is not assigned to any country in ISO 3166-1: Greece is GR.',
        },
        {
          index: 7,
          reason:
            'country "EU" is not assigned to any country in ISO 3166-1: the European Union is not a country; send the country of the station.',
        },
        {
          index: 9,
          reason: 'country "BE\\u200b" is not a two-letter ISO 3166-1 code such as BE.',
        },
        {
          index: 10,
          reason: 'country "BE\\ufeff" is not a two-letter ISO 3166-1 code such as BE.',
        },
      ],
    });
    expect(await storedCountries()).toEqual(['BE', 'LU', 'NL']);
  });
});

describe('names: no invisible formatting characters', () => {
  it('rejects zero-width, bidirectional and other formatting characters in every name, with the character named', async () => {
    const items = INVISIBLE.map(([field, text]) => item({ [field]: text }));
    const answer = await ingest([item(), ...items, item()]);
    expect(answer).toEqual({
      received: INVISIBLE.length + 2,
      inserted: 2,
      rejected: INVISIBLE.map(([, , reason], i) => ({ index: i + 1, reason })),
    });
  });

  it('keeps names in any script, with their combining marks and emoji, as they are', async () => {
    const names = ['Αθήνα', 'हिन्दी नगर', 'القاهرة', 'Liège – Île 🌫️', 'Ƶürich', '東京都'];
    const answer = await ingest(names.map((city) => item({ city })));
    expect(answer).toEqual({ received: names.length, inserted: names.length, rejected: [] });
  });
});

describe('npm run ingest applies the same rules as the mutation', () => {
  /** Realtime records of the feed, one per line. */
  const record = (changes: Item) =>
    JSON.stringify({
      location: 'BETR801',
      city: 'Antwerpen',
      country: 'BE',
      parameter: 'pm10',
      value: 21,
      unit: 'µg/m³',
      date: { utc: item().measuredAt, local: '' },
      coordinates: { latitude: 51.2, longitude: 4.43 },
      sourceName: 'EEA Belgium',
      sourceType: 'government',
      ...changes,
    });
  const CASES: Item[] = [
    { country: 'BE\t' },
    { country: ' BE' },
    { country: 'XX', location: 'BETR802' },
    { country: 'be', location: 'BETR803' },
    { city: 'Antwerpen\u200b' },
    { location: 'BETR\u202e108' },
    { sourceName: 'EEA\u00adBelgium' },
  ];

  async function run(args: string[], lines: string[]) {
    const output = captureOutput();
    async function* stdin() {
      yield Buffer.from(`${lines.join('\n')}\n`);
    }
    const code = await ingestCli(['--endpoint', api.url, '--token', TOKEN, ...args], {
      ...output,
      stdin: stdin(),
      env: {},
    });
    return { code, ...output.text() };
  }

  it('sends "BE\\t" as sent, and reports the reason the mutation gives the same item', async () => {
    const lines = CASES.map(record);
    const { code, err, out } = await run(['--country', 'all'], lines);
    expect(code).toBe(1);

    // The same items, as the file feed turns them into MeasurementInputs, sent to the mutation.
    const viaMutation = await ingest(
      CASES.map((changes) => {
        const fields = JSON.parse(record(changes));
        return item({
          location: fields.location,
          city: fields.city,
          country: fields.country,
          sourceName: fields.sourceName,
        });
      }),
    );
    const reasons = viaMutation.rejected.map((r) => r.reason);
    expect(reasons).toEqual([
      'country "BE\\t" is not a two-letter ISO 3166-1 code such as BE.',
      UNASSIGNED('XX'),
      'city "Antwerpen\\u200b" contains an invisible formatting character (U+200B zero width space): send the name without zero-width or bidirectional marks.',
      'location "BETR\\u202e108" contains an invisible formatting character (U+202E right-to-left override): send the name without zero-width or bidirectional marks.',
      'sourceName "EEA\\u00adBelgium" contains an invisible formatting character (U+00AD soft hyphen): send the name without zero-width or bidirectional marks.',
    ]);
    expect(viaMutation.rejected.map((r) => r.index)).toEqual([0, 2, 4, 5, 6]);
    expect(err).toBe(
      [0, 2, 4, 5, 6].map((line, i) => `stdin:${line + 1}: rejected: ${reasons[i]}\n`).join(''),
    );
    expect(out).toContain('  sent          7\n    inserted    2\n');
    expect(out).toContain('    rejected    5\n');
  });

  it('keeps "BE\\t" under --country BE, so that the feed hears why it is wrong', async () => {
    const { code, err, out } = await run(['--country', 'BE'], [record({ country: 'BE\t' })]);
    expect(code).toBe(1);
    expect(err).toBe(
      'stdin:1: rejected: country "BE\\t" is not a two-letter ISO 3166-1 code such as BE.\n',
    );
    expect(out).toContain('  filtered out  0 (keeping BE)\n  sent          1\n');
  });

  it('reports a pollutant code with a tab after it as malformed, not as a parameter to leave out', async () => {
    const { code, err, out } = await run(['--country', 'BE'], [record({ parameter: 'pm10\t' })]);
    expect(code).toBe(1);
    expect(err).toBe(
      'stdin:1: malformed: "parameter" "pm10\\t" has spaces or control characters around its code\n',
    );
    expect(out).toContain('  malformed     1\n  filtered out  0 (keeping BE)\n  sent          0\n');
  });

  it('refuses a --country that is no assigned code', async () => {
    const { code, err } = await run(['--country', 'BE,XX'], []);
    expect(code).toBe(2);
    expect(err).toMatch(
      /^--country: XX is not assigned to any country in ISO 3166-1 \(Belgium is BE\)\n\nUsage: npm run ingest/,
    );
  });
});
