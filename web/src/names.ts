import type { Language } from './i18n.js';

/** What the page knows of a city's name. */
export interface CityName {
  readonly name: string;
}

/**
 * The one place where the page chooses how to call a city. Today: the name as the feed stores it.
 * Once City.names { nl fr de en } is in the API, select it in api.ts (CITY_NAME_FIELDS) and
 * answer `city.names[language]` here.
 */
export function cityLabel(city: CityName, _language: Language): string {
  return city.name;
}
