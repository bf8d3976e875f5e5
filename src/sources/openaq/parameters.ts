import type { PollutantCode } from '../../client/measurement.js';

/**
 * OpenAQ's parameter ids of the pollutants belair follows (GET /v3/parameters): 1-6 in µg/m³,
 * 7-10 the gases in ppm, 11 black carbon. Every other parameter (pm1, temperature, humidity,
 * particle counts) is skipped and counted.
 */
export const OPENAQ_PARAMETERS: ReadonlyMap<number, PollutantCode> = new Map([
  [1, 'pm10'],
  [2, 'pm25'],
  [3, 'o3'],
  [4, 'co'],
  [5, 'no2'],
  [6, 'so2'],
  [7, 'no2'],
  [8, 'co'],
  [9, 'so2'],
  [10, 'o3'],
  [11, 'bc'],
]);
