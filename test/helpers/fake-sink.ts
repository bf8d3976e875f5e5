import type { MeasurementInput } from '../../src/client/measurement.js';
import type { IngestResult } from '../../src/ingest/ingest-measurements.js';
import type { MeasurementSink } from '../../src/sources/generator/run-generator.js';
import type { FakeClock } from './fake-clock.js';

/** One request a sink received: when (ms since the clock's start) and how many items. */
export interface SinkRequest {
  readonly at: number;
  readonly items: number;
}

/**
 * A sink that stores nothing and takes every item as new, each request costing `latencyMs` of the
 * fake clock; it keeps when each request came and how large it was.
 */
export function fakeSink(
  clock: FakeClock,
  options: { latencyMs?: number } = {},
): MeasurementSink & { requests: SinkRequest[]; refreshes: number[] } {
  const since = () => clock.now() - clock.start;
  const requests: SinkRequest[] = [];
  const refreshes: number[] = [];
  return {
    requests,
    refreshes,
    async ingest(items: MeasurementInput[]): Promise<IngestResult> {
      requests.push({ at: since(), items: items.length });
      clock.advance(options.latencyMs ?? 0);
      return {
        received: items.length,
        inserted: items.length,
        updated: 0,
        unchanged: 0,
        rejected: [],
      };
    },
    async refresh() {
      refreshes.push(since());
    },
  };
}
