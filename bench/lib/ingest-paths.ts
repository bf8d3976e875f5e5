import type { Connection, Pool } from 'mysql2/promise';
import { ingestMeasurements } from '../../src/ingest/ingest-measurements.js';
import type { MeasurementItem } from '../../src/ingest/validate-measurement.js';
import type { PollutantCode, Station } from './generate.js';
import { type Summary, summarize, timeMs } from './measure.js';

/**
 * The ways a batch of measurements reaches the measurement table, timed side by side on the same
 * rows: raw mysql2 multi-row INSERTs (the baseline), the ingestion module called in-process, and
 * the ingestMeasurements mutation over HTTP.
 */

/** One measurement of a batch, before it takes the shape of one path or another. */
export interface Reading {
  readonly station: Station;
  readonly pollutant: PollutantCode;
  readonly measuredAt: Date;
  readonly value: number;
}

/**
 * Readings of every station and pollutant at `instants` consecutive minutes from `at`, in the
 * measurement table's key order (station, pollutant, instant): a large batch as a careful client
 * would send it, which also spares the raw baseline the cost of writing out of order.
 */
export function readingsFrom(
  stations: readonly Station[],
  pollutants: readonly PollutantCode[],
  at: Date,
  instants: number,
  seed: number,
): Reading[] {
  const sorted = [...pollutants].sort();
  return stations.flatMap((station, s) =>
    sorted.flatMap((pollutant, p) =>
      Array.from({ length: instants }, (_, i) => ({
        station,
        pollutant,
        measuredAt: new Date(at.getTime() + i * 60_000),
        value: ((((seed * 7919 + s * 104729 + p * 31 + i * 13) % 1000) + 1000) % 1000) / 10,
      })),
    ),
  );
}

/** One reading per station and pollutant at the instant `at`: 1,000 for the Belgian layout. */
export function readingsAt(
  stations: readonly Station[],
  pollutants: readonly PollutantCode[],
  at: Date,
  seed: number,
): Reading[] {
  return stations.flatMap((station, s) =>
    pollutants.map((pollutant, p) => ({
      station,
      pollutant,
      measuredAt: at,
      value: ((((seed * 7919 + s * 104729 + p * 31) % 1000) + 1000) % 1000) / 10,
    })),
  );
}

export type Phase = 'new' | 'duplicate';

export interface IngestPath {
  readonly name: string;
  /** Stores one batch; throws when the path says it did not do what the phase expects. */
  send(batch: readonly Reading[], phase: Phase): Promise<void>;
}

const COLUMNS = 'location_id, pollutant, measured_at, original_value, original_unit';

/** Rows per statement of the baseline, as the ingestion module's INSERTs (ROWS_PER_STATEMENT). */
const RAW_ROWS_PER_STATEMENT = 1000;

/**
 * The baseline: multi-row statements of 1,000 rows (one per batch of 1,000) on one connection,
 * autocommit, values passed to mysql2 as placeholders. New rows go in with a plain INSERT;
 * duplicates with the same INSERT ... ON DUPLICATE KEY UPDATE the ingestion module sends (a plain
 * INSERT refuses them).
 */
export function rawPath(connection: Connection): IngestPath {
  return {
    name: 'raw mysql2 multi-row INSERT',
    async send(batch, phase) {
      const upsert =
        phase === 'duplicate'
          ? ' ON DUPLICATE KEY UPDATE original_value = VALUES(original_value), original_unit = VALUES(original_unit)'
          : '';
      for (let i = 0; i < batch.length; i += RAW_ROWS_PER_STATEMENT) {
        const chunk = batch.slice(i, i + RAW_ROWS_PER_STATEMENT);
        await connection.query(
          `/* rawInsert */ INSERT INTO measurement (${COLUMNS}) VALUES ${chunk
            .map(() => '(?, ?, ?, ?, ?)')
            .join(', ')}${upsert}`,
          chunk.flatMap((r) => [r.station.id, r.pollutant, r.measuredAt, r.value, 'µg/m³']),
        );
      }
    },
  };
}

/** A reading as the GraphQL MeasurementInput (and the ingestion module) take it. */
export function toInput(reading: Reading): MeasurementItem {
  return {
    location: reading.station.name,
    city: reading.station.city,
    country: reading.station.country,
    parameter: reading.pollutant,
    value: reading.value,
    unit: 'µg/m³',
    measuredAt: reading.measuredAt.toISOString(),
  };
}

interface Counts {
  readonly received: number;
  readonly inserted: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly rejected: readonly unknown[];
}

