/**
 * Every string the page shows, in Dutch, French and English, in one table. The language comes
 * from the browser (navigator.languages) unless the person picked one, which is remembered.
 */
export const LANGUAGES = ['nl', 'fr', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];

type Table = Record<string, Record<Language, string>>;

export const STRINGS = {
  title: {
    nl: 'Luchtkwaliteit in België',
    fr: "Qualité de l'air en Belgique",
    en: 'Air quality in Belgium',
  },
  intro: {
    nl: 'De BelAQI-index per stad, live, uit de metingen van de laatste 3 uur.',
    fr: "L'indice BelAQI par ville, en direct, sur les mesures des 3 dernières heures.",
    en: 'The BelAQI index per city, live, from the measurements of the last 3 hours.',
  },
  skip: { nl: 'Naar de steden', fr: 'Aller aux villes', en: 'Skip to the cities' },
  language: { nl: 'Taal', fr: 'Langue', en: 'Language' },
  connecting: { nl: 'Verbinden…', fr: 'Connexion…', en: 'Connecting…' },
  live: { nl: 'Live', fr: 'En direct', en: 'Live' },
  reconnecting: {
    nl: 'Verbinding verbroken, opnieuw verbinden…',
    fr: 'Connexion perdue, reconnexion…',
    en: 'Connection lost, reconnecting…',
  },
  offline: {
    nl: 'Offline: de server antwoordt niet',
    fr: 'Hors ligne : le serveur ne répond pas',
    en: 'Offline: the server does not answer',
  },
  browserOffline: {
    nl: 'Offline: geen netwerk',
    fr: 'Hors ligne : pas de réseau',
    en: 'Offline: no network',
  },
  nextAttempt: {
    nl: 'poging {attempt}, volgende over {seconds} s',
    fr: 'tentative {attempt}, prochaine dans {seconds} s',
    en: 'attempt {attempt}, next in {seconds} s',
  },
  threshold: { nl: 'Waarschuwen vanaf BelAQI', fr: 'Alerter dès le BelAQI', en: 'Alert at BelAQI' },
  alerts: { nl: 'Waarschuwingen', fr: 'Alertes', en: 'Alerts' },
  noAlerts: {
    nl: 'Geen stad op of boven BelAQI {threshold}.',
    fr: 'Aucune ville au BelAQI {threshold} ou plus.',
    en: 'No city at or above BelAQI {threshold}.',
  },
  alertRising: {
    nl: '{city}: BelAQI {current} ({label}), op of boven {threshold}',
    fr: '{city} : BelAQI {current} ({label}), au niveau {threshold} ou plus',
    en: '{city}: BelAQI {current} ({label}), at or above {threshold}',
  },
  alertFalling: {
    nl: '{city} is terug onder {threshold}: BelAQI {current} ({label})',
    fr: '{city} est repassée sous {threshold} : BelAQI {current} ({label})',
    en: '{city} is back below {threshold}: BelAQI {current} ({label})',
  },
  map: {
    nl: 'Kaart van België met de BelAQI van elke stad',
    fr: 'Carte de la Belgique avec le BelAQI de chaque ville',
    en: 'Map of Belgium with the BelAQI of each city',
  },
  legend: { nl: 'BelAQI-schaal', fr: 'Échelle BelAQI', en: 'BelAQI scale' },
  cities: { nl: 'Steden', fr: 'Villes', en: 'Cities' },
  waiting: {
    nl: 'Wachten op de eerste gegevens…',
    fr: 'En attente des premières données…',
    en: 'Waiting for the first data…',
  },
  noIndex: { nl: 'geen index', fr: "pas d'indice", en: 'no index' },
  markerLabel: {
    nl: '{city}: BelAQI {level}, {label}',
    fr: '{city} : BelAQI {level}, {label}',
    en: '{city}: BelAQI {level}, {label}',
  },
  stationLabel: { nl: 'Meetstation {name}', fr: 'Station {name}', en: 'Station {name}' },
  pollutant: { nl: 'Polluent', fr: 'Polluant', en: 'Pollutant' },
  average: { nl: 'Gemiddelde', fr: 'Moyenne', en: 'Average' },
  range: { nl: 'Min–max', fr: 'Min–max', en: 'Min–max' },
  count: { nl: 'Aantal (stations)', fr: 'Nombre (stations)', en: 'Count (stations)' },
  latest: { nl: 'Laatste', fr: 'Dernière', en: 'Latest' },
  unitNote: {
    nl: 'Gemiddelden over 3 uur in µg/m³',
    fr: 'Moyennes sur 3 heures en µg/m³',
    en: '3-hour averages in µg/m³',
  },
  window: { nl: 'Venster {start}–{end}', fr: 'Fenêtre {start}–{end}', en: 'Window {start}–{end}' },
  updated: { nl: 'bijgewerkt {ago}', fr: 'mis à jour {ago}', en: 'updated {ago}' },
  history: {
    nl: 'BelAQI over de laatste 24 uur',
    fr: 'BelAQI sur les dernières 24 heures',
    en: 'BelAQI over the last 24 hours',
  },
  historySummary: {
    nl: '{count} vensters, laagste {min}, hoogste {max}',
    fr: '{count} fenêtres, minimum {min}, maximum {max}',
    en: '{count} windows, lowest {min}, highest {max}',
  },
  historySummaryOne: {
    nl: '1 venster, BelAQI {min}',
    fr: '1 fenêtre, BelAQI {min}',
    en: '1 window, BelAQI {min}',
  },
  noHistory: { nl: 'nog geen verloop', fr: "pas encore d'historique", en: 'no history yet' },
  stations: {
    nl: 'Meetstations ({count})',
    fr: 'Stations de mesure ({count})',
    en: 'Stations ({count})',
  },
  source: { nl: 'bron: {source}', fr: 'source : {source}', en: 'source: {source}' },
  sources: { nl: 'Gegevens', fr: 'Données', en: 'Data' },
  generated: {
    nl: 'gegenereerde testgegevens (belair)',
    fr: 'données de test générées (belair)',
    en: 'generated test data (belair)',
  },
  outline: {
    nl: 'Omtrek van België: Natural Earth (publiek domein)',
    fr: 'Contour de la Belgique : Natural Earth (domaine public)',
    en: 'Outline of Belgium: Natural Earth (public domain)',
  },
  api: {
    nl: 'Deze pagina gebruikt alleen de publieke GraphQL-API: {link}',
    fr: "Cette page n'utilise que l'API GraphQL publique : {link}",
    en: 'This page uses only the public GraphQL API: {link}',
  },
} satisfies Table;

