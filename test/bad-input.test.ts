import type { RowDataPacket } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { postWithToken, useApp } from './helpers/app.js';
import { useTestDatabase } from './helpers/database.js';
import { INGEST, measurement } from './helpers/measurements.js';

/**
 * The corpus of bad input to ingestMeasurements, sent over HTTP to a real server. Item-level cases
 * travel between two good items: the bad one must be rejected with its exact reason, the good
 * ones stored. Request-level cases must fail as a whole and store nothing. At the end the database
 * must hold exactly what the corpus says was accepted.
 */

const MAX_BATCH = 20;
const MAX_BODY = 64 * 1024;

const t = useTestDatabase(import.meta.filename);
const api = useApp(t, {
  env: { INGEST_MAX_BATCH: String(MAX_BATCH), MAX_BODY_BYTES: String(MAX_BODY) },
});

/** JSON text sent as it is, for what JSON.stringify cannot write (1e999 parses to Infinity). */
class Raw {
  constructor(readonly json: string) {}
}
const raw = (json: string) => new Raw(json);

/** A request body: JSON.stringify, with Raw values spliced in as written. */
function body(payload: unknown): string {
  const spliced: string[] = [];
  const text = JSON.stringify(payload, (_key, value) => {
    if (!(value instanceof Raw)) return value;
    spliced.push(value.json);
    return `\u0000raw${spliced.length - 1}\u0000`;
  });
  return text.replace(/"\\u0000raw(\d+)\\u0000"/g, (_m, i: string) => spliced[Number(i)] as string);
}

async function post(text: string) {
  const response = await postWithToken(api.url, text);
  // biome-ignore lint/suspicious/noExplicitAny: whatever the server answered
  return { status: response.status, json: (await response.json()) as any };
}

const ingest = (m: unknown) => post(body({ query: INGEST, variables: { m } }));

// biome-ignore lint/suspicious/noExplicitAny: items are whatever a client may send
type Item = Record<string, any>;

const BASE = Date.UTC(2026, 0, 15, 0, 0, 0);
/** Measurement times of the corpus: slot n is BASE + n minutes, one slot per item sent. */
const at = (slot: number) => new Date(BASE + slot * 60_000).toISOString();

/** The good items around row n: station "Corpus", slots 3n and 3n+1, values that say which. */
function good(row: number, which: 0 | 1): Item {
  return {
    ...measurement('Corpusstad', 'Corpus', 'PM10', row + which / 2, at(3 * row + which)),
    latitude: 50.85,
    longitude: 4.35,
    sourceName: 'corpus',
    sourceType: 'government',
  };
}

/** The item under test in row n: a station of its own and slot 3n+2, changed by the case. */
function candidate(row: number, changes: Item): Item {
  const item: Item = {
    ...measurement('Corpusstad', `Candidate ${row}`, 'PM10', 77.5, at(3 * row + 2)),
    ...changes,
  };
  // A change to undefined leaves the field out (JSON.stringify would too).
  for (const key of Object.keys(item)) if (item[key] === undefined) delete item[key];
  return item;
}

const TEN_KB = 10 * 1024;
const long = (c: string) => c.repeat(TEN_KB);
/** How validation quotes a long text: its first 40 characters, then its length. */
const quotedLong = (c: string) => `"${c.repeat(40)}"… (${TEN_KB} characters)`;

const NOT_ISO = 'is not an ISO-8601 date and time with a time zone, such as 2024-05-01T12:00:00Z.';
const NOT_REAL = 'is not a real date and time, such as 2024-05-01T12:00:00Z.';
const NOT_COUNTRY = 'is not a two-letter ISO 3166-1 code such as BE.';
const UNKNOWN_UNIT = 'is not known: use µg/m³ (or ug/m3), or ppm for gases.';
const CONTROL = 'contains control characters (tabs, line breaks, ...).';
const SURROGATE = 'is not valid Unicode (a lone surrogate).';
const FAULT = 'such a reading is a sensor or transmission fault.';
/** "(2026-11-27T21:49:47.098Z)": the server's clock, which the test does not control. */
const AHEAD = (sent: string) =>
  new RegExp(
    `^measuredAt ${sent.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is more than 10 minutes ahead of the server's clock \\(\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z\\): send the instant the measurement was taken, with its time zone\\.$`,
  );
const IN_AN_HOUR = new Date(Date.now() + 3600_000).toISOString();
const IN_FIVE_MINUTES = new Date(Math.floor((Date.now() + 5 * 60_000) / 1000) * 1000);

