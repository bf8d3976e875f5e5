/**
 * ISO-8601 instants as the API accepts them: a calendar date, a time to at least the minute and a
 * time zone (Z or an offset), e.g. 2024-05-01T12:00:00Z or 2024-05-01T14:00:00.250+02:00. A space
 * may stand for the T (RFC 3339 allows it). Digits beyond the millisecond are dropped: the
 * database keeps milliseconds.
 *
 * Date.parse is not enough on its own: it rolls 2023-02-30 over to March 2nd and accepts strings
 * without a zone, reading them as local time.
 */
export type ParsedInstant =
  | { readonly ok: true; readonly date: Date }
  | {
      readonly ok: false;
      /** What is wrong, to follow the quoted value in a sentence ("... is not ..."). */
      readonly problem: string;
    };

const INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** The range of a DATETIME column. */
const EARLIEST = Date.UTC(1000, 0, 1);
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

const EXAMPLE = 'such as 2024-05-01T12:00:00Z';

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] as number);
}

/**
 * Instants parsed lately, by the text as sent: a batch of measurements names few distinct instants
 * (a feed sends many stations at the same hour), and each one is parsed once instead of once per
 * item. Only valid instants are kept, as their time, so that each caller gets a Date of its own.
 */
const recent = new Map<string, number>();
const RECENT_MAX = 1024;

export function parseInstant(text: string): ParsedInstant {
  const time = recent.get(text);
  if (time !== undefined) return { ok: true, date: new Date(time) };
  const parsed = parseText(text);
  if (parsed.ok) {
    if (recent.size >= RECENT_MAX) recent.clear();
    recent.set(text, parsed.date.getTime());
  }
  return parsed;
}

function parseText(text: string): ParsedInstant {
  const match = INSTANT.exec(text.trim());
  if (!match) {
    return { ok: false, problem: `is not an ISO-8601 date and time with a time zone, ${EXAMPLE}` };
  }
  const [, y, mo, d, h, mi, s = '0', fraction = '0', zone] = match;
  if (zone === undefined) {
    return {
      ok: false,
      problem: 'has no time zone: add Z for UTC (OpenAQ date.utc) or an offset such as +02:00',
    };
  }
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysInMonth(year, month) ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    return { ok: false, problem: `is not a real date and time, ${EXAMPLE}` };
  }
  let offsetMinutes = 0;
  if (zone.toUpperCase() !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    const offsetHours = Number(digits.slice(0, 2));
    const offsetMins = Number(digits.slice(2) || '0');
    if (offsetHours > 23 || offsetMins > 59) {
      return { ok: false, problem: `has an impossible UTC offset ${zone}` };
    }
    offsetMinutes = (zone.startsWith('-') ? -1 : 1) * (offsetHours * 60 + offsetMins);
  }
  const millis = Number(fraction.padEnd(3, '0').slice(0, 3));
  const time =
    Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMinutes * 60_000;
  // year < 1000 first: Date.UTC reads years 0-99 as 1900-1999.
  if (year < 1000 || time < EARLIEST || time > LATEST) {
    return { ok: false, problem: 'is outside the years 1000 to 9999 that the database can store' };
  }
  return { ok: true, date: new Date(time) };
}
