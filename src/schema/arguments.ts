import { badUserInput } from './errors.js';

/** A country argument: two letters, any case; null when absent. */
export function countryArgument(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const country = value.trim().toUpperCase();
  if (!/^[A-Z]{2}$/.test(country)) {
    throw badUserInput(
      `country ${JSON.stringify(value)} is not a two-letter ISO 3166-1 code such as BE.`,
    );
  }
  return country;
}

/** A list argument with at most `max` items. */
export function boundedList<T>(
  name: string,
  value: readonly T[] | null | undefined,
  max: number,
): readonly T[] | null {
  if (value === null || value === undefined) return null;
  if (value.length > max) {
    throw badUserInput(`${name} holds ${value.length} items, more than the ${max} allowed.`);
  }
  return value;
}
