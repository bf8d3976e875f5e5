import type { Pollutant } from '../db/pollutants.js';
import { INVISIBLE_CHARACTER, invisibleCharacters } from '../util/invisible-characters.js';
import { parseInstant } from '../util/parse-instant.js';
import { quote } from '../util/quote.js';
import { unassignedCountry } from './countries.js';

/** One measurement as a client sends it: the OpenAQ realtime fields, flattened. */
export interface MeasurementItem {
  readonly location: string;
  readonly city: string;
  /** ISO 3166-1 alpha-2; any case. */
  readonly country: string;
  /** OpenAQ parameter code (pm25, pm10, no2, o3, so2, co, bc) or the GraphQL enum name (PM25, ...). */
  readonly parameter: string;
  readonly value: number;
  /** µg/m³ (micro sign or Greek mu), ug/m3, µg/m3, or ppm for the gases. */
  readonly unit: string;
  /** An instant: a Date, or ISO-8601 text with a time zone (OpenAQ date.utc). */
  readonly measuredAt: Date | string;
  readonly latitude?: number | null;
  readonly longitude?: number | null;
  readonly sourceName?: string | null;
  readonly sourceType?: string | null;
  /** The station's national or European code (42R803, BETR803): stores it under its municipality. */
  readonly stationCode?: string | null;
  /** The licence of the data, as the upstream names it (CC BY 4.0). */
  readonly licence?: string | null;
  /** Whom the licence asks to credit, with a link. */
  readonly attribution?: string | null;
}

export type StoredUnit = 'µg/m³' | 'ppm';

/** A measurement that passed validation, normalised for storage. */
export interface ValidMeasurement {
  readonly location: string;
  readonly city: string;
  /** Upper case. */
  readonly country: string;
  /** Pollutant code. */
  readonly pollutant: string;
  /** As sent, in `unit`; the database derives the µg/m³ value from it. */
  readonly value: number;
  readonly unit: StoredUnit;
  readonly measuredAt: Date;
  readonly latitude: number | null;
  readonly longitude: number | null;
  readonly sourceName: string | null;
  readonly sourceType: string | null;
  readonly stationCode: string | null;
  readonly licence: string | null;
  readonly attribution: string | null;
}

export type Validation =
  | { readonly ok: true; readonly measurement: ValidMeasurement }
  | { readonly ok: false; readonly reason: string };

/** Column lengths of the tables (sql/010-tables.sql), in characters. */
export const MAX_LENGTH = {
  location: 128,
  city: 128,
  sourceName: 128,
  sourceType: 64,
  stationCode: 16,
  licence: 128,
  attribution: 255,
} as const;

/** How far ahead of the server's clock a measurement may be: clocks drift, the future does not. */
export const FUTURE_TOLERANCE_MS = 10 * 60_000;

const UNITS: ReadonlyMap<string, StoredUnit> = new Map([
  ['µg/m³', 'µg/m³'], // micro sign U+00B5
  ['μg/m³', 'µg/m³'], // Greek small mu U+03BC
  ['µg/m3', 'µg/m³'],
  ['μg/m3', 'µg/m³'],
  ['ug/m³', 'µg/m³'],
  ['ug/m3', 'µg/m³'],
  ['ppm', 'ppm'],
]);

/** ppm → µg/m³ at 25 °C and 1 atm, as the database's generated column computes it. */
export function toMicrogramsPerCubicMetre(value: number, unit: StoredUnit, molarMass: number) {
  return unit === 'ppm' ? (value * 1000 * molarMass) / 24.45 : value;
}

const CONTROL = /\p{Cc}/u;
/** With the u flag, a lone surrogate (text that is not valid UTF-16) matches \p{Cs}. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Whether the text is printable ASCII or Latin-1 letters (U+00C0-U+00FF) with no space at either
 * end: then it holds no control, invisible or surrogate character and trimming changes nothing, and
 * the checks below need not run their regular expressions. Most names are such text.
 */
function isPlainText(text: string): boolean {
  const length = text.length;
  if (length === 0 || text.charCodeAt(0) === 0x20 || text.charCodeAt(length - 1) === 0x20) {
    return false;
  }
  for (let i = 0; i < length; i += 1) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || (c > 0x7e && c < 0xc0) || c > 0xff) return false;
  }
  return true;
}

/**
 * A text field: trimmed, non-empty, at most maxLength characters, no control characters, no
 * invisible formatting characters (zero-width, bidirectional, ...), valid Unicode. Optional fields
 * may be null or absent, but not empty.
 */
