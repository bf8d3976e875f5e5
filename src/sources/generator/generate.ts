import type { MeasurementInput, PollutantCode } from '../../client/measurement.js';
import { CITIES, COUNTRY, SOURCE_NAME, STATIONS, type Station, type Unit } from './belgium.js';
import { inUnit, levelAt } from './levels.js';
import { createRandom } from './random.js';

/** One station measuring one pollutant. */
export interface Series {
  readonly station: Station;
  readonly pollutant: PollutantCode;
  readonly unit: Unit;
}

export const SERIES: readonly Series[] = STATIONS.flatMap((station) =>
  Object.entries(station.pollutants).map(([pollutant, unit]) => ({
    station,
    pollutant: pollutant as PollutantCode,
    unit: unit as Unit,
  })),
);

/**
 * fresh: measured a few seconds to minutes ago; late: an hour or two ago (the real feed lags
 * hours behind); repeat: sent before, sent again unchanged; correction: sent before, sent again
 * with another value.
 */
export type Variety = 'fresh' | 'late' | 'repeat' | 'correction';

export interface GeneratorOptions {
  /** Same seed, same sequence of stations, values, delays and repeats. Default: a random one. */
  readonly seed?: string;
  /** Share of measurements that arrive late. Default 0.1. */
  readonly lateShare?: number;
  /** Share of measurements that were sent before (a quarter of them corrected). Default 0.05. */
  readonly repeatShare?: number;
}

export interface MeasurementGenerator {
  readonly seed: string;
  /** How many of each variety were made so far. */
  readonly made: Readonly<Record<Variety, number>>;
  /**
   * The next `count` measurements as of `now` (ms since the epoch). Repeats are taken from
   * earlier batches only, so a batch never holds the same measurement twice.
   */
  batch(count: number, now: number): MeasurementInput[];
  /** Every series at every multiple of intervalMs in (from, to]: a past window filled at once. */
  backfill(from: number, to: number, intervalMs: number): Generator<MeasurementInput[]>;
}

const MINUTE = 60_000;
const HISTORY = 2000;

export function measurementOf(seed: string, series: Series, instant: number): MeasurementInput {
  const { station, pollutant, unit } = series;
  const city = CITIES.find((c) => c.name === station.city);
  if (!city) throw new Error(`station ${station.code} is in an unknown city ${station.city}`);
  return {
    location: station.code,
    city: city.name,
    country: COUNTRY,
    parameter: pollutant,
    value: inUnit(levelAt(seed, station, pollutant, instant), pollutant, unit),
    unit,
    measuredAt: new Date(instant),
    latitude: station.latitude,
    longitude: station.longitude,
    sourceName: SOURCE_NAME,
    sourceType: station.sourceType,
  };
}

export function createMeasurementGenerator(options: GeneratorOptions = {}): MeasurementGenerator {
  const seed = options.seed ?? Math.random().toString(36).slice(2, 10);
  const lateShare = options.lateShare ?? 0.1;
  const repeatShare = options.repeatShare ?? 0.05;
  const random = createRandom(seed);
  const history: MeasurementInput[] = [];
  let historyNext = 0;
  const made: Record<Variety, number> = { fresh: 0, late: 0, repeat: 0, correction: 0 };

  function remember(items: readonly MeasurementInput[]) {
    for (const item of items) {
      if (history.length < HISTORY) history.push(item);
      else history[historyNext] = item;
      historyNext = (historyNext + 1) % HISTORY;
    }
  }

  function one(now: number, earlier: readonly MeasurementInput[]): MeasurementInput {
    const draw = random.next();
    if (draw < repeatShare && earlier.length > 0) {
      const previous = random.pick(earlier);
      if (random.next() < 0.25) {
        made.correction += 1;
        const step = previous.unit === 'ppm' ? 0.0001 : 0.1;
        const corrected = Math.round((previous.value * 1.1 + step) / step) * step;
        return { ...previous, value: Number(corrected.toFixed(4)) };
      }
      made.repeat += 1;
      return previous;
    }
    const series = random.pick(SERIES);
    let lagMs: number;
    if (draw < repeatShare + lateShare) {
      made.late += 1;
      lagMs = (20 + random.next() * 150) * MINUTE;
    } else {
      made.fresh += 1;
      // Mostly under a minute, now and then several: the feed's usual transmission delay.
      lagMs = Math.min(600_000, Math.max(1000, Math.exp(0.9 * random.normal()) * 40_000));
    }
    return measurementOf(seed, series, Math.round(now - lagMs));
  }

  return {
    seed,
    made,
    batch(count, now) {
      const earlier = history.slice();
      const items: MeasurementInput[] = [];
      for (let i = 0; i < count; i += 1) items.push(one(now, earlier));
      remember(items);
      return items;
    },
    *backfill(from, to, intervalMs) {
      const first = Math.floor(from / intervalMs) * intervalMs + intervalMs;
      for (let instant = first; instant <= to; instant += intervalMs) {
        yield SERIES.map((series) => measurementOf(seed, series, instant));
      }
    },
  };
}