/**
 * Items that must be rejected: [name, the changes to a valid item (or the whole item, for items
 * that are not objects), the exact reason]. Reasons GraphQL words itself start with "field: ".
 */
type Rejected = [name: string, item: Item | { whole: unknown }, reason: string | RegExp];
const REJECTED: Rejected[] = [
  // Wrong types
  ['value as text', { value: '12.5' }, 'value: Float cannot represent non numeric value: "12.5".'],
  ['value as boolean', { value: true }, 'value: Float cannot represent non numeric value: true.'],
  [
    'value as object',
    { value: { amount: 12 } },
    'value: Float cannot represent non numeric value: { amount: 12 }.',
  ],
  ['value as list', { value: [12] }, 'value: Float cannot represent non numeric value: [12].'],
  [
    'location as number',
    { location: 801 },
    'location: String cannot represent a non string value: 801.',
  ],
  ['city as boolean', { city: false }, 'city: String cannot represent a non string value: false.'],
  [
    'country as number',
    { country: 56 },
    'country: String cannot represent a non string value: 56.',
  ],
  [
    'unit as object',
    { unit: { name: 'ppm' } },
    'unit: String cannot represent a non string value: { name: "ppm" }.',
  ],
  [
    'parameter as number',
    { parameter: 25 },
    'parameter: Enum "Pollutant" cannot represent non-string value: 25.',
  ],
  ['measuredAt as epoch seconds', { measuredAt: 1714564800 }, `measuredAt "1714564800" ${NOT_ISO}`],
  [
    'measuredAt as epoch milliseconds',
    { measuredAt: 1714564800000 },
    `measuredAt "1714564800000" ${NOT_ISO}`,
  ],
  [
    'measuredAt as epoch seconds in text',
    { measuredAt: '1714564800' },
    `measuredAt "1714564800" ${NOT_ISO}`,
  ],
  [
    'latitude as text',
    { latitude: '50.85' },
    'latitude: Float cannot represent non numeric value: "50.85".',
  ],
  [
    'sourceName as number',
    { sourceName: 7 },
    'sourceName: String cannot represent a non string value: 7.',
  ],
  [
    'sourceType as list',
    { sourceType: ['government'] },
    'sourceType: String cannot represent a non string value: ["government"].',
  ],

  // NaN and Infinity: JSON has no NaN, but 1e999 parses to Infinity
  [
    'value 1e999 (Infinity)',
    { value: raw('1e999') },
    'value: Float cannot represent non numeric value: Infinity.',
  ],
  [
    'value -1e999 (-Infinity)',
    { value: raw('-1e999') },
    'value: Float cannot represent non numeric value: -Infinity.',
  ],
  ['value "NaN"', { value: 'NaN' }, 'value: Float cannot represent non numeric value: "NaN".'],
  [
    'value "Infinity"',
    { value: 'Infinity' },
    'value: Float cannot represent non numeric value: "Infinity".',
  ],
  [
    'latitude 1e999',
    { latitude: raw('1e999') },
    'latitude: Float cannot represent non numeric value: Infinity.',
  ],

  // Negative values
  ['value -1', { value: -1 }, 'value -1 is negative: a concentration is 0 or more.'],
  ['value -0.001', { value: -0.001 }, 'value -0.001 is negative: a concentration is 0 or more.'],
  ['value -1e308', { value: -1e308 }, 'value -1e+308 is negative: a concentration is 0 or more.'],

  // Above a pollutant's plausible maximum
  [
    'pm10 just above 5000',
    { value: 5000.01 },
    `value 5000.01 µg/m³ is above the plausible maximum of 5000 µg/m³ for pm10: ${FAULT}`,
  ],
  [
    'pm25 1e308',
    { parameter: 'PM25', value: 1e308 },
    `value 1e+308 µg/m³ is above the plausible maximum of 2000 µg/m³ for pm25: ${FAULT}`,
  ],
  [
    'bc above 500',
    { parameter: 'BC', value: 500.5 },
    `value 500.5 µg/m³ is above the plausible maximum of 500 µg/m³ for bc: ${FAULT}`,
  ],
  [
    'co 131 ppm (above 150000 µg/m³)',
    { parameter: 'CO', unit: 'ppm', value: 131 },
    `value 131 ppm (150074.0 µg/m³) is above the plausible maximum of 150000 µg/m³ for co: ${FAULT}`,
  ],
  [
    'no2 1e308 ppm (overflows in µg/m³)',
    { parameter: 'NO2', unit: 'ppm', value: 1e308 },
    `value 1e+308 ppm is above the plausible maximum of 4000 µg/m³ for no2: ${FAULT}`,
  ],

  // The future
  ['measuredAt an hour ahead', { measuredAt: IN_AN_HOUR }, AHEAD(IN_AN_HOUR)],
  [
    'measuredAt 9999-12-31',
    { measuredAt: '9999-12-31T23:59:59Z' },
    AHEAD('9999-12-31T23:59:59.000Z'),
  ],
  [
    'measuredAt in the year 10000',
    { measuredAt: '10000-01-01T00:00:00Z' },
    `measuredAt "10000-01-01T00:00:00Z" ${NOT_ISO}`,
  ],

  // Malformed dates
  [
    'measuredAt without time zone',
    { measuredAt: '2026-01-15T12:00:00' },
    'measuredAt "2026-01-15T12:00:00" has no time zone: add Z for UTC (OpenAQ date.utc) or an offset such as +02:00.',
  ],
  [
    'measuredAt 2024-02-30',
    { measuredAt: '2024-02-30T12:00:00Z' },
    `measuredAt "2024-02-30T12:00:00Z" ${NOT_REAL}`,
  ],
  [
    'measuredAt 2023-02-29 (not a leap year)',
    { measuredAt: '2023-02-29T12:00:00Z' },
    `measuredAt "2023-02-29T12:00:00Z" ${NOT_REAL}`,
  ],
  [
    'measuredAt 2024-13-01',
    { measuredAt: '2024-13-01T12:00:00Z' },
    `measuredAt "2024-13-01T12:00:00Z" ${NOT_REAL}`,
  ],
  [
    'measuredAt at 24:00',
    { measuredAt: '2024-05-01T24:00:00Z' },
    `measuredAt "2024-05-01T24:00:00Z" ${NOT_REAL}`,
  ],
  ['measuredAt a date only', { measuredAt: '2024-05-01' }, `measuredAt "2024-05-01" ${NOT_ISO}`],
  [
    'measuredAt garbage',
    { measuredAt: 'yesterday at noon' },
    `measuredAt "yesterday at noon" ${NOT_ISO}`,
  ],
  [
    'measuredAt offset +25:00',
    { measuredAt: '2024-05-01T12:00:00+25:00' },
    'measuredAt "2024-05-01T12:00:00+25:00" has an impossible UTC offset +25:00.',
  ],
  [
    'measuredAt before the year 1000',
    { measuredAt: '0999-12-31T23:59:59Z' },
    'measuredAt "0999-12-31T23:59:59Z" is outside the years 1000 to 9999 that the database can store.',
  ],
  [
    'measuredAt as object',
    { measuredAt: { utc: '2024-05-01T12:00:00Z' } },
    `measuredAt "{\\"utc\\":\\"2024-05-01T12:00:00Z\\"}" ${NOT_ISO}`,
  ],

  // Unknown pollutant, unknown unit, ppm where it does not apply
  [
    'unknown pollutant PM1',
    { parameter: 'PM1' },
    'parameter: Value "PM1" does not exist in "Pollutant" enum. Did you mean the enum value "PM10" or "PM25"?',
  ],
  [
    'pollutant as the OpenAQ code pm25',
    { parameter: 'pm25' },
    'parameter: Value "pm25" does not exist in "Pollutant" enum. Did you mean the enum value "PM25" or "PM10"?',
  ],
  [
    'unknown pollutant NH3',
    { parameter: 'NH3' },
    'parameter: Value "NH3" does not exist in "Pollutant" enum. Did you mean the enum value "NO2" or "O3"?',
  ],
  ['unknown unit mg/m³', { unit: 'mg/m³' }, `unit "mg/m³" ${UNKNOWN_UNIT}`],
  ['unknown unit ppb', { parameter: 'NO2', unit: 'ppb' }, `unit "ppb" ${UNKNOWN_UNIT}`],
  [
    'ppm for pm25',
    { parameter: 'PM25', unit: 'ppm' },
    'unit ppm does not apply to pm25: send particulate matter and black carbon in µg/m³.',
  ],
  [
    'ppm for pm10',
    { parameter: 'PM10', unit: 'ppm' },
    'unit ppm does not apply to pm10: send particulate matter and black carbon in µg/m³.',
  ],
  [
    'ppm for bc',
    { parameter: 'BC', unit: 'ppm' },
    'unit ppm does not apply to bc: send particulate matter and black carbon in µg/m³.',
  ],

  // Empty text in every text field
  ['empty location', { location: '' }, 'location is empty: it is required.'],
  ['blank city', { city: '   ' }, 'city is empty: it is required.'],
  ['empty country', { country: '' }, `country "" ${NOT_COUNTRY}`],
  ['empty parameter', { parameter: '' }, 'parameter: Value "" does not exist in "Pollutant" enum.'],
  ['empty unit', { unit: '' }, `unit "" ${UNKNOWN_UNIT}`],
  ['empty measuredAt', { measuredAt: '' }, `measuredAt "" ${NOT_ISO}`],
  ['empty sourceName', { sourceName: '' }, 'sourceName is empty: leave it out or send its value.'],
  ['empty sourceType', { sourceType: '' }, 'sourceType is empty: leave it out or send its value.'],

  // 10 kB of text in every text field
  [
    '10 kB location',
    { location: long('l') },
    `location ${quotedLong('l')} is longer than the 128 characters allowed.`,
  ],
  [
    '10 kB city',
    { city: long('c') },
    `city ${quotedLong('c')} is longer than the 128 characters allowed.`,
  ],
  ['10 kB country', { country: long('B') }, `country ${quotedLong('B')} ${NOT_COUNTRY}`],
  [
    '10 kB parameter',
    { parameter: long('P') },
    `parameter: Value ${quotedLong('P')} does not exist in "Pollutant" enum.`,
  ],
  ['10 kB unit', { unit: long('u') }, `unit ${quotedLong('u')} ${UNKNOWN_UNIT}`],
  ['10 kB measuredAt', { measuredAt: long('2') }, `measuredAt ${quotedLong('2')} ${NOT_ISO}`],
  [
    '10 kB sourceName',
    { sourceName: long('s') },
    `sourceName ${quotedLong('s')} is longer than the 128 characters allowed.`,
  ],
  [
    '10 kB sourceType',
    { sourceType: long('t') },
    `sourceType ${quotedLong('t')} is longer than the 64 characters allowed.`,
  ],
  [
    '10 kB value',
    { value: long('9') },
    `value: Float cannot represent non numeric value: ${quotedLong('9')}.`,
  ],
  [
    '10 kB field name',
    { [long('k')]: 1 },
    `${quotedLong('k')} is not a field of MeasurementInput.`,
  ],

  // Control characters, in the middle and at the ends (where trimming would hide them)
  ['NUL in location', { location: 'BETR\u0000801' }, `location "BETR\\u0000801" ${CONTROL}`],
  ['line break in city', { city: 'Ant\nwerpen' }, `city "Ant\\nwerpen" ${CONTROL}`],
  [
    'trailing line break in location',
    { location: 'BETR801\n' },
    `location "BETR801\\n" ${CONTROL}`,
  ],
  ['tab in sourceName', { sourceName: 'EEA\tBelgium' }, `sourceName "EEA\\tBelgium" ${CONTROL}`],
  [
    'escape in sourceType',
    { sourceType: '\u001b[31mgovernment' },
    `sourceType "\\u001b[31mgovernment" ${CONTROL}`,
  ],
  ['DEL in location', { location: 'BETR\u007f801' }, `location "BETR\\u007f801" ${CONTROL}`],
  ['C1 NEL at the end of city', { city: 'Gent\u0085' }, `city "Gent\\u0085" ${CONTROL}`],
  ['line break after unit', { parameter: 'NO2', unit: 'ppm\n' }, `unit "ppm\\n" ${UNKNOWN_UNIT}`],
  ['tab after country', { country: 'BE\t' }, `country "BE\\t" ${NOT_COUNTRY}`],

  // Lone surrogates (text that is not valid UTF-16)
  [
    'lone high surrogate in location',
    { location: 'BETR\ud800' },
    `location "BETR\\ud800" ${SURROGATE}`,
  ],
  ['lone low surrogate in city', { city: '\udc00Gent' }, `city "\\udc00Gent" ${SURROGATE}`],
  [
    'surrogates in the wrong order in sourceName',
    { sourceName: '\udc00\ud800' },
    `sourceName "\\udc00\\ud800" ${SURROGATE}`,
  ],
  ['lone surrogate as country', { country: 'B\ud800' }, `country "B\\ud800" ${NOT_COUNTRY}`],

  // Countries
  ['one-letter country', { country: 'B' }, `country "B" ${NOT_COUNTRY}`],
  ['three-letter country', { country: 'BEL' }, `country "BEL" ${NOT_COUNTRY}`],
  ['numeric country', { country: '056' }, `country "056" ${NOT_COUNTRY}`],
  ['two digits as country', { country: '56' }, `country "56" ${NOT_COUNTRY}`],

  // Missing required fields
  ['no location', { location: undefined }, 'location is missing: it is required.'],
  ['no city', { city: undefined }, 'city is missing: it is required.'],
  ['no country', { country: undefined }, 'country is missing: it is required.'],
  ['no parameter', { parameter: undefined }, 'parameter is missing: it is required.'],
  ['no value', { value: undefined }, 'value is missing: it is required.'],
  ['value null', { value: null }, 'value is missing: it is required.'],
  ['no unit', { unit: undefined }, 'unit is missing: it is required.'],
  ['no measuredAt', { measuredAt: undefined }, 'measuredAt is missing: it is required.'],

  // Unknown fields
  ['unknown field colour', { colour: 'red' }, 'colour is not a field of MeasurementInput.'],
  [
    'snake_case measured_at',
    { measuredAt: undefined, measured_at: at(0) },
    'measured_at is not a field of MeasurementInput. measuredAt is missing: it is required.',
  ],
  [
    'field __proto__',
    { ['__proto__']: { value: 1 } },
    '__proto__ is not a field of MeasurementInput.',
  ],

  // Items that are not objects
  ['null item', { whole: null }, 'The item null is not an object with measurement fields.'],
  [
    'text item',
    { whole: 'PM10 12' },
    'The item "PM10 12" is not an object with measurement fields.',
  ],
  ['number item', { whole: 12 }, 'The item 12 is not an object with measurement fields.'],
  [
    'list item',
    { whole: [{ location: 'BETR801', value: 12 }] },
    'The item [{"location":"BETR801","value":12}] is not an object with measurement fields.',
  ],

  // Coordinates out of range
  ['latitude 90.5', { latitude: 90.5 }, 'latitude 90.5 is not a number from -90 to 90 (degrees).'],
  ['latitude -91', { latitude: -91 }, 'latitude -91 is not a number from -90 to 90 (degrees).'],
  [
    'longitude 180.0001',
    { longitude: 180.0001 },
    'longitude 180.0001 is not a number from -180 to 180 (degrees).',
  ],
  [
    'longitude -1e308',
    { longitude: -1e308 },
    'longitude -1e+308 is not a number from -180 to 180 (degrees).',
  ],

  // Several problems: every one is named
  [
    'three problems at once',
    { country: 'BEL', value: -1, latitude: 100 },
    `country "BEL" ${NOT_COUNTRY} value -1 is negative: a concentration is 0 or more. latitude 100 is not a number from -90 to 90 (degrees).`,
  ],
];

