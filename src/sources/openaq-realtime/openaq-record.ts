import { isPollutantCode, type MeasurementInput } from '../../client/measurement.js';

/**
 * One OpenAQ realtime record turned into a MeasurementInput.
 *
 * The parser only makes sure a record can be sent at all: every field the GraphQL input needs is
 * there with the right type, because one ill-typed variable fails a whole request. Whether the
 * values make sense (a negative value, a date in the future, an unknown unit) is the API's call:
 * it rejects such items one by one with a reason, and the feed reports them. Units go as they
 * come: the API knows the spellings of µg/m³ the feed uses.
 */
export type RecordResult =
  | { readonly kind: 'measurement'; readonly measurement: MeasurementInput }
  /** A well-formed record of something belair does not track (a parameter such as pm1). */
  | { readonly kind: 'ignored'; readonly reason: string }
  | { readonly kind: 'malformed'; readonly reason: string };

const NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

class MalformedField extends Error {}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requiredString(record: Record<string, unknown>, field: string): string {
  const value = record[field];
  if (value === undefined || value === null) throw new MalformedField(`missing "${field}"`);
  if (typeof value !== 'string') {
    throw new MalformedField(`"${field}" must be a string, got ${JSON.stringify(value)}`);
  }
  return value;
}

function optionalString(record: Record<string, unknown>, field: string): string | undefined {
  const value = record[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    throw new MalformedField(`"${field}" must be a string, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** A JSON number, or a string holding one (SNS message attributes carry numbers as strings). */
function toNumber(value: unknown, field: string): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && NUMBER.test(value.trim())) return Number(value.trim());
  throw new MalformedField(`"${field}" must be a number, got ${JSON.stringify(value)}`);
}

function optionalNumber(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  return toNumber(value, field);
}

/** date.utc of the realtime format; date_utc where the fields came as SNS attributes. */
function measuredAt(record: Record<string, unknown>): string {
  const date = record.date;
  if (isObject(date)) {
    if (typeof date.utc === 'string') return date.utc;
    throw new MalformedField(
      date.utc === undefined ? 'missing "date.utc"' : '"date.utc" must be a string',
    );
  }
  if (typeof date === 'string') return date;
  for (const field of ['date_utc', 'date.utc']) {
    if (typeof record[field] === 'string') return record[field] as string;
  }
  throw new MalformedField('missing "date.utc"');
}

function coordinates(record: Record<string, unknown>): {
  latitude?: number;
  longitude?: number;
} {
  const source = isObject(record.coordinates) ? record.coordinates : record;
  const prefix = source === record ? '' : 'coordinates.';
  const latitude = optionalNumber(source.latitude, `${prefix}latitude`);
  const longitude = optionalNumber(source.longitude, `${prefix}longitude`);
  return {
    ...(latitude === undefined ? {} : { latitude }),
    ...(longitude === undefined ? {} : { longitude }),
  };
}

/**
 * Parses one record of the realtime format (`location, city, country, parameter, value, unit,
 * date{utc, local}, coordinates{latitude, longitude}, sourceName, sourceType, ...`), or the same
 * fields flattened (date_utc, latitude, longitude) as SNS message attributes carry them.
 */
export function parseOpenAqRecord(record: unknown): RecordResult {
  if (!isObject(record)) {
    return { kind: 'malformed', reason: 'not an OpenAQ measurement (expected a JSON object)' };
  }
  try {
    // OpenAQ's codes in any case, but nothing around them: "pm25\t" is a broken record of a
    // pollutant we track, not a parameter to leave out, and the mutation refuses "PM25\t" too.
    const sent = requiredString(record, 'parameter');
    const parameter = sent.toLowerCase();
    if (!isPollutantCode(parameter) && isPollutantCode(parameter.trim())) {
      throw new MalformedField(
        `"parameter" ${JSON.stringify(sent)} has spaces or control characters around its code`,
      );
    }
    const location = requiredString(record, 'location');
    const city = requiredString(record, 'city');
    // As sent: the API applies its rules to the country (and to every name) as it applies them to
    // any client's items; trimming "BE\t" here made a valid country of an invalid one.
    const country = requiredString(record, 'country');
    if (record.value === undefined || record.value === null) {
      throw new MalformedField('missing "value"');
    }
    const value = toNumber(record.value, 'value');
    const unit = requiredString(record, 'unit');
    const at = measuredAt(record);
    const sourceName = optionalString(record, 'sourceName');
    const sourceType = optionalString(record, 'sourceType');
    const position = coordinates(record);
    if (!isPollutantCode(parameter)) {
      return { kind: 'ignored', reason: `parameter ${parameter}` };
    }
    return {
      kind: 'measurement',
      measurement: {
        location,
        city,
        country,
        parameter,
        value,
        unit,
        measuredAt: at,
        ...position,
        ...(sourceName === undefined ? {} : { sourceName }),
        ...(sourceType === undefined ? {} : { sourceType }),
      },
    };
  } catch (error) {
    if (error instanceof MalformedField) return { kind: 'malformed', reason: error.message };
    throw error;
  }
}
