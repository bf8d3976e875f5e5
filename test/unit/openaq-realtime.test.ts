import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { MeasurementInput } from '../../src/client/measurement.js';
import { measurementsOf } from '../../src/sources/openaq-realtime/messages.js';
import type { RecordResult } from '../../src/sources/openaq-realtime/openaq-record.js';
import { readDocuments } from '../../src/sources/openaq-realtime/read-documents.js';
import { measurement as measurementJson } from '../helpers/measurements.js';

// What `npm run ingest` reads, without the API: test/ingest-cli.test.ts sends it.

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

/** Every record of a fixture as the CLI sees it: line, path inside the document, outcome. */
async function parseFixture(name: string, chunks?: AsyncIterable<unknown>) {
  const parsed: { line: number; path: string; result: RecordResult | { error: string } }[] = [];
  for await (const entry of readDocuments(chunks ?? createReadStream(`${FIXTURES}${name}`), name)) {
    if ('error' in entry) {
      parsed.push({ line: entry.line, path: '', result: { error: entry.error } });
      continue;
    }
    for (const { path, result } of measurementsOf(entry.document)) {
      parsed.push({ line: entry.line, path, result });
    }
  }
  return parsed;
}

/** A record read as a measurement, with its station's place and source. */
function measurement(
  location: string,
  city: string,
  country: string,
  parameter: MeasurementInput['parameter'],
  value: number,
  unit: string,
  measuredAt: string,
  [latitude, longitude]: [number, number],
  sourceName = 'EEA Belgium',
  sourceType = 'government',
): { kind: 'measurement'; measurement: MeasurementInput } {
  const read = measurementJson(city, location, parameter, value, measuredAt, unit);
  return {
    kind: 'measurement',
    measurement: { ...read, parameter, country, latitude, longitude, sourceName, sourceType },
  };
}

const BETR801: [number, number] = [51.209574, 4.431782];