/** The natural key and what is stored of one measurement, as the database holds it. */
interface Stored {
  country: string;
  city: string;
  location: string;
  pollutant: string;
  measuredAt: string;
  originalValue: number;
  originalUnit: string;
  latitude: number | null;
  longitude: number | null;
  sourceName: string | null;
  sourceType: string | null;
}

/** What storing a (valid) item must leave: names verbatim, country upper, pollutant code. */
function stored(item: Item): Stored {
  return {
    country: String(item.country).toUpperCase(),
    city: item.city,
    location: item.location,
    pollutant: String(item.parameter).toLowerCase(),
    measuredAt: new Date(item.measuredAt).toISOString(),
    originalValue: item.value,
    originalUnit: item.unit,
    latitude: item.latitude ?? null,
    longitude: item.longitude ?? null,
    sourceName: item.sourceName ?? null,
    sourceType: item.sourceType ?? null,
  };
}

/**
 * Items that look dangerous or odd but are valid data: stored verbatim and read back identical.
 * Each is sent between good items too.
 */
type Accepted = [name: string, item: Item];
const ACCEPTED: Accepted[] = [
  ['SQL in location', { location: "Robert'); DROP TABLE measurement;--" }],
  ['SQL in city', { city: "' OR '1'='1" }],
  ['backslashes in sourceName', { sourceName: 'C:\\Temp\\new\\table\\' }],
  ['quotes in sourceType', { sourceType: `"double" 'single' \`back\`` }],
  ['LIKE wildcards in location', { location: 'BETR_%' }],
  ['comment and semicolon in city', { city: 'Gent; -- /* */ #' }],
  ['accents, a dash and an emoji in location', { location: 'Liège – Île 🌫️' }],
  ['128 characters of location, exactly the limit', { location: 'L'.repeat(128) }],
  ['value 0', { location: 'Zero', value: 0 }],
  ['pm25 at its plausible maximum', { location: 'Ceiling', parameter: 'PM25', value: 2000 }],
  [
    'measuredAt five minutes ahead',
    { location: 'Soon', measuredAt: IN_FIVE_MINUTES.toISOString() },
  ],
];

