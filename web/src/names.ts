import type { Language } from './i18n.js';
import type { CityNames } from './types.js';

/** What the page knows of a city's name. */
export interface CityName {
  readonly name: string;
  readonly names: CityNames;
}

/** The one place where the page chooses how to call a city: its name in the page's language. */
export function cityLabel(city: CityName, language: Language): string {
  return city.names[language] || city.name;
}