function checkText(
  field: string,
  value: unknown,
  maxLength: number,
  problems: string[],
  optional = false,
): string | null {
  if (value === null || value === undefined) {
    if (!optional) problems.push(`${field} is missing: it is required.`);
    return null;
  }
  if (typeof value !== 'string') {
    problems.push(`${field} ${quote(value)} is not text.`);
    return null;
  }
  // One UTF-16 unit per character: its length is its count of characters.
  if (isPlainText(value) && value.length <= maxLength) return value;
  const text = value.trim();
  if (text === '') {
    problems.push(
      optional
        ? `${field} is empty: leave it out or send its value.`
        : `${field} is empty: it is required.`,
    );
    return null;
  }
  // A UTF-16 length within the limit is a code-point count within it too: skip the count.
  if (text.length > maxLength && [...text].length > maxLength) {
    problems.push(`${field} ${quote(text)} is longer than the ${maxLength} characters allowed.`);
    return null;
  }
  // Tested on the text as sent: trimming would silently drop a line break or tab at either end.
  if (CONTROL.test(value)) {
    problems.push(`${field} ${quote(value)} contains control characters (tabs, line breaks, ...).`);
    return null;
  }
  // On the text as sent as well: trim() takes a byte order mark or U+2028 away at either end.
  if (INVISIBLE_CHARACTER.test(value)) {
    const found = invisibleCharacters(value);
    problems.push(
      `${field} ${quote(value)} contains ${found.length === 1 ? 'an invisible formatting character' : 'invisible formatting characters'} ` +
        `(${found.join(', ')}): send the name without zero-width or bidirectional marks.`,
    );
    return null;
  }
  if (LONE_SURROGATE.test(text)) {
    problems.push(`${field} ${quote(text)} is not valid Unicode (a lone surrogate).`);
    return null;
  }
  return text;
}

/**
 * A country: an ISO 3166-1 alpha-2 code assigned to a country (the list is data, in
 * countries.ts), any case, spaces around it allowed; stored upper case.
 */
function checkCountry(value: unknown, problems: string[]): string | null {
  if (value === undefined || value === null) {
    problems.push('country is missing: send the two-letter ISO 3166-1 code, such as BE.');
    return null;
  }
  if (typeof value === 'string' && /^[A-Z]{2}$/.test(value)) {
    const unassigned = unassignedCountry(value);
    if (unassigned === null) return value;
  }
  // No control or invisible characters even at the ends, where trim() would take them away.
  const text = typeof value === 'string' ? value.trim() : '';
  if (
    typeof value !== 'string' ||
    CONTROL.test(value) ||
    INVISIBLE_CHARACTER.test(value) ||
    !/^[A-Za-z]{2}$/.test(text)
  ) {
    problems.push(`country ${quote(value)} is not a two-letter ISO 3166-1 code such as BE.`);
    return null;
  }
  const code = text.toUpperCase();
  const unassigned = unassignedCountry(code);
  if (unassigned !== null) {
    problems.push(`country ${quote(value)} ${unassigned}.`);
    return null;
  }
  return code;
}

function checkCoordinate(
  field: string,
  value: unknown,
  limit: number,
  problems: string[],
): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > limit) {
    problems.push(`${field} ${quote(value)} is not a number from -${limit} to ${limit} (degrees).`);
    return null;
  }
  return value;
}

function checkMeasuredAt(value: unknown, now: Date, problems: string[]): Date | null {
  let date: Date;
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) {
      problems.push('measuredAt is an invalid Date.');
      return null;
    }
    date = value;
  } else if (typeof value === 'string') {
    const parsed = parseInstant(value);
    if (!parsed.ok) {
      problems.push(`measuredAt ${quote(value)} ${parsed.problem}.`);
      return null;
    }
    date = parsed.date;
  } else {
    problems.push(
      value === null || value === undefined
        ? 'measuredAt is missing: send the instant of the measurement, such as 2024-05-01T12:00:00Z.'
        : `measuredAt ${quote(value)} is not an ISO-8601 date and time such as 2024-05-01T12:00:00Z.`,
    );
    return null;
  }
  if (date.getTime() > now.getTime() + FUTURE_TOLERANCE_MS) {
    problems.push(
      `measuredAt ${quote(value)} is more than 10 minutes ahead of the server's clock ` +
        `(${now.toISOString()}): send the instant the measurement was taken, with its time zone.`,
    );
    return null;
  }
  return date;
}

