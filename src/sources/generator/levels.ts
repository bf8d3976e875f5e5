import type { PollutantCode } from '../../client/measurement.js';
import {
  CITIES,
  type DailyProfile,
  MOLAR_MASS,
  POLLUTANT_LEVELS,
  type Station,
  type Unit,
} from './belgium.js';
import { hashNormal } from './random.js';

const HOUR = 3_600_000;

/** The last Sunday of a month (0-based), as a UTC day of the month. */
function lastSunday(year: number, month: number): number {
  const last = new Date(Date.UTC(year, month + 1, 0));
  return last.getUTCDate() - last.getUTCDay();
}

/** Belgian time is UTC+1, and UTC+2 from 01:00 UTC on the last Sunday of March to 01:00 UTC on
 * the last Sunday of October (the EU rule). */
export function belgianOffsetHours(instant: number): number {
  const year = new Date(instant).getUTCFullYear();
  const summerStart = Date.UTC(year, 2, lastSunday(year, 2), 1);
  const summerEnd = Date.UTC(year, 9, lastSunday(year, 9), 1);
  return instant >= summerStart && instant < summerEnd ? 2 : 1;
}

/** Hour of the day in Belgium, with its fraction: 0 <= h < 24. */
export function belgianHour(instant: number): number {
  const local = instant + belgianOffsetHours(instant) * HOUR;
  return (((local % (24 * HOUR)) + 24 * HOUR) % (24 * HOUR)) / HOUR;
}

/** A bump around an hour of the day, wrapping round midnight. */
function bump(hour: number, centre: number, width: number): number {
  const distance = Math.min(Math.abs(hour - centre), 24 - Math.abs(hour - centre));
  return Math.exp(-(distance * distance) / (2 * width * width));
}

/** The level at an hour of the day relative to the day's mean (about 1 on average). */
export function dailyFactor(profile: DailyProfile, hour: number): number {
  const traffic =
    0.72 + 0.6 * bump(hour, 8, 1.5) + 0.65 * bump(hour, 18, 2.2) - 0.2 * bump(hour, 4, 2.5);
  switch (profile) {
    case 'traffic':
      return traffic;
    case 'particles':
      return 1 + 0.4 * (traffic - 1);
    case 'sunlight':
      return 1 + 0.5 * Math.cos((2 * Math.PI * (hour - 15)) / 24);
    case 'flat':
      return 1;
  }
}

/**
 * The concentration (µg/m³) a station reads for a pollutant at an instant: the pollutant's mean,
 * scaled for the city and the kind of station, shaped by the hour of the day, drifting slowly
 * (weather changes over hours) and with a little noise. It depends only on the seed, the station,
 * the pollutant and the instant, so the same seed gives the same reading for the same instant in
 * every run, and a repeated backfill stores nothing new.
 */
export function levelAt(
  seed: string,
  station: Station,
  pollutant: PollutantCode,
  instant: number,
): number {
  const level = POLLUTANT_LEVELS[pollutant];
  const city = CITIES.find((c) => c.name === station.city);
  const base = level.mean * (city?.factor ?? 1) * level.byKind[station.kind];
  const daily = dailyFactor(level.profile, belgianHour(instant));
  // Slow drift: a random value every 3 hours, joined smoothly.
  const knot = Math.floor(instant / (3 * HOUR));
  const within = instant / (3 * HOUR) - knot;
  const a = hashNormal(seed, station.code, pollutant, 'drift', knot);
  const b = hashNormal(seed, station.code, pollutant, 'drift', knot + 1);
  const drift = a + (b - a) * ((1 - Math.cos(Math.PI * within)) / 2);
  const noise = hashNormal(seed, station.code, pollutant, 'noise', instant);
  return base * daily * Math.exp(level.variability * drift + 0.3 * level.variability * noise);
}

/** A concentration in µg/m³ written in a station's unit (ppm at 25 °C for gases), rounded as
 * stations report it. */
export function inUnit(microgramsPerCubicMetre: number, pollutant: PollutantCode, unit: Unit) {
  if (unit === 'ppm') {
    const molarMass = MOLAR_MASS[pollutant];
    if (molarMass === undefined) throw new RangeError(`${pollutant} cannot be written in ppm`);
    return round((microgramsPerCubicMetre * 24.45) / (1000 * molarMass), 4);
  }
  return round(microgramsPerCubicMetre, microgramsPerCubicMetre < 10 ? 2 : 1);
}

function round(value: number, decimals: number): number {
  const scale = 10 ** decimals;
  return Math.round(value * scale) / scale;
}