export type StringKey = keyof typeof STRINGS;

/** BelAQI labels of levels 1-10, as IRCEL-CELINE names them in each language. */
export const BELAQI_LABELS: Record<Language, readonly string[]> = {
  nl: [
    'uitstekend',
    'zeer goed',
    'goed',
    'vrij goed',
    'gewoon',
    'middelmatig',
    'ondermaats',
    'slecht',
    'zeer slecht',
    'uiterst slecht',
  ],
  fr: [
    'excellent',
    'très bon',
    'bon',
    'assez bon',
    'moyen',
    'médiocre',
    'très médiocre',
    'mauvais',
    'très mauvais',
    'exécrable',
  ],
  en: [
    'excellent',
    'very good',
    'good',
    'fairly good',
    'moderate',
    'poor',
    'very poor',
    'bad',
    'very bad',
    'horrible',
  ],
};

/** EAQI levels as the EEA names them in each language. */
export const EAQI_LABELS: Record<string, Record<Language, string>> = {
  GOOD: { nl: 'goed', fr: 'bon', en: 'good' },
  FAIR: { nl: 'redelijk', fr: 'moyen', en: 'fair' },
  MODERATE: { nl: 'matig', fr: 'dégradé', en: 'moderate' },
  POOR: { nl: 'slecht', fr: 'mauvais', en: 'poor' },
  VERY_POOR: { nl: 'zeer slecht', fr: 'très mauvais', en: 'very poor' },
  EXTREMELY_POOR: { nl: 'extreem slecht', fr: 'extrêmement mauvais', en: 'extremely poor' },
};

/** Chemical symbols, the same in every language. */
export const POLLUTANT_SYMBOLS: Record<string, string> = {
  PM25: 'PM2.5',
  PM10: 'PM10',
  NO2: 'NO₂',
  O3: 'O₃',
  SO2: 'SO₂',
  CO: 'CO',
  BC: 'BC',
};

/** The locale used to format numbers and times in each language (Belgian conventions). */
export const LOCALES: Record<Language, string> = { nl: 'nl-BE', fr: 'fr-BE', en: 'en-GB' };

/** A string of the table with its {placeholders} filled in. */
export function t(
  language: Language,
  key: StringKey,
  params: Readonly<Record<string, string | number>> = {},
): string {
  return STRINGS[key][language].replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}

export function belaqiLabel(language: Language, level: number | null): string {
  return (level !== null && BELAQI_LABELS[language][level - 1]) || t(language, 'noIndex');
}

export function eaqiLabel(language: Language, level: string | null): string {
  return (level !== null && EAQI_LABELS[level]?.[language]) || t(language, 'noIndex');
}

export function isLanguage(value: unknown): value is Language {
  return typeof value === 'string' && (LANGUAGES as readonly string[]).includes(value);
}

/** The first of the browser's languages the page speaks; English when none. */
export function browserLanguage(preferred: readonly string[]): Language {
  for (const tag of preferred) {
    const primary = tag.toLowerCase().split('-')[0];
    if (isLanguage(primary)) return primary;
  }
  return 'en';
}