describe('the realtime-format parsers, on fixtures of each input shape', () => {
  it('reads realtime NDJSON: non-Latin names, ppm, unordered lines, a malformed line in the middle and a truncated last line', async () => {
    expect(await parseFixture('realtime.ndjson')).toEqual([
      {
        line: 1,
        path: '',
        result: measurement(
          'BETR801',
          'Antwerpen',
          'BE',
          'pm25',
          12.5,
          'µg/m³',
          '2026-11-20T10:00:00.000Z',
          BETR801,
        ),
      },
      {
        line: 2,
        path: '',
        result: measurement(
          'Liège – Saint-Léonard',
          'Liège',
          'BE',
          'no2',
          31.2,
          'µg/m³',
          '2026-11-20T10:00:00.000Z',
          [50.6497, 5.5814],
          'Cellule Interrégionale de l’Environnement',
        ),
      },
      {
        line: 3,
        path: '',
        result: measurement(
          'NL49014',
          'Amsterdam',
          'NL',
          'pm10',
          18,
          'µg/m³',
          '2026-11-20T10:00:00.000Z',
          [52.3597, 4.866],
          'Luchtmeetnet',
        ),
      },
      {
        line: 4,
        path: '',
        result: measurement(
          'BETN043',
          'Brussels-Capital Region',
          'BE',
          'o3',
          0.031,
          'ppm',
          '2026-11-20T10:00:00.000Z',
          [50.885, 4.3842],
        ),
      },
      {
        line: 5,
        path: '',
        result: {
          error:
            'not valid JSON (Expected \',\' or \'}\' after property value in JSON at position 74): {"location":"BETR802","city":"Antwerpen","country":"BE","par…',
        },
      },
      {
        line: 6,
        path: '',
        result: measurement(
          'Αγία Σοφία',
          'Αθήνα',
          'GR',
          'no2',
          38.2,
          'µg/m³',
          '2026-11-20T10:00:00.000Z',
          [37.9838, 23.7275],
          'Υπουργείο Περιβάλλοντος',
        ),
      },
      // line 7 is blank
      {
        line: 8,
        path: '',
        result: measurement(
          'Дружба',
          'София',
          'BG',
          'pm10',
          27.4,
          'µg/m³',
          '2026-11-20T09:00:00.000Z',
          [42.6665, 23.4009],
          'ИАОС',
        ),
      },
      {
        line: 9,
        path: '',
        result: measurement(
          '千代田区神田司町',
          '東京都',
          'JP',
          'co',
          0.4,
          'ppm',
          '2026-11-20T01:00:00.000Z',
          [35.6938, 139.7654],
          '環境省',
        ),
      },
      { line: 10, path: '', result: { kind: 'ignored', reason: 'parameter pm1' } },
      {
        line: 11,
        path: '',
        result: { kind: 'malformed', reason: '"value" must be a number, got "n/a"' },
      },
      {
        line: 12,
        path: '',
        result: measurement(
          'BETR801',
          'Antwerpen',
          'BE',
          'pm25',
          14,
          'µg/m³',
          '2026-11-20T08:00:00.000Z',
          BETR801,
        ),
      },
      {
        line: 13,
        path: '',
        result: measurement(
          'BETR801',
          'Antwerpen',
          'BE',
          'pm25',
          -999,
          'µg/m³',
          '2026-11-20T07:00:00.000Z',
          BETR801,
        ),
      },
      {
        line: 14,
        path: '',
        result: measurement(
          'BETR801',
          'Antwerpen',
          'BE',
          'pm25',
          13.1,
          'µg/m³',
          '2026-11-20T09:00:00.000Z',
          BETR801,
        ),
      },
      {
        line: 15,
        path: '',
        result: {
          error:
            'not valid JSON (Unterminated string in JSON at position 70): {"location":"BETR802","city":"Antwerpen","country":"BE","par…',
        },
      },
    ]);
  });

  it('reads gzip, with CRLF line ends, whatever the file is called', async () => {
    const gent = (parameter: 'no2' | 'o3', value: number, unit: string, hour: string) =>
      measurement(
        'BETR701',
        'Gent',
        'BE',
        parameter,
        value,
        unit,
        `2026-11-21T${hour}:00:00.000Z`,
        [51.058, 3.7292],
      );
    const expected = [
      { line: 1, path: '', result: gent('no2', 24.6, 'µg/m³', '12') },
      { line: 2, path: '', result: gent('no2', 28.9, 'µg/m³', '14') },
      { line: 3, path: '', result: gent('o3', 0.0245, 'ppm', '13') },
      { line: 4, path: '', result: gent('no2', 26.1, 'µg/m³', '13') },
    ];
    expect(await parseFixture('belgium.ndjson.gz')).toEqual(expected);
    // The magic bytes decide, not the name: the same bytes arriving on stdin, one byte at a time.
    const bytes = await readFile(`${FIXTURES}belgium.ndjson.gz`);
    async function* trickle() {
      for (const byte of bytes) yield Buffer.from([byte]);
    }
    expect(await parseFixture('stdin', trickle())).toEqual(expected);
  });

  it('reads SNS notifications, one per line, with the measurement as attributes or as a JSON message', async () => {
    expect(await parseFixture('sns-notifications.ndjson')).toEqual([
      {
        line: 1,
        path: 'MessageAttributes',
        result: measurement(
          'BETR710',
          'Gent',
          'BE',
          'no2',
          23.4,
          'µg/m³',
          '2026-11-22T09:00:00.000Z',
          [51.0603, 3.7853],
        ),
      },
      {
        line: 2,
        path: 'Message',
        result: measurement(
          'BETR201',
          'Hasselt',
          'BE',
          'pm10',
          19.8,
          'µg/m³',
          '2026-11-22T09:00:00.000Z',
          [50.9302, 5.3381],
        ),
      },
      {
        // Attributes and a message that is not a measurement: one measurement, from the attributes.
        line: 3,
        path: 'MessageAttributes',
        result: measurement(
          'BETR803',
          'Antwerpen',
          'BE',
          'so2',
          0.0031,
          'ppm',
          '2026-11-22T09:00:00.000Z',
          [51.2634, 4.3614],
        ),
      },
    ]);
  });

  it('reads a Lambda event from SNS saved as one pretty-printed JSON file', async () => {
    expect(await parseFixture('lambda-sns-event.json')).toEqual([
      {
        line: 1,
        path: 'Records[0].Sns.MessageAttributes',
        result: measurement(
          'BETR501',
          'Leuven',
          'BE',
          'co',
          0.31,
          'ppm',
          '2026-11-23T08:00:00.000Z',
          [50.8794, 4.7013],
        ),
      },
      {
        line: 1,
        path: 'Records[1].Sns.Message',
        result: measurement(
          'BETN073',
          'Namur',
          'BE',
          'o3',
          52,
          'µg/m³',
          '2026-11-23T08:00:00.000Z',
          [50.4669, 4.8675],
          'Cellule Interrégionale de l’Environnement',
        ),
      },
      {
        line: 1,
        path: 'Records[2].Sns.Message',
        result: measurement(
          'FR04143',
          'Paris',
          'FR',
          'no2',
          44,
          'µg/m³',
          '2026-11-23T08:00:00.000Z',
          [48.8566, 2.3522],
          'Airparif',
        ),
      },
    ]);
  });

  it('reads a Lambda event from SQS: JSON in JSON in JSON, and raw message delivery', async () => {
    expect(await parseFixture('lambda-sqs-event.json')).toEqual([
      {
        line: 1,
        path: 'Records[0].body.Message',
        result: measurement(
          'BETR001',
          'Brussel',
          'BE',
          'pm25',
          17.3,
          'µg/m³',
          '2026-11-24T07:00:00.000Z',
          [50.8486, 4.3347],
        ),
      },
      {
        line: 1,
        path: 'Records[1].body.MessageAttributes',
        result: measurement(
          'BETN231',
          'Diepenbeek',
          'BE',
          'bc',
          1.25,
          'µg/m³',
          '2026-11-24T07:00:00.000Z',
          [50.9293, 5.3932],
          'UHasselt',
          'research',
        ),
      },
      {
        line: 1,
        path: 'Records[2].messageAttributes',
        result: measurement(
          'BETN341',
          'Landen',
          'BE',
          'no2',
          0.0094,
          'ppm',
          '2026-11-24T07:00:00.000Z',
          [50.753, 5.082],
        ),
      },
    ]);
  });

  it('reads Lambda events one per line, and points at a broken message inside one', async () => {
    expect(await parseFixture('lambda-events.ndjson')).toEqual([
      {
        line: 1,
        path: 'Records[0].Sns.Message',
        result: measurement(
          'BETR222',
          'Genk',
          'BE',
          'pm10',
          24.2,
          'µg/m³',
          '2026-11-25T06:00:00.000Z',
          [50.9664, 5.4993],
        ),
      },
      {
        line: 1,
        path: 'Records[1].Sns.Message',
        result: measurement(
          'Голосіївський',
          'Київ',
          'UA',
          'pm25',
          15.5,
          'µg/m³',
          '2026-11-25T06:00:00.000Z',
          [50.3989, 30.5113],
          'SaveEcoBot',
          'community',
        ),
      },
      {
        line: 2,
        path: 'Records[0].body.Message',
        result: measurement(
          'BETR232',
          'Diepenbeek',
          'BE',
          'no2',
          17.9,
          'µg/m³',
          '2026-11-25T06:00:00.000Z',
          [50.9079, 5.4188],
        ),
      },
      {
        line: 3,
        path: 'Records[0].Sns.Message',
        result: {
          kind: 'malformed',
          reason: "SNS Message is not JSON: Expected property name or '}' in JSON at position 1",
        },
      },
    ]);
  });
});

