import { startChild } from '../lib/child.js';
import { type Profile, summarizeProfile } from '../lib/cpu-profile.js';
import { createBenchDatabase } from '../lib/database.js';
import {
  analyzeMeasurements,
  BELGIAN_LAYOUT,
  bulkLoad,
  createStations,
  insertSeries,
  seriesCount,
} from '../lib/generate.js';
import {
  httpPath,
  type IngestionFigures,
  type IngestPath,
  measureIngestion,
  modulePath,
  type Phase,
  rawPath,
  readingsAt,
  readingsFrom,
} from '../lib/ingest-paths.js';
import { timeMs } from '../lib/measure.js';
import { settle } from '../lib/refresh-timing.js';
import { type Figure, figure } from '../lib/result.js';
import type { Scenario, ScenarioContext } from '../lib/scenario.js';
import { serverEnv } from '../lib/server-env.js';

/**
 * Scenario 1, ingestion: rows/s through ingestMeasurements over HTTP, batches of 1,000, all-new
 * rows then all-duplicate rows, against raw mysql2 multi-row INSERTs of the same rows into the
 * same table. Targets ≥ 0.75× over HTTP and ≥ 0.9× for the ingestion module called in-process,
 * which sits in between and shows where the time goes: the module's own work, or GraphQL over
 * HTTP. Then the same three paths with batches of 10,000, which the module stores through
 * LOAD DATA (src/db/measurements.ts, BULK_MIN_ROWS), against the same baseline.
 */

const HISTORY_END = new Date('2025-01-31T00:00:00.000Z');
const NEW_ROWS_START = new Date('2025-02-01T00:00:00.000Z');

const PROFILE_ROWS_START = new Date('2025-03-01T00:00:00.000Z');
const TOKEN = 'bench-token';
const HTTP_TARGET = 0.75;
const MODULE_TARGET = 0.9;

/** Large batches: 10 instants of every station and pollutant, through the bulk path. */
const LARGE_ROWS_START = new Date('2025-04-01T00:00:00.000Z');

const FULL = { history: 500_000, batches: 40, large: { batches: 4, instants: 10 } };
/** A smoke run still goes through the bulk path once: 2 instants, 2,000 rows (BULK_MIN_ROWS). */
const QUICK = { history: 10_000, batches: 2, large: { batches: 1, instants: 2 } };

export function ingestionFigures(
  figures: IngestionFigures,
  baseline: IngestPath,
  measured: readonly { path: IngestPath; atLeast?: number }[],
  judge: boolean,
  suffix = '',
): Figure[] {
  const phases: Record<Phase, string> = { new: 'new rows', duplicate: 'duplicate rows' };
  return (['new', 'duplicate'] as const).flatMap((phase) =>
    measured.map(({ path, atLeast }) =>
      figure({
        measure: `${path.name}, ${phases[phase]}${suffix}`,
        value: figures.get(path.name)?.[phase].rowsPerSecond ?? Number.NaN,
        unit: 'rows/s',
        baseline: {
          measure: baseline.name,
          value: figures.get(baseline.name)?.[phase].rowsPerSecond ?? Number.NaN,
        },
        ...(atLeast === undefined ? {} : { ratioAtLeast: atLeast }),
        judge,
      }),
    ),
  );
}

export function batchLatencyNote(figures: IngestionFigures, rows = '1,000'): string {
  return `Milliseconds per batch of ${rows} (p50 / p99): ${[...figures.entries()]
    .map(
      ([name, f]) =>
        `${name}: new ${f.new.batches.p50.toFixed(1)} / ${f.new.batches.p99.toFixed(1)}, ` +
        `duplicate ${f.duplicate.batches.p50.toFixed(1)} / ${f.duplicate.batches.p99.toFixed(1)}`,
    )
    .join('; ')}.`;
}

