import { createRandom } from '../../src/sources/generator/random.js';
import { MINUTE } from './seed.js';

/*
 * Overlapping batches for test/concurrency.test.ts, planned so that the final state is exactly
 * predictable whatever order the server runs them in:
 * - every measurement key (station, pollutant, measuredAt) has a final value that is a function of
 *   the key, and most keys are sent by several clients at once, in different orders;
 * - a "correction" sends a different value first and the final value afterwards, from the same
 *   client: whatever interleaving, the last write of such a key is a final value;
 * - every round brings new cities and stations that every client's batches name at the same
 *   time (in BE, and in NL under the same names), and a new station in an existing city;
 * - coordinates of a station come with about half of its items; null never erases them.
 * Rounds are separated by a barrier, so that keys of earlier rounds are known to be stored when a
 * later round corrects them.
 */

export const POLLUTANTS = ['pm10', 'no2', 'o3'] as const;
/** Minutes before t0 at which stations measure; 180 is a 3-hour window's excluded lower bound. */
export const OFFSETS_MIN = [5, 30, 55, 80, 105, 130, 155, 180, 205];

export interface PlanOptions {
  /** The instant the measurements lie before (OFFSETS_MIN), in ms since the epoch. */
  readonly t0: number;
  /** How many clients send batches. */
  readonly clients: number;
}

export interface Station {
  readonly country: string;
  readonly city: string;
  readonly name: string;
}
export interface Key {
  readonly id: string;
  readonly station: Station;
  readonly pollutant: string;
  readonly measuredAt: number;
  readonly unit: 'µg/m³' | 'ppm';
}
/** One item of a batch: a key, the value sent, and whether the station's attributes come with it. */
export interface Send {
  readonly key: Key;
  readonly value: number;
  readonly withAttributes: boolean;
}

export const stationId = (s: Station) => `${s.country}|${s.city}|${s.name}`;
export const cityId = (c: { country: string; city: string }) => `${c.country}|${c.city}`;
/** A number in [0, 1) that depends only on the text. */
const hash = (text: string) => createRandom(text).next();

/** The value every key ends with. */
export function finalValue(key: Key): number {
  const u = hash(`value ${key.id}`);
  return key.unit === 'ppm' ? Math.round(u * 100) / 1000 : Math.round(u * 2000) / 10;
}
/** The value a correction sends before the final one: always different from it. */
const correctionValue = (key: Key) => finalValue(key) + (key.unit === 'ppm' ? 0.05 : 50);

export function attributes(station: Station) {
  const id = stationId(station);
  return {
    latitude: 49.5 + Math.round(hash(`lat ${id}`) * 1e6) / 1e6,
    longitude: 2.5 + Math.round(hash(`lon ${id}`) * 1e6) / 1e6,
    sourceName: `source ${station.name}`,
  };
}

/** The stations round r brings: two cities of BE (and every third round NL), one new station. */
function roundStations(r: number): Station[] {
  const cities: [string, string][] = [
    ['BE', `Stad ${r}A`],
    ['BE', `Stad ${r}B`],
  ];
  if (r % 3 === 0) cities.push(['NL', `Stad ${r}A`]);
  const stations = cities.flatMap(([country, city]) =>
    ['ST-1', 'ST-2'].map((name) => ({ country, city, name })),
  );
  if (r > 0) stations.push({ country: 'BE', city: `Stad ${r - 1}A`, name: `ST-X${r}` });
  return stations;
}

function keysOf(stations: readonly Station[], t0: number): Key[] {
  return stations.flatMap((station) =>
    POLLUTANTS.flatMap((pollutant) =>
      OFFSETS_MIN.map((offset) => {
        const measuredAt = t0 - offset * MINUTE;
        const unit = pollutant === 'no2' && station.city.endsWith('B') ? 'ppm' : 'µg/m³';
        const id = `${stationId(station)}|${pollutant}|${measuredAt}`;
        return { id, station, pollutant, measuredAt, unit } as const;
      }),
    ),
  );
}

export interface RoundPlan {
  /** batches[client][0 | 1]: each client sends its first batch, then its second. */
  readonly batches: Send[][][];
  readonly newKeys: Key[];
  /** Keys of this round corrected in this round: 1 or 2 updates each, depending on the order. */
  readonly correctedNew: number;
  /** Keys of the previous round corrected in this one: 2 updates each (final, correction, final). */
  readonly correctedPrevious: number;
}

/**
 * Round r's batches. Every new key goes to a random first client and to each other client with
 * probability 0.4; 15% of new keys and 10% of the previous round's keys are corrected by one
 * client (correction in its first batch, final value in its second); 15% of the previous round's
 * keys are sent again, unchanged, by each other client. Each batch is shuffled.
 */
export function planRound(
  r: number,
  previous: readonly Key[],
  { t0, clients }: PlanOptions,
): RoundPlan {
  const random = createRandom(`concurrency round ${r}`);
  const batches = Array.from({ length: clients }, (): Send[][] => [[], []]);
  const add = (client: number, batch: number, key: Key, value: number) =>
    batches[client]?.[batch]?.push({ key, value, withAttributes: random.next() < 0.5 });
  const pickClient = () => Math.floor(random.next() * clients);
  const pickBatch = () => (random.next() < 0.5 ? 0 : 1);

  const newKeys = keysOf(roundStations(r), t0);
  let correctedNew = 0;
  for (const key of newKeys) {
    const first = pickClient();
    if (random.next() < 0.15) {
      add(first, 0, key, correctionValue(key));
      add(first, 1, key, finalValue(key));
      correctedNew += 1;
    } else {
      add(first, pickBatch(), key, finalValue(key));
    }
    for (let c = 0; c < clients; c += 1) {
      if (c !== first && random.next() < 0.4) add(c, pickBatch(), key, finalValue(key));
    }
  }
  let correctedPrevious = 0;
  for (const key of previous) {
    let corrector = -1;
    if (random.next() < 0.1) {
      corrector = pickClient();
      add(corrector, 0, key, correctionValue(key));
      add(corrector, 1, key, finalValue(key));
      correctedPrevious += 1;
    }
    for (let c = 0; c < clients; c += 1) {
      if (c !== corrector && random.next() < 0.15) add(c, pickBatch(), key, finalValue(key));
    }
  }
  for (const pair of batches) {
    for (const batch of pair) {
      for (let i = batch.length - 1; i > 0; i -= 1) {
        const j = Math.floor(random.next() * (i + 1));
        [batch[i], batch[j]] = [batch[j] as Send, batch[i] as Send];
      }
    }
  }
  return { batches, newKeys, correctedNew, correctedPrevious };
}

const PARAMETER: Record<string, string> = { pm10: 'PM10', no2: 'NO2', o3: 'O3' };

/** A batch item as the GraphQL input MeasurementInput takes it. */
export function toItem({ key, value, withAttributes }: Send) {
  return {
    location: key.station.name,
    city: key.station.city,
    country: key.station.country,
    parameter: PARAMETER[key.pollutant],
    value,
    unit: key.unit,
    measuredAt: new Date(key.measuredAt).toISOString(),
    ...(withAttributes ? attributes(key.station) : {}),
  };
}