/**
 * Checks one item. Every problem of the item is reported, each as a sentence naming the field and
 * the value. Old measurements are fine: sources lag and repeat themselves.
 */
export function validateMeasurement(
  item: unknown,
  pollutants: ReadonlyMap<string, Pollutant>,
  now: Date,
): Validation {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    return {
      ok: false,
      reason: `The item ${quote(item)} is not an object with measurement fields.`,
    };
  }
  const raw = item as Record<string, unknown>;
  const problems: string[] = [];

  const location = checkText('location', raw.location, MAX_LENGTH.location, problems);
  const city = checkText('city', raw.city, MAX_LENGTH.city, problems);

  const country = checkCountry(raw.country, problems);

  let pollutant: Pollutant | undefined;
  if (typeof raw.parameter === 'string') {
    pollutant = pollutants.get(raw.parameter) ?? pollutants.get(raw.parameter.trim().toLowerCase());
  }
  if (!pollutant) {
    problems.push(
      `parameter ${quote(raw.parameter)} is not a known pollutant: use one of ${[...pollutants.keys()].join(', ')}.`,
    );
  }

  let unit: StoredUnit | undefined;
  if (typeof raw.unit === 'string') {
    unit = UNITS.get(raw.unit);
    if (!unit && !CONTROL.test(raw.unit)) unit = UNITS.get(raw.unit.trim().toLowerCase());
  }
  if (!unit) {
    problems.push(`unit ${quote(raw.unit)} is not known: use µg/m³ (or ug/m3), or ppm for gases.`);
  } else if (unit === 'ppm' && pollutant && pollutant.molarMass === null) {
    problems.push(
      `unit ppm does not apply to ${pollutant.code}: send particulate matter and black carbon in µg/m³.`,
    );
    unit = undefined;
  }

  let value: number | null = null;
  if (typeof raw.value !== 'number' || !Number.isFinite(raw.value)) {
    problems.push(`value ${quote(raw.value)} is not a finite number.`);
  } else if (raw.value < 0) {
    problems.push(`value ${raw.value} is negative: a concentration is 0 or more.`);
  } else {
    value = raw.value;
    if (pollutant && unit) {
      const micrograms = toMicrogramsPerCubicMetre(value, unit, pollutant.molarMass ?? 0);
      if (micrograms > pollutant.plausibleMax) {
        // Near 1e308 ppm the conversion overflows: "(Infinity µg/m³)" would say nothing useful.
        const shown =
          unit !== 'ppm'
            ? `${value} µg/m³`
            : Number.isFinite(micrograms)
              ? `${value} ppm (${micrograms.toFixed(1)} µg/m³)`
              : `${value} ppm`;
        problems.push(
          `value ${shown} is above the plausible maximum of ${pollutant.plausibleMax} µg/m³ for ` +
            `${pollutant.code}: such a reading is a sensor or transmission fault.`,
        );
        value = null;
      }
    }
  }

  const measuredAt = checkMeasuredAt(raw.measuredAt, now, problems);
  const latitude = checkCoordinate('latitude', raw.latitude, 90, problems);
  const longitude = checkCoordinate('longitude', raw.longitude, 180, problems);
  const sourceName = checkText('sourceName', raw.sourceName, MAX_LENGTH.sourceName, problems, true);
  const sourceType = checkText('sourceType', raw.sourceType, MAX_LENGTH.sourceType, problems, true);
  const stationCode = checkText(
    'stationCode',
    raw.stationCode,
    MAX_LENGTH.stationCode,
    problems,
    true,
  );
  const licence = checkText('licence', raw.licence, MAX_LENGTH.licence, problems, true);
  const attribution = checkText(
    'attribution',
    raw.attribution,
    MAX_LENGTH.attribution,
    problems,
    true,
  );

  if (
    problems.length > 0 ||
    location === null ||
    city === null ||
    country === null ||
    !pollutant ||
    !unit ||
    value === null ||
    measuredAt === null
  ) {
    return { ok: false, reason: problems.join(' ') };
  }
  return {
    ok: true,
    measurement: {
      location,
      city,
      country,
      pollutant: pollutant.code,
      value,
      unit,
      measuredAt,
      latitude,
      longitude,
      sourceName,
      sourceType,
      stationCode,
      licence,
      attribution,
    },
  };
}
