import { badUserInput } from '../errors/expected-errors.js';
import { parseInstant } from '../util/parse-instant.js';

/**
 * A DateTime input that did not parse, kept as sent: in a batch of measurements it becomes a
 * rejection of that one item, never a failure of the whole request.
 */
export class InvalidDateTime {
  /** @param raw what was sent, as text (a literal that is not a string is printed as GraphQL). */
  constructor(readonly raw: string) {}
}

export type DateTimeInput = Date | InvalidDateTime;

export function parseDateTimeInput(value: unknown): DateTimeInput {
  if (typeof value === 'string') {
    const parsed = parseInstant(value);
    return parsed.ok ? parsed.date : new InvalidDateTime(value);
  }
  return new InvalidDateTime(JSON.stringify(value) ?? String(value));
}

/** An instant argument that must be valid: BAD_USER_INPUT naming the argument otherwise. */
export function requireInstant(argument: string, value: DateTimeInput): Date {
  if (value instanceof Date) return value;
  const parsed = parseInstant(value.raw);
  const problem = parsed.ok ? 'is not an instant' : parsed.problem;
  throw badUserInput(`${argument} ${JSON.stringify(value.raw)} ${problem}.`);
}
