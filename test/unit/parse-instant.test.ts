import { describe, expect, it } from 'vitest';
import { parseInstant } from '../../src/util/parse-instant.js';

// How measuredAt, history ranges and refreshAirQuality(at:) read an instant. What a client sees
// of it in the API's answers: test/bad-input.test.ts and test/ingest.test.ts.

const NOT_ISO = 'is not an ISO-8601 date and time with a time zone, such as 2024-05-01T12:00:00Z';
const NOT_REAL = 'is not a real date and time, such as 2024-05-01T12:00:00Z';
const OUTSIDE = 'is outside the years 1000 to 9999 that the database can store';

/** The instant as UTC ISO text, or the problem. */
function parsed(text: string): string {
  const result = parseInstant(text);
  return result.ok ? result.date.toISOString() : result.problem;
}

describe('parseInstant', () => {
  it.each([
    ['2024-05-01T12:00:00Z', '2024-05-01T12:00:00.000Z'],
    ['2024-05-01T14:00:00.250+02:00', '2024-05-01T12:00:00.250Z'],
    ['2024-05-01T09:00:00-03:00', '2024-05-01T12:00:00.000Z'],
    ['2024-05-01T17:30:00+0530', '2024-05-01T12:00:00.000Z'],
    ['2024-05-01T13:00:00+01', '2024-05-01T12:00:00.000Z'],
    // A space for the T, minutes only, lower case, blanks around.
    ['2024-05-01 12:00Z', '2024-05-01T12:00:00.000Z'],
    ['2024-05-01t12:00:00z', '2024-05-01T12:00:00.000Z'],
    ['  2024-05-01T12:00:00Z\n', '2024-05-01T12:00:00.000Z'],
    // Beyond the millisecond, digits are dropped, not rounded; a comma is a decimal sign too.
    ['2024-05-01T12:00:00.123999Z', '2024-05-01T12:00:00.123Z'],
    ['2024-05-01T12:00:00,5Z', '2024-05-01T12:00:00.500Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    // The range of DATETIME, to the millisecond.
    ['1000-01-01T00:00:00Z', '1000-01-01T00:00:00.000Z'],
    ['9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z'],
  ])('reads %j as %s', (text, instant) => {
    expect(parsed(text)).toBe(instant);
  });

  it.each([
    ['yesterday', NOT_ISO],
    ['2024-05-01', NOT_ISO],
    ['1714564800', NOT_ISO],
    ['10000-01-01T00:00:00Z', NOT_ISO],
    [
      '2024-05-01T12:00:00',
      'has no time zone: add Z for UTC (OpenAQ date.utc) or an offset such as +02:00',
    ],
    ['2023-02-29T12:00:00Z', NOT_REAL],
    ['2024-04-31T12:00:00Z', NOT_REAL],
    ['2024-13-01T12:00:00Z', NOT_REAL],
    ['2024-00-10T12:00:00Z', NOT_REAL],
    ['2024-05-01T24:00:00Z', NOT_REAL],
    ['2024-05-01T12:60:00Z', NOT_REAL],
    ['2024-05-01T12:00:60Z', NOT_REAL],
    ['2024-05-01T12:00:00+24:00', 'has an impossible UTC offset +24:00'],
    ['2024-05-01T12:00:00-05:60', 'has an impossible UTC offset -05:60'],
    ['0999-12-31T23:59:59Z', OUTSIDE],
    ['0050-01-01T00:00:00Z', OUTSIDE],
    ['1000-01-01T00:00:00+00:01', OUTSIDE],
    ['9999-12-31T23:59:59.999-00:01', OUTSIDE],
  ])('refuses %j: it %s', (text, problem) => {
    expect(parsed(text)).toBe(problem);
  });
});
