import type { PollutantCode } from '../../client/measurement.js';

/**
 * What the generated data looks like: the original project's eight cities at their real
 * coordinates (town centres, WGS84), a few measuring stations each, and the pollutants at the
 * levels Belgian stations typically record.
 *
 * Station codes follow the pattern of the EEA station codes that the Belgian OpenAQ feed uses as
 * location names (BETR801, BETN043, BETB011); the stations themselves are made up, placed in and
 * around each town.
 */
export interface City {
  readonly name: string;
  readonly latitude: number;
  readonly longitude: number;
  /** Level of the city relative to an average Belgian town (ports and capitals are worse). */
  readonly factor: number;
}

/** traffic: at a busy road; background: away from roads; industrial: near industry; rural. */
export type StationKind = 'traffic' | 'background' | 'industrial' | 'rural';

export type Unit = 'µg/m³' | 'ppm';

export interface Station {
  readonly code: string;
  readonly city: string;
  readonly latitude: number;
  readonly longitude: number;
  readonly kind: StationKind;
  readonly sourceType: 'government' | 'research';
  /** The pollutants it measures and the unit it reports each in. */
  readonly pollutants: Readonly<Partial<Record<PollutantCode, Unit>>>;
}

export const COUNTRY = 'BE';
export const SOURCE_NAME = 'belair-generator';

export const CITIES: readonly City[] = [
  { name: 'Genk', latitude: 50.965, longitude: 5.5008, factor: 1.05 },
  { name: 'Diepenbeek', latitude: 50.9077, longitude: 5.4191, factor: 0.9 },
  { name: 'Leuven', latitude: 50.8798, longitude: 4.7005, factor: 0.95 },
  { name: 'Antwerpen', latitude: 51.2194, longitude: 4.4025, factor: 1.2 },
  { name: 'Hasselt', latitude: 50.9307, longitude: 5.3325, factor: 0.95 },
  { name: 'Brussel', latitude: 50.8467, longitude: 4.3525, factor: 1.15 },
  { name: 'Gent', latitude: 51.0543, longitude: 3.7174, factor: 1.05 },
  { name: 'Landen', latitude: 50.7528, longitude: 5.082, factor: 0.8 },
];

const UG = 'µg/m³';
const PPM = 'ppm';

// Carbon monoxide is reported in ppm everywhere (as many feeds do); a few stations report the
// other gases in ppm as well, so that both units reach the API.
export const STATIONS: readonly Station[] = [
  {
    code: 'BETR222',
    city: 'Genk',
    latitude: 50.9664,
    longitude: 5.4993,
    kind: 'traffic',
    sourceType: 'government',
    pollutants: { no2: UG, pm10: UG, pm25: UG, bc: UG, co: PPM },
  },
  {
    code: 'BETN224',
    city: 'Genk',
    latitude: 50.9781,
    longitude: 5.4806,
    kind: 'background',
    sourceType: 'government',
    pollutants: { no2: UG, o3: UG, pm10: UG, pm25: UG },
  },
  {
    code: 'BETR226',
    city: 'Genk',
    latitude: 50.9452,
    longitude: 5.5247,
    kind: 'industrial',
    sourceType: 'government',
    pollutants: { so2: UG, no2: UG, pm10: UG },
  },
  {
    code: 'BETN231',
    city: 'Diepenbeek',
    latitude: 50.9293,
    longitude: 5.3932,
    kind: 'background',
    sourceType: 'research',
    pollutants: { no2: PPM, o3: PPM, pm10: UG, pm25: UG },
  },
  {
    code: 'BETR232',
    city: 'Diepenbeek',
    latitude: 50.9079,
    longitude: 5.4188,
    kind: 'traffic',
    sourceType: 'government',
    pollutants: { no2: UG, pm25: UG, bc: UG },
  },
  {
    code: 'BETR501',
    city: 'Leuven',
    latitude: 50.8794,
    longitude: 4.7013,
    kind: 'traffic',
    sourceType: 'government',
    pollutants: { no2: UG, pm10: UG, pm25: UG, bc: UG, co: PPM },
  },
  {
    code: 'BETN502',
    city: 'Leuven',
    latitude: 50.8881,
    longitude: 4.7262,
    kind: 'background',
    sourceType: 'government',
    pollutants: { no2: UG, o3: UG, pm10: UG, pm25: UG },
  },
  {
    code: 'BETN513',
    city: 'Leuven',
    latitude: 50.8652,
    longitude: 4.6921,
    kind: 'background',
    sourceType: 'research',
    pollutants: { o3: PPM, pm25: UG },
  },
  {
    code: 'BETR801',
    city: 'Antwerpen',
    latitude: 51.2095,
    longitude: 4.4318,
    kind: 'background',
    sourceType: 'government',
    pollutants: { no2: UG, o3: UG, pm10: UG, pm25: UG, so2: UG },
  },
  {
    code: 'BETR802',
    city: 'Antwerpen',
    latitude: 51.2208,
    longitude: 4.4322,
    kind: 'traffic',
    sourceType: 'government',
    pollutants: { no2: UG, pm10: UG, pm25: UG, bc: UG, co: PPM },
  },
  {
    code: 'BETR803',
    city: 'Antwerpen',
    latitude: 51.2634,
    longitude: 4.3614,
    kind: 'industrial',
    sourceType: 'government',
    pollutants: { so2: PPM, no2: UG, pm10: UG, pm25: UG },
  },
  {
    code: 'BETR810',
    city: 'Antwerpen',
    latitude: 51.2303,
    longitude: 4.3856,
    kind: 'background',
    sourceType: 'government',
    pollutants: { no2: UG, o3: UG, pm10: UG },
  },
  {
    code: 'BETR201',
    city: 'Hasselt',
    latitude: 50.9302,
    longitude: 5.3381,
    kind: 'traffic',
    sourceType: 'government',
    pollutants: { no2: UG, pm10: UG, pm25: UG, co: PPM },
  },
  {
    code: 'BETN202',
    city: 'Hasselt',
    latitude: 50.9502,
    longitude: 5.3049,
    kind: 'background',
    sourceType: 'government',
    pollutants: { no2: UG, o3: UG, pm10: UG, pm25: UG },
  },
  {
    code: 'BETR001',
    city: 'Brussel',
    latitude: 50.8486,
    longitude: 4.3347,
    kind: 'traffic',
    sourceType: 'government',
    pollutants: { no2: UG, pm10: UG, pm25: UG, bc: UG, co: PPM },
  },
  {
    code: 'BETR002',
    city: 'Brussel',
    latitude: 50.8262,
    longitude: 4.38,
    kind: 'traffic',
    sourceType: 'government',
    pollutants: { no2: UG, pm10: UG, pm25: UG, bc: UG },
  },
  {
    code: 'BETB011',
    city: 'Brussel',
    latitude: 50.8678,
    longitude: 4.296,
    kind: 'background',
    sourceType: 'government',
    pollutants: { no2: UG, o3: UG, pm10: UG, pm25: UG, so2: UG },
  },
  {
    code: 'BETN043',
    city: 'Brussel',
    latitude: 50.885,
    longitude: 4.3842,
    kind: 'industrial',
    sourceType: 'government',
    pollutants: { no2: UG, o3: UG, so2: UG, pm10: UG },
  },
  {
    code: 'BETR701',
    city: 'Gent',
    latitude: 51.058,
    longitude: 3.7292,
    kind: 'background',
    sourceType: 'government',
    pollutants: { no2: UG, o3: UG, pm10: UG, pm25: UG },
  },
  {
    code: 'BETR702',
    city: 'Gent',
    latitude: 51.0582,
    longitude: 3.732,
    kind: 'traffic',
    sourceType: 'government',
    pollutants: { no2: UG, pm10: UG, pm25: UG, bc: UG, co: PPM },
  },
  {
    code: 'BETR710',
    city: 'Gent',
    latitude: 51.0603,
    longitude: 3.7853,
    kind: 'background',
    sourceType: 'government',
    pollutants: { no2: UG, o3: UG, so2: UG, pm10: UG },
  },
  {
    code: 'BETN341',
    city: 'Landen',
    latitude: 50.753,
    longitude: 5.082,
    kind: 'rural',
    sourceType: 'government',
    pollutants: { no2: PPM, o3: UG, pm10: UG, pm25: UG },
  },
  {
    code: 'BETN342',
    city: 'Landen',
    latitude: 50.7612,
    longitude: 5.0608,
    kind: 'rural',
    sourceType: 'research',
    pollutants: { o3: PPM, pm10: UG },
  },
];