interface RequestCase {
  name: string;
  send: () => Promise<{ status: number; json: unknown }>;
  status: number;
  answer: unknown;
}

/** Slots after the corpus rows, for the good items of request-level cases. */
const REQUEST_SLOT = 3 * (REJECTED.length + ACCEPTED.length) + 100;
const goodItems = (count: number, first = REQUEST_SLOT): Item[] =>
  Array.from({ length: count }, (_, i) => ({ ...good(0, 0), measuredAt: at(first + i) }));

const BATCH_TOO_LARGE = {
  data: null,
  errors: [
    {
      message: `The batch holds ${MAX_BATCH + 1} measurements, more than the ${MAX_BATCH} allowed per request: split it into batches of at most ${MAX_BATCH}.`,
      path: ['ingestMeasurements'],
      extensions: { code: 'BAD_USER_INPUT' },
    },
  ],
};
const INVALID_JSON = {
  errors: [
    {
      message: 'POST body sent invalid JSON.',
      extensions: { code: 'BAD_REQUEST', originalError: expect.anything() },
    },
  ],
};
const variableError = (message: string) => ({ errors: [{ message }] });

/** Requests refused as a whole: nothing of them may be stored. */
const REQUESTS: RequestCase[] = [
  {
    name: 'batch one over INGEST_MAX_BATCH',
    send: () => ingest(goodItems(MAX_BATCH + 1)),
    status: 200,
    answer: BATCH_TOO_LARGE,
  },
  {
    // Items GraphQL refuses count as sent: the limit is on what the client sent.
    name: 'batch over INGEST_MAX_BATCH with items GraphQL itself refuses',
    send: () => ingest([...goodItems(MAX_BATCH), { ...good(0, 0), value: 'x' }]),
    status: 200,
    answer: BATCH_TOO_LARGE,
  },
  {
    name: 'body over MAX_BODY_BYTES',
    send: () =>
      post(
        body({
          query: INGEST,
          variables: { m: goodItems(3), padding: 'x'.repeat(MAX_BODY) },
        }),
      ),
    status: 413,
    answer: {
      errors: [
        {
          message: `The request body is larger than the limit of ${MAX_BODY} bytes (MAX_BODY_BYTES): send smaller batches.`,
          extensions: { code: 'PAYLOAD_TOO_LARGE' },
        },
      ],
    },
  },
  {
    name: 'JSON cut short',
    send: () => post(body({ query: INGEST, variables: { m: goodItems(2) } }).slice(0, -3)),
    status: 400,
    answer: INVALID_JSON,
  },
  {
    name: 'NaN written in the JSON',
    send: () =>
      post(body({ query: INGEST, variables: { m: [{ ...goodItems(1)[0], value: raw('NaN') }] } })),
    status: 400,
    answer: INVALID_JSON,
  },
  {
    name: 'a body that is not JSON at all',
    send: () => post('mutation { ingestMeasurements }'),
    status: 400,
    answer: INVALID_JSON,
  },
  {
    name: 'a JSON list of operations (batching)',
    send: () => post(body([{ query: INGEST, variables: { m: goodItems(1) } }])),
    status: 400,
    answer: {
      errors: [{ message: 'Batching is not supported.', extensions: { code: 'BAD_REQUEST' } }],
    },
  },
  {
    name: 'variables that are a list',
    send: () => post(body({ query: INGEST, variables: goodItems(1) })),
    status: 400,
    answer: {
      errors: [
        {
          message: 'Expected "variables" param to be empty or an object, but given array.',
          extensions: { code: 'BAD_REQUEST' },
        },
      ],
    },
  },
  {
    name: 'measurements variable as text',
    send: () => ingest('PM10 12'),
    status: 200,
    answer: variableError(
      'Variable "$m" got invalid value "PM10 12"; Expected type MeasurementInput to be an object.',
    ),
  },
  {
    name: 'measurements variable as number',
    send: () => ingest(42),
    status: 200,
    answer: variableError(
      'Variable "$m" got invalid value 42; Expected type MeasurementInput to be an object.',
    ),
  },
  {
    name: 'measurements variable null',
    send: () => ingest(null),
    status: 200,
    answer: variableError(
      'Variable "$m" of non-null type "[MeasurementInput!]!" must not be null.',
    ),
  },
  {
    name: 'measurements variable missing',
    send: () => post(body({ query: INGEST, variables: {} })),
    status: 200,
    answer: variableError(
      'Variable "$m" of required type "[MeasurementInput!]!" was not provided.',
    ),
  },
];