function check(path: string, phase: Phase, counts: Counts): void {
  const expected = phase === 'new' ? counts.inserted : counts.unchanged;
  if (expected !== counts.received || counts.rejected.length > 0) {
    throw new Error(`${path}, ${phase} rows: unexpected result ${JSON.stringify(counts)}`);
  }
}

/** ingestMeasurements in this process: validation, lookups and upserts, without GraphQL. */
export function modulePath(pool: Pool): IngestPath {
  const name = 'ingestion module, in-process';
  return {
    name,
    async send(batch, phase) {
      check(name, phase, await ingestMeasurements(pool, batch.map(toInput)));
    },
  };
}

const ENUM_NAMES = new Map<string, string>();
const enumName = (reading: Reading) => {
  let name = ENUM_NAMES.get(reading.pollutant);
  if (name === undefined) {
    name = reading.pollutant.toUpperCase();
    ENUM_NAMES.set(reading.pollutant, name);
  }
  return name;
};

export const INGEST_MUTATION = `mutation Ingest($measurements: [MeasurementInput!]!) {
  ingestMeasurements(measurements: $measurements) { received inserted updated unchanged rejected { index reason } }
}`;

/** The ingestMeasurements mutation over HTTP, one request per batch. */
export function httpPath(url: string, token: string): IngestPath {
  const name = 'ingestMeasurements over HTTP';
  return {
    name,
    async send(batch, phase) {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          query: INGEST_MUTATION,
          // The Pollutant enum's names: PM25, NO2, ...
          variables: {
            measurements: batch.map((r) => ({ ...toInput(r), parameter: enumName(r) })),
          },
        }),
      });
      const body = (await response.json()) as {
        data?: { ingestMeasurements: Counts };
        errors?: unknown;
      };
      if (!body.data) throw new Error(`${name}: ${response.status} ${JSON.stringify(body.errors)}`);
      check(name, phase, body.data.ingestMeasurements);
    },
  };
}

export interface PathFigures {
  readonly rowsPerSecond: number;
  /** Milliseconds per batch. */
  readonly batches: Summary;
}

export type IngestionFigures = Map<string, Record<Phase, PathFigures>>;

/**
 * Sends `batches` batches through every path, new rows first, then the same rows again. The paths
 * take turns batch by batch, rotating the order, so that a moment of noise on the machine falls
 * on all of them alike. Path i writes instants of its own (start + i days + k minutes), so that
 * its new rows are new and its duplicates its own. Each path sends one untimed batch first.
 */
export async function measureIngestion(
  paths: readonly IngestPath[],
  batches: number,
  makeBatch: (at: Date, seed: number) => Reading[],
  start: Date,
  /** Minutes between the first instants of two batches of a path: the instants a batch spans. */
  minutesPerBatch = 1,
): Promise<IngestionFigures> {
  const batchOf = (path: number, k: number) =>
    makeBatch(new Date(start.getTime() + path * 86_400_000 + k * minutesPerBatch * 60_000), k);
  // One untimed batch per path first (an hour before its own instants): connections opened, code
  // compiled, caches filled, as in a server that has been running for a while.
  for (const [i, path] of paths.entries()) {
    await path.send(makeBatch(new Date(start.getTime() + i * 86_400_000 - 3_600_000), -1), 'new');
  }
  const times = paths.map(() => ({ new: [] as number[], duplicate: [] as number[] }));
  const rows = paths.map(() => ({ new: 0, duplicate: 0 }));
  for (const phase of ['new', 'duplicate'] as const) {
    for (let k = 0; k < batches; k += 1) {
      for (let j = 0; j < paths.length; j += 1) {
        const i = (k + j) % paths.length;
        const batch = batchOf(i, k);
        const ms = await timeMs(() => (paths[i] as IngestPath).send(batch, phase));
        (times[i] as { new: number[]; duplicate: number[] })[phase].push(ms);
        (rows[i] as { new: number; duplicate: number })[phase] += batch.length;
      }
    }
  }
  const figures: IngestionFigures = new Map();
  paths.forEach((path, i) => {
    const entry = {} as Record<Phase, PathFigures>;
    for (const phase of ['new', 'duplicate'] as const) {
      const samples = (times[i] as Record<Phase, number[]>)[phase];
      const total = samples.reduce((sum, ms) => sum + ms, 0);
      entry[phase] = {
        rowsPerSecond: ((rows[i] as Record<Phase, number>)[phase] * 1000) / total,
        batches: summarize(samples),
      };
    }
    figures.set(path.name, entry);
  });
  return figures;
}
