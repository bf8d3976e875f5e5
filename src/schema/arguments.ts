import { badUserInput } from '../errors/expected-errors.js';

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

/** The longest name the database holds (city.name is VARCHAR(128)): a longer one names nothing. */
export const MAX_CITY_NAME_LENGTH = 128;

/** A city name argument, at most MAX_CITY_NAME_LENGTH characters. */
export function cityNameArgument(name: string, value: string): string {
  // Characters as MariaDB counts them (code points), measured only when it could matter.
  const length = value.length > MAX_CITY_NAME_LENGTH ? [...value].length : value.length;
  if (length > MAX_CITY_NAME_LENGTH) {
    throw badUserInput(
      `${name} is ${length} characters long; no city name is longer than ${MAX_CITY_NAME_LENGTH}.`,
    );
  }
  return value;
}

/** A list of city names: at most `max` names, each at most MAX_CITY_NAME_LENGTH characters. */
export function cityNamesArgument(
  name: string,
  value: readonly string[] | null | undefined,
  max: number,
): readonly string[] | null {
  const names = boundedList(name, value, max);
  names?.forEach((city, index) => {
    cityNameArgument(`${name}[${index}]`, city);
  });
  return names;
}