async function run(context: ScenarioContext) {
  const started = Date.now();
  const sizes = context.quick ? QUICK : FULL;
  const bench = await createBenchDatabase(context.server, 'ingestion');
  const connection = await bench.connect();
  try {
    const stations = await createStations(connection, BELGIAN_LAYOUT);
    const { pollutants } = BELGIAN_LAYOUT;
    context.log(`loading ${sizes.history} rows of history`);
    await bulkLoad(connection, () =>
      insertSeries(connection, {
        end: HISTORY_END,
        perSeries: sizes.history / seriesCount(BELGIAN_LAYOUT),
        stepMs: 60_000,
        pollutants,
      }),
    );
    await analyzeMeasurements(connection);
    await settle(connection);
    const server = await startChild<{ port: number }>('servers/api-server.ts', {
      env: serverEnv(bench.db, { API_TOKENS: TOKEN }),
    });
    const raw = rawPath(connection);
    const module = modulePath(bench.pool);
    const http = httpPath(`http://127.0.0.1:${server.ready.port}/graphql`, TOKEN);
    const paths = [raw, module, http];
    context.log(`${sizes.batches} batches of 1,000 per path, new rows then the same again`);
    let figures: IngestionFigures | undefined;
    const ms = await timeMs(async () => {
      figures = await measureIngestion(
        paths,
        sizes.batches,
        (at, seed) => readingsAt(stations, pollutants, at, seed),
        NEW_ROWS_START,
      );
    });
    context.log(`measured in ${(ms / 1000).toFixed(1)} s`);
    const measured = figures as IngestionFigures;
    const large = sizes.large;
    const largeRows = seriesCount(BELGIAN_LAYOUT) * large.instants;
    context.log(
      `${large.batches} batches of ${largeRows.toLocaleString('en-US')} per path, new rows then the same again`,
    );
    const measuredLarge = await measureIngestion(
      paths,
      large.batches,
      (at, seed) => readingsFrom(stations, pollutants, at, large.instants, seed),
      LARGE_ROWS_START,
      large.instants,
    );
    let profile: string | undefined;
    const ratio = (path: IngestPath, phase: Phase) =>
      (measured.get(path.name)?.[phase].rowsPerSecond ?? 0) /
      (measured.get(raw.name)?.[phase].rowsPerSecond ?? 1);
    const missed = (['new', 'duplicate'] as const).some(
      (phase) => ratio(http, phase) < HTTP_TARGET || ratio(module, phase) < MODULE_TARGET,
    );
    // A smoke run takes the profile too, so that CI exercises that path.
    if (context.quick || missed) {
      context.log('profiling the API process under the HTTP ingestion load');
      await server.request('profileStart');
      await measureIngestion(
        [http],
        sizes.batches,
        (at, seed) => readingsAt(stations, pollutants, at, seed),
        PROFILE_ROWS_START,
      );
      profile = summarizeProfile(await server.request<Profile>('profileStop'));
    }
    await server.stop();
    return {
      scenario: 'ingestion',
      title:
        '1. Ingestion: ingestMeasurements over HTTP against raw multi-row INSERTs, batches of 1,000 and 10,000',
      figures: [
        ...ingestionFigures(
          measured,
          raw,
          [
            { path: http, atLeast: HTTP_TARGET },
            { path: module, atLeast: MODULE_TARGET },
          ],
          !context.quick,
        ),
        ...ingestionFigures(
          measuredLarge,
          raw,
          [{ path: http }, { path: module }],
          !context.quick,
          `, batches of ${largeRows.toLocaleString('en-US')}`,
        ),
      ],
      notes: [
        `The table holds ${sizes.history.toLocaleString('en-US')} rows of history; ` +
          `${BELGIAN_LAYOUT.cities * BELGIAN_LAYOUT.locationsPerCity} stations × ` +
          `${pollutants.length} pollutants make one batch of 1,000 per instant. Each path sends ` +
          `${sizes.batches} batches of new rows, then the same ${sizes.batches} again (duplicates, ` +
          'reported unchanged), one at a time; the paths take turns batch by batch, each on ' +
          'instants of its own. rows/s = rows sent / time spent sending them.',
        batchLatencyNote(measured),
        `Batches of ${largeRows.toLocaleString('en-US')} (${large.batches} of new rows, then the same ` +
          `again): ${large.instants} instants of every station and pollutant, in key order; the ` +
          'baseline sends them as statements of 1,000 rows, the module through LOAD DATA LOCAL ' +
          'into a staging table and one INSERT ... SELECT. ' +
          batchLatencyNote(measuredLarge, largeRows.toLocaleString('en-US')),
        'Duplicates: a batch that repeats stored rows (none of its instants later than the latest ' +
          'the process stored for its station) is checked in one statement and answered as ' +
          'unchanged without a transaction; the raw baseline sends its INSERT ... ON DUPLICATE ' +
          'KEY UPDATE.',
      ],
      ...(profile
        ? {
            profile: `The API process while ${sizes.batches} more batches of new rows and their duplicates went through HTTP (V8 CPU profile):\n\n${profile}`,
          }
        : {}),
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    await connection.end();
    await bench.drop();
  }
}

export const ingestion: Scenario = { name: 'ingestion', run };