/** Every measurement in the database, with its natural key, in a stable order. */
async function storedMeasurements(): Promise<Stored[]> {
  const [rows] = await t.pool.query<RowDataPacket[]>(
    `SELECT c.country, c.name AS city, l.name AS location, m.pollutant, m.measured_at AS measuredAt,
            m.original_value AS originalValue, m.original_unit AS originalUnit,
            l.latitude, l.longitude, l.source_name AS sourceName, l.source_type AS sourceType
     FROM measurement m JOIN location l ON l.id = m.location_id JOIN city c ON c.id = l.city_id`,
  );
  return sortStored(
    rows.map((r) => ({ ...r, measuredAt: (r.measuredAt as Date).toISOString() }) as Stored),
  );
}

function sortStored(list: Stored[]): Stored[] {
  const key = (s: Stored) =>
    JSON.stringify([s.country, s.city, s.location, s.pollutant, s.measuredAt]);
  return [...list].sort((a, b) => byCodeUnits(key(a), key(b)));
}

const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

async function names(table: 'city' | 'location'): Promise<string[]> {
  const [rows] = await t.pool.query<RowDataPacket[]>(`SELECT name FROM ${table}`);
  return rows.map((r) => r.name as string).sort(byCodeUnits);
}

async function tables(): Promise<string[]> {
  const [rows] = await t.pool.query<RowDataPacket[]>(
    'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY 1',
  );
  return rows.map((r) => r.name as string);
}

