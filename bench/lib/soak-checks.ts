import type { LiveStats } from '../../src/server/live-updates.js';
import { summarize } from './measure.js';
import type { IngestionLoad } from './soak-load.js';
import type { SoakRecord } from './soak-report.js';

/** The soak's load: rates and sizes (bench/soak.ts states them). */
export interface SoakLoad {
  readonly subscribers: number;
  readonly sseSubscribers: number;
  readonly ingest: {
    readonly itemsPerBatch: number;
    readonly batchesPerSecond: number;
    readonly duplicateEvery: number;
  };
  readonly queries: { readonly perSecond: number; readonly workers: number };
  readonly refreshEverySeconds: number;
}

/** What the soak saw by its end, with the load still connected. */
export interface Observed {
  /** The run made before the subscribers came, then the runs the soak made, in order. */
  readonly initialRun: string;
  readonly runs: readonly string[];
  readonly cycles: number;
  /** "next" messages each graphql-ws subscriber received. */
  readonly pushes: readonly number[];
  /** Subscribers that had not received a run 30 s after it was made, summed over the runs. */
  readonly missingPushes: number;
  readonly sse: readonly { readonly runs: readonly string[]; readonly completed: boolean }[];
  readonly live: LiveStats;
  readonly tally: IngestionLoad;
  /** Rows in the measurement table. */
  readonly rows: number;
  readonly answered: ReadonlyMap<string, number>;
  /** Milliseconds from each refresh request to the last graphql-ws subscriber's push. */
  readonly deliveries: readonly number[];
  readonly requests: number;
  readonly loadSeconds: number;
}

const n = (value: number) => value.toLocaleString('en-US');

/**
 * Every run reached every subscriber exactly once (graphql-ws: the number of pushes; SSE: the run
 * ids in order), the connections are all still open, the ingestion answers add up and the table
 * holds exactly the rows they say were inserted.
 */
export function correctnessChecks(
  load: SoakLoad,
  initialRows: number,
  o: Observed,
): SoakRecord['checks'][number][] {
  const expectedWs = 1 + o.runs.length;
  const wrongWs = o.pushes.filter((count) => count !== expectedWs).length;
  const expectedSse = [o.initialRun, ...o.runs];
  const wrongSse = o.sse.filter(
    (s) => s.runs.length !== expectedSse.length || s.runs.some((id, i) => id !== expectedSse[i]),
  ).length;
  const { tally, live } = o;
  const newItems = (tally.batches - tally.duplicateBatches) * load.ingest.itemsPerBatch;
  return [
    {
      check: 'runs made (refreshAirQuality and CALL in turn)',
      result: `${o.runs.length} of ${o.cycles}`,
      ok: o.runs.length === o.cycles && o.runs.length > 0,
    },
    {
      check: 'graphql-ws subscribers: pushes each (the current window, then one per run)',
      result:
        wrongWs === 0
          ? `all ${o.pushes.length} received exactly ${expectedWs}`
          : `${wrongWs} of ${o.pushes.length} received another number (min ${Math.min(...o.pushes)}, max ${Math.max(...o.pushes)}, expected ${expectedWs})`,
      ok: wrongWs === 0 && o.pushes.length === load.subscribers && o.missingPushes === 0,
    },
    {
      check: 'SSE subscribers: the run ids pushed, in order',
      result:
        wrongSse === 0
          ? `all ${o.sse.length} received runs ${expectedSse[0]}-${expectedSse[expectedSse.length - 1]}, each once, in order`
          : `${wrongSse} of ${o.sse.length} received another sequence`,
      ok: wrongSse === 0 && o.sse.every((s) => !s.completed),
    },
    {
      check: 'open live connections at the end (API counters)',
      result: `${live.connections.webSockets} WebSockets, ${live.connections.eventStreams} SSE streams, ${live.poller.listeners} feed listeners`,
      ok:
        live.connections.webSockets === load.subscribers &&
        live.connections.eventStreams === load.sseSubscribers &&
        live.poller.listeners === load.subscribers + load.sseSubscribers,
    },
    {
      check: 'ingestion answers: new items inserted, items sent again unchanged, none rejected',
      result: `${n(tally.inserted)} inserted of ${n(newItems)} new, ${n(tally.unchanged)} unchanged, ${tally.updated} updated, ${tally.rejected} rejected`,
      ok:
        tally.inserted === newItems &&
        tally.unchanged === tally.duplicateBatches * load.ingest.itemsPerBatch &&
        tally.updated === 0 &&
        tally.rejected === 0,
    },
    {
      check: 'rows in measurement = the first window + rows inserted',
      result: `${n(o.rows)} = ${n(initialRows)} + ${n(tally.inserted)}`,
      ok: o.rows === initialRows + tally.inserted,
    },
  ];
}

/** The load table: what was sent, at which rate, and how much of it was served. */
export function loadRows(load: SoakLoad, o: Observed): SoakRecord['load'] {
  const { tally, loadSeconds } = o;
  const delivery = summarize(o.deliveries);
  const ssePushes = o.sse.reduce((sum, s) => sum + s.runs.length, 0);
  const perSecond = (count: number, digits = 0) => (count / loadSeconds).toFixed(digits);
  return [
    [
      'ingestMeasurements over HTTP (token soak-ingest)',
      `${load.ingest.batchesPerSecond} batches/s of ${load.ingest.itemsPerBatch} items (${load.ingest.batchesPerSecond * load.ingest.itemsPerBatch} items/s); every ${load.ingest.duplicateEvery}th batch the previous one again`,
      `${n(tally.batches)} batches, ${n(tally.received)} items (${perSecond(tally.received)}/s)`,
    ],
    ...[...o.answered.entries()].map(
      ([name, count]) =>
        [
          `query: ${name}`,
          `${load.queries.perSecond / o.answered.size}/s`,
          `${n(count)} (${perSecond(count, 1)}/s)`,
        ] as const,
    ),
    [
      'refreshes: refreshAirQuality (token soak-refresh) and CALL refresh_air_quality in turn',
      `one every ${load.refreshEverySeconds} s, once every subscriber has the last run`,
      `${n(o.runs.length)} runs; last push p50 ${delivery.p50.toFixed(0)} ms, max ${delivery.max.toFixed(0)} ms after the refresh was sent`,
    ],
    [
      'graphql-ws subscribers (client process), one city each',
      `${n(load.subscribers)}, open throughout`,
      `${n(o.pushes.reduce((sum, count) => sum + count, 0))} pushes`,
    ],
    [
      'SSE subscribers (graphql-sse), one city each',
      `${load.sseSubscribers}, open throughout`,
      `${n(ssePushes)} pushes`,
    ],
    [
      'all requests answered (queries, ingestion, refreshAirQuality)',
      '',
      `${n(o.requests)} (${perSecond(o.requests)}/s)`,
    ],
  ];
}
