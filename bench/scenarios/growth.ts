import type { Connection } from 'mysql2/promise';
import { type Child, startChild } from '../lib/child.js';
import { type BenchDatabase, createBenchDatabase } from '../lib/database.js';
import {
  assertSequenceEngine,
  BELGIAN_LAYOUT,
  createStations,
  rowsLabel,
  type Station,
} from '../lib/generate.js';
import {
  httpPath,
  type IngestPath,
  measureIngestion,
  modulePath,
  rawPath,
  readingsAt,
} from '../lib/ingest-paths.js';
import { timeMs } from '../lib/measure.js';
import { loadHistoryAndWindows, measureRefresh } from '../lib/refresh-timing.js';
import { type Figure, figure } from '../lib/result.js';
import type { Scenario, ScenarioContext } from '../lib/scenario.js';
import { serverEnv } from '../lib/server-env.js';

/**
 * Scenario 5, growth: ingestion and refresh on 10× the data, to show the slope. Two databases, one
 * at 1× (a history and a window) and one at 10× (ten times both), measured in the same loops.
 * Ingestion should not slow down as the table grows (ratio ≈ 1); the refresh should grow with the
 * window, not faster (ratio ≈ 10, i.e. a slope of 1).
 */

const WINDOW_END = new Date('2025-01-15T12:00:00.000Z');
const HISTORY_END = new Date(WINDOW_END.getTime() - 86_400_000);
const NEW_ROWS_START = new Date(WINDOW_END.getTime() + 86_400_000);
const TOKEN = 'bench-token';

interface Sizes {
  readonly history: number;
  readonly window: number;
  readonly batches: number;
  readonly repetitions: number;
}

const FULL: Sizes = { history: 500_000, window: 10_000, batches: 20, repetitions: 15 };
const QUICK: Sizes = { history: 10_000, window: 1_000, batches: 1, repetitions: 1 };

interface Scale {
  readonly factor: number;
  readonly history: number;
  readonly window: number;
  readonly bench: BenchDatabase;
  readonly connection: Connection;
  readonly stations: Station[];
}

async function openScale(context: ScenarioContext, sizes: Sizes, factor: number): Promise<Scale> {
  const history = sizes.history * factor;
  const window = sizes.window * factor;
  const bench = await createBenchDatabase(context.server, `growth_${factor}x`);
  const connection = await bench.connect();
  await assertSequenceEngine(connection);
  const stations = await createStations(connection, BELGIAN_LAYOUT);
  context.log(
    `${factor}×: loading ${rowsLabel(history)} rows of history, ${rowsLabel(window)} window`,
  );
  const ms = await timeMs(() =>
    loadHistoryAndWindows(connection, history, HISTORY_END, [{ end: WINDOW_END, rows: window }]),
  );
  context.log(`loaded in ${(ms / 1000).toFixed(1)} s`);
  return { factor, history, window, bench, connection, stations };
}

function scaleLabel(scale: Scale): string {
  return `${scale.factor}× (${rowsLabel(scale.history)} rows, ${rowsLabel(scale.window)} window)`;
}

async function run(context: ScenarioContext) {
  const started = Date.now();
  const sizes = context.quick ? QUICK : FULL;
  const judge = !context.quick;
  const scales: Scale[] = [];
  const servers: (Child & { ready: { port: number } })[] = [];
  const figures: Figure[] = [];
  try {
    scales.push(await openScale(context, sizes, 1));
    scales.push(await openScale(context, sizes, 10));
    const [one, ten] = scales as [Scale, Scale];

    context.log(`refresh at 1× and 10×, ${sizes.repetitions}× each`);
    const [refreshOne, refreshTen] = await measureRefresh(
      scales.map(({ connection, window }) => ({ connection, window })),
      WINDOW_END,
      sizes.repetitions,
    );
    for (const key of ['procedureMs', 'selectMs'] as const) {
      figures.push(
        figure({
          measure: `${key === 'procedureMs' ? 'refresh procedure' : 'bare window SELECT'} at ${scaleLabel(ten)}`,
          value: refreshTen?.[key] ?? Number.NaN,
          unit: 'ms',
          baseline: { measure: `at ${scaleLabel(one)}`, value: refreshOne?.[key] ?? Number.NaN },
          judge,
        }),
      );
    }

    context.log(`ingestion at 1× and 10×, ${sizes.batches} batches of 1,000 per path and phase`);
    for (const scale of scales) {
      servers.push(
        await startChild<{ port: number }>('servers/api-server.ts', {
          env: serverEnv(scale.bench.db, { API_TOKENS: TOKEN }),
        }),
      );
    }
    const pathsOf = (scale: Scale, i: number): IngestPath[] =>
      [
        rawPath(scale.connection),
        modulePath(scale.bench.pool),
        httpPath(`http://127.0.0.1:${servers[i]?.ready.port}/graphql`, TOKEN),
      ].map((path) => ({ ...path, name: `${path.name} at ${scale.factor}×` }));
    const paths = scales.map(pathsOf);
    const ingestion = await measureIngestion(
      paths.flat(),
      sizes.batches,
      // Both databases have the same stations with the same ids: one set of readings serves both.
      (at, seed) => readingsAt(one.stations, BELGIAN_LAYOUT.pollutants, at, seed),
      NEW_ROWS_START,
    );
    for (const phase of ['new', 'duplicate'] as const) {
      (paths[1] as IngestPath[]).forEach((path, i) => {
        const before = (paths[0] as IngestPath[])[i] as IngestPath;
        figures.push(
          figure({
            measure: `${path.name}, ${phase} rows`,
            value: ingestion.get(path.name)?.[phase].rowsPerSecond ?? Number.NaN,
            unit: 'rows/s',
            baseline: {
              measure: 'at 1×',
              value: ingestion.get(before.name)?.[phase].rowsPerSecond ?? Number.NaN,
            },
            judge,
          }),
        );
      });
    }
  } finally {
    for (const server of servers) await server.stop();
    for (const scale of scales) {
      await scale.connection.end();
      await scale.bench.drop();
    }
  }
  return {
    scenario: 'growth',
    title: '5. Growth: ingestion and refresh on 10× the data',
    figures,
    notes: [
      'Two databases, 1× and 10×: ten times the history and ten times the rows in the window. ' +
        'The refresh is timed on both in one loop (medians); a ratio near 10 means it grows ' +
        'with the window (slope 1), more would mean it grows with the table. Ingestion sends ' +
        'the same number of 1,000-row batches to both, new rows after the window then the same ' +
        'rows again, the paths taking turns batch by batch; a ratio near 1 means the table size ' +
        'does not slow it down.',
    ],
    seconds: (Date.now() - started) / 1000,
  };
}

export const growth: Scenario = { name: 'growth', run };
