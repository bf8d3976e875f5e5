import { createMeasurementGenerator, SERIES } from '../../src/sources/generator/generate.js';
import {
  type GeneratorClock,
  type MeasurementSink,
  runBackfill,
} from '../../src/sources/generator/run-generator.js';

/** The backfill the generator tests run: the past 3 hours at the live rate of 100 a minute. */
export function backfillThreeHours(sink: MeasurementSink, seed: string, clock: GeneratorClock) {
  return runBackfill({
    generator: createMeasurementGenerator({ seed }),
    sink,
    hours: 3,
    perMinute: 100,
    seriesCount: SERIES.length,
    clock,
  });
}

/**
 * How many measurements it makes: 100 a minute over the series is every series once every
 * ceil(92 × 60 / 100) s, at least once a minute, over 3 hours.
 */
export const THREE_HOURS_OF_BACKFILL =
  Math.floor((3 * 3_600_000) / Math.max(60_000, Math.ceil((SERIES.length * 60_000) / 100))) *
  SERIES.length;