/**
 * Daily shapes: traffic has a morning and an evening rush hour and a quiet night; ozone forms in
 * sunlight and peaks in the afternoon while traffic gases eat it at night; particulate matter
 * follows traffic more gently.
 */
export type DailyProfile = 'traffic' | 'particles' | 'sunlight' | 'flat';

export interface PollutantLevel {
  /** Typical hourly mean at an urban background station, µg/m³. */
  readonly mean: number;
  readonly profile: DailyProfile;
  /** Relative hour-to-hour variation (log scale). */
  readonly variability: number;
  /** Factor by station type. */
  readonly byKind: Readonly<Record<StationKind, number>>;
}

// Means of the order of what Belgian stations record over a year: NO2 15-35 µg/m³ (more along
// roads), PM10 15-20, PM2.5 8-12, O3 45-55, SO2 a few µg/m³ except near industry, CO a few
// hundred µg/m³ (a few tenths of a ppm), black carbon about 1 µg/m³.
export const POLLUTANT_LEVELS: Readonly<Record<PollutantCode, PollutantLevel>> = {
  pm25: {
    mean: 9,
    profile: 'particles',
    variability: 0.25,
    byKind: { traffic: 1.25, background: 1, industrial: 1.15, rural: 0.85 },
  },
  pm10: {
    mean: 16,
    profile: 'particles',
    variability: 0.25,
    byKind: { traffic: 1.3, background: 1, industrial: 1.25, rural: 0.85 },
  },
  no2: {
    mean: 20,
    profile: 'traffic',
    variability: 0.3,
    byKind: { traffic: 1.8, background: 1, industrial: 1.2, rural: 0.55 },
  },
  o3: {
    mean: 48,
    profile: 'sunlight',
    variability: 0.2,
    byKind: { traffic: 0.75, background: 1, industrial: 0.85, rural: 1.15 },
  },
  so2: {
    mean: 3,
    profile: 'flat',
    variability: 0.35,
    byKind: { traffic: 1, background: 1, industrial: 3, rural: 0.6 },
  },
  co: {
    mean: 260,
    profile: 'traffic',
    variability: 0.2,
    byKind: { traffic: 1.4, background: 1, industrial: 1.2, rural: 0.8 },
  },
  bc: {
    mean: 0.9,
    profile: 'traffic',
    variability: 0.35,
    byKind: { traffic: 1.9, background: 1, industrial: 1.2, rural: 0.6 },
  },
};

/** Molar masses (g/mol) for writing gases in ppm at 25 °C, as sql/020-reference-data.sql. */
export const MOLAR_MASS: Readonly<Partial<Record<PollutantCode, number>>> = {
  no2: 46.0055,
  o3: 47.9982,
  so2: 64.066,
  co: 28.01,
};
