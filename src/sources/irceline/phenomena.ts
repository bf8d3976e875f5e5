import type { PollutantCode } from '../../client/measurement.js';
import type { Phenomenon } from './shapes.js';

/**
 * The phenomenon ids of the pollutants belair follows, as IRCEL-CELINE's timeseries API numbers
 * them (its /phenomena list: 5 Particulate Matter < 10 µm, 6001 Particulate Matter < 2.5 µm,
 * 8 Nitrogen dioxide, 7 Ozone, 391 Black Carbon). Sulphur dioxide and carbon monoxide are found
 * in /phenomena by their labels at every poll rather than guessed.
 */
export const KNOWN_PHENOMENA: ReadonlyMap<string, PollutantCode> = new Map([
  ['5', 'pm10'],
  ['6001', 'pm25'],
  ['8', 'no2'],
  ['7', 'o3'],
  ['391', 'bc'],
]);

const LABELS: readonly [RegExp, PollutantCode][] = [
  [/^particulate matter\s*<\s*10\s*[µμu]m$/i, 'pm10'],
  [/^particulate matter\s*<\s*2[.,]5\s*[µμu]m$/i, 'pm25'],
  [/^nitrogen dioxide$/i, 'no2'],
  [/^ozone$/i, 'o3'],
  [/^sulph?ur dioxide$|^sulfur dioxide$/i, 'so2'],
  [/^carbon monoxide$/i, 'co'],
  [/^black carbon$/i, 'bc'],
];

/** The followed phenomena: the known ids, and those of /phenomena whose label names one. */
export function followedPhenomena(
  listed: readonly Phenomenon[] | null,
): Map<string, PollutantCode> {
  const followed = new Map(KNOWN_PHENOMENA);
  for (const phenomenon of listed ?? []) {
    const label = phenomenon.label.trim();
    const match = LABELS.find(([pattern]) => pattern.test(label));
    if (match) followed.set(phenomenon.id, match[1]);
  }
  return followed;
}