interface Snapshot {
  measurements: Stored[];
  locations: string[];
  cities: string[];
}

async function snapshot(): Promise<Snapshot> {
  return {
    measurements: await storedMeasurements(),
    locations: await names('location'),
    cities: await names('city'),
  };
}

const union = (a: readonly string[], b: readonly string[]) =>
  [...new Set([...a, ...b])].sort(byCodeUnits);

/**
 * The database now holds what it held before plus exactly `added`: nothing else, no city or
 * station of a rejected item. Judged case by case, so that one failing case does not fail those
 * after it.
 */
async function expectAdded(before: Snapshot, added: Stored[]) {
  const after = await snapshot();
  expect(after.measurements).toEqual(sortStored([...before.measurements, ...added]));
  expect(after.locations).toEqual(
    union(
      before.locations,
      added.map((s) => s.location),
    ),
  );
  expect(after.cities).toEqual(
    union(
      before.cities,
      added.map((s) => s.city),
    ),
  );
}

describe('the corpus of bad input to ingestMeasurements', () => {
  it('has at least 40 cases, each with a name of its own', () => {
    const all = [...REJECTED, ...ACCEPTED]
      .map(([name]) => name)
      .concat(REQUESTS.map((r) => r.name));
    expect(all.length).toBeGreaterThanOrEqual(40);
    expect(new Set(all).size).toBe(all.length);
  });

  describe.each(REJECTED.map(([name, item, reason], row) => ({ name, item, reason, row })))(
    'rejects $name',
    ({ item, reason, row }) => {
      it('with its reason, storing the good items beside it', async () => {
        const bad = 'whole' in item ? item.whole : candidate(row, item);
        const before = await snapshot();
        const answer = await ingest([good(row, 0), bad, good(row, 1)]);
        expect(answer.status).toBe(200);
        expect(answer.json).toEqual({
          data: {
            ingestMeasurements: {
              received: 3,
              inserted: 2,
              updated: 0,
              unchanged: 0,
              rejected: [
                {
                  index: 1,
                  reason: typeof reason === 'string' ? reason : expect.stringMatching(reason),
                },
              ],
            },
          },
        });
        await expectAdded(before, [stored(good(row, 0)), stored(good(row, 1))]);
      });
    },
  );

  describe.each(ACCEPTED.map(([name, item], i) => ({ name, item, row: REJECTED.length + i })))(
    'accepts $name',
    ({ item, row }) => {
      it('stores it verbatim beside the good items', async () => {
        const tablesBefore = await tables();
        const before = await snapshot();
        const odd = candidate(row, item);
        const answer = await ingest([good(row, 0), odd, good(row, 1)]);
        expect(answer.status).toBe(200);
        expect(answer.json).toEqual({
          data: {
            ingestMeasurements: {
              received: 3,
              inserted: 3,
              updated: 0,
              unchanged: 0,
              rejected: [],
            },
          },
        });
        await expectAdded(before, [stored(good(row, 0)), stored(odd), stored(good(row, 1))]);
        expect(await tables()).toEqual(tablesBefore);
      });
    },
  );

  it('reads the odd but valid texts back through the API exactly as sent', async () => {
    const answer = await post(
      body({
        query: '{ cities { name country locations { name sourceName sourceType } } }',
      }),
    );
    const sent = ACCEPTED.map(([, item], i) => candidate(REJECTED.length + i, item));
    const byCity = new Map<string, Set<string>>();
    for (const item of [...sent, good(0, 0)]) {
      const list = byCity.get(item.city) ?? new Set<string>();
      list.add(
        JSON.stringify({
          name: item.location,
          sourceName: item.sourceName ?? null,
          sourceType: item.sourceType ?? null,
        }),
      );
      byCity.set(item.city, list);
    }
    expect(answer.status).toBe(200);
    const cities = answer.json.data.cities as {
      name: string;
      country: string;
      locations: { name: string }[];
    }[];
    expect(cities.map((c) => c.name).sort()).toEqual([...byCity.keys()].sort());
    for (const city of cities) {
      expect(city.country).toBe('BE');
      expect(city.locations.map((l) => JSON.stringify(l)).sort()).toEqual(
        [...(byCity.get(city.name) ?? [])].sort(),
      );
    }
  });

  describe.each(REQUESTS)('refuses the whole request: $name', (request) => {
    it('with its status and error, storing nothing', async () => {
      const before = await snapshot();
      const answer = await request.send();
      expect(answer.status).toBe(request.status);
      expect(answer.json).toEqual(request.answer);
      await expectAdded(before, []);
    });
  });

  it('takes a single measurement given for the list as a batch of one, as GraphQL coerces it', async () => {
    const [single, bad] = goodItems(2, REQUEST_SLOT + 50) as [Item, Item];
    const before = await snapshot();
    const one = await ingest(single);
    expect(one.json).toEqual({
      data: {
        ingestMeasurements: { received: 1, inserted: 1, updated: 0, unchanged: 0, rejected: [] },
      },
    });
    await expectAdded(before, [stored(single)]);
    // A bad one is that item's rejection, named like any other, not a failure of the request.
    const refused = await ingest({ ...bad, value: 'x' });
    expect(refused.json).toEqual({
      data: {
        ingestMeasurements: {
          received: 1,
          inserted: 0,
          updated: 0,
          unchanged: 0,
          rejected: [{ index: 0, reason: 'value: Float cannot represent non numeric value: "x".' }],
        },
      },
    });
    await expectAdded(before, [stored(single)]);
  });

  it('takes an empty batch: nothing to store, nothing rejected', async () => {
    const before = await snapshot();
    const answer = await ingest([]);
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({
      data: {
        ingestMeasurements: { received: 0, inserted: 0, updated: 0, unchanged: 0, rejected: [] },
      },
    });
    await expectAdded(before, []);
  });

  it('leaves exactly the accepted items in the database', async () => {
    // Computed from the corpus alone: two good items per row, the accepted items, the single one.
    const accepted = [
      ...REJECTED.flatMap((_, row) => [good(row, 0), good(row, 1)]),
      ...ACCEPTED.flatMap(([, item], i) => {
        const row = REJECTED.length + i;
        return [good(row, 0), candidate(row, item), good(row, 1)];
      }),
      goodItems(1, REQUEST_SLOT + 50)[0] as Item,
    ];
    const held = await storedMeasurements();
    expect(held).toHaveLength(accepted.length);
    expect(held).toEqual(sortStored(accepted.map(stored)));
    expect(await tables()).toContain('measurement');
  });
});