describe('the realtime-file reader, on awkward input', () => {
  async function* text(...chunks: string[]) {
    for (const chunk of chunks) yield Buffer.from(chunk);
  }

  it('decodes a character split across chunks, and skips a byte-order mark', async () => {
    const line = JSON.stringify({ city: 'Liège' });
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${line}\n`)]);
    const split = bytes.indexOf(0xc3) + 1; // inside the two bytes of è
    async function* chunks() {
      yield bytes.subarray(0, split);
      yield bytes.subarray(split);
    }
    const entries = [];
    for await (const entry of readDocuments(chunks(), 'x')) entries.push(entry);
    expect(entries).toEqual([{ source: 'x', line: 1, document: { city: 'Liège' } }]);
  });

  it('reads an NDJSON input whose first line is broken line by line after all', async () => {
    const entries = [];
    for await (const entry of readDocuments(text('{"a": 1\n{"b": 2}\n'), 'x')) entries.push(entry);
    expect(entries).toEqual([
      {
        source: 'x',
        line: 1,
        error:
          "not valid JSON (Expected ',' or '}' after property value in JSON at position 7): {\"a\": 1",
      },
      { source: 'x', line: 2, document: { b: 2 } },
    ]);
  });

  it('reports a broken pretty-printed document once', async () => {
    const entries = [];
    for await (const entry of readDocuments(text('{\n  "Records": [\n'), 'event.json'))
      entries.push(entry);
    expect(entries).toEqual([
      {
        source: 'event.json',
        line: 1,
        error: 'not a valid JSON document (Unexpected end of JSON input)',
      },
    ]);
  });

  it('reads a large document line by line beyond the size limit', async () => {
    const entries = [];
    const input = text('[\n{"parameter": "pm25"}\n]\n');
    for await (const entry of readDocuments(input, 'x', { maxDocumentBytes: 10 }))
      entries.push(entry);
    expect(entries.map((e) => ('error' in e ? `error ${e.line}` : e.document))).toEqual([
      'error 1',
      { parameter: 'pm25' },
      'error 3',
    ]);
  });

  it('fails on a truncated gzip stream instead of hanging', async () => {
    const bytes = await readFile(`${FIXTURES}belgium.ndjson.gz`);
    async function* truncated() {
      yield bytes.subarray(0, bytes.length - 20);
    }
    const read = async () => {
      for await (const _ of readDocuments(truncated(), 'cut.gz')) {
        // reading is the point
      }
    };
    await expect(read()).rejects.toThrow('unexpected end of file');
  });
});
