import { type Language, t } from './i18n.js';

/** A data source as the page credits it. */
export interface Credit {
  readonly name: string;
  readonly licence: string | null;
  readonly url: string | null;
}

/**
 * The credit of a station's sourceName. IRCEL-CELINE publishes under CC BY 4.0, which asks for
 * exactly this attribution; OpenAQ relays its providers' data under their own licences. Once the
 * API carries the licence of each station, this reads it instead of recognising names.
 */
export function creditOf(sourceName: string, language: Language): Credit {
  if (/irceline|ircel|celine/i.test(sourceName)) {
    return { name: 'IRCEL-CELINE', licence: 'CC BY 4.0', url: 'https://www.irceline.be/' };
  }
  if (/openaq/i.test(sourceName)) {
    return { name: 'OpenAQ', licence: null, url: 'https://openaq.org/' };
  }
  if (sourceName === 'belair-generator') {
    return { name: t(language, 'generated'), licence: null, url: null };
  }
  return { name: sourceName, licence: null, url: null };
}
