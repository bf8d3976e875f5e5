import { type Language, t } from './i18n.js';
import type { Station } from './types.js';

/** A data source as the page credits it. */
export interface Credit {
  readonly name: string;
  readonly licence: string | null;
  readonly url: string | null;
}

/** The station's data as the feeds stored it: who to credit, under which licence. */
type Credited = Pick<Station, 'sourceName' | 'licence' | 'attribution'>;

/**
 * The credit of a station's data, from what the API says of it: the attribution its feed stored
 * ("IRCEL-CELINE, https://www.irceline.be"; OpenAQ's "<provider>, <link>; via OpenAQ, ...") and
 * its licence (CC BY 4.0 asks for exactly this). Stations with no attribution (the generator, a
 * script) are credited by their source's name.
 */
export function creditOf(station: Credited, language: Language): Credit {
  if (station.attribution) {
    const [who = station.attribution] = station.attribution.split(';');
    const comma = who.indexOf(', ');
    const name = comma >= 0 ? who.slice(0, comma) : who;
    const link = comma >= 0 ? who.slice(comma + 2).trim() : '';
    const via = station.attribution.includes('via OpenAQ') ? ' · OpenAQ' : '';
    return {
      name: `${name.trim()}${via}`,
      licence: station.licence,
      url: /^https?:\/\//.test(link) ? link : null,
    };
  }
  if (station.sourceName === 'belair-generator') {
    return { name: t(language, 'generated'), licence: station.licence, url: null };
  }
  return { name: station.sourceName ?? '?', licence: station.licence, url: null };
}
