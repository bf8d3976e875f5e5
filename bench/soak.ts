import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/config.js';
import type { LiveStats } from '../src/server/live-updates.js';
import { type Child, startChild } from './lib/child.js';
import type { memoryAfterGc } from './lib/child-rpc.js';
import { createBenchDatabase } from './lib/database.js';
import { BELGIAN_LAYOUT, createStations } from './lib/generate.js';
import { LoadGate } from './lib/load-gate.js';
import { describeMachine } from './lib/machine.js';
import { sleep } from './lib/measure.js';
import { judgeMemory, type MemoryRule, type MemorySample, mb } from './lib/memory-trend.js';
import { callRefresh, loadHistoryAndWindows } from './lib/refresh-timing.js';
import { runMain } from './lib/run-main.js';
import { serverEnv } from './lib/server-env.js';
import { correctnessChecks, loadRows, type Observed, type SoakLoad } from './lib/soak-checks.js';
import {
  Problems,
  postQuery,
  queryShapes,
  type RefreshKind,
  refresh,
  runIngestion,
  runQueries,
  type SseSubscriber,
  subscribeSse,
  waitUntil,
} from './lib/soak-load.js';
import { consoleReport, type SoakRecord, soakPassed, writeSoakReport } from './lib/soak-report.js';
import { SUBSCRIPTION } from './scenarios/fan-out.js';

/**
 * npm run soak [-- --minutes N] [--quick] [--heap-snapshots]
 *
 * The API (bench/servers/api-server.ts, buildApp on a mysql2 pool) in a process of its own, on a
 * scratch database, under minutes of mixed load at steady, stated rates: ingestion batches over
 * HTTP, queries of every shape, a refresh every few seconds (the mutation and a CALL taking turns),
 * 1,000 graphql-ws subscribers in a client process of their own and a few SSE ones here. Every run
 * must reach every subscriber, exactly once; no answer may hold an error; the rows ingested must
 * be the rows in the table. The API's heap after GC is sampled with the load held, at the warm-up
 * and every sampleEverySeconds to the end, and judged by the rule of lib/memory-trend.ts.
 * Writes bench/SOAK.md (a --quick run: bench/.data/SOAK.quick.md) and exits 1 when a check fails.
 */

/** The load, all of it at steady rates: what the figures of SOAK.md were measured under. */
const LOAD: SoakLoad = {
  subscribers: 1_000,
  sseSubscribers: 20,
  /** ingestMeasurements over HTTP, one token: 2 requests/s, 500 items/s. */
  ingest: { itemsPerBatch: 250, batchesPerSecond: 2, duplicateEvery: 10 },
  /** Queries, all shapes in turn, from 8 concurrent workers. */
  queries: { perSecond: 100, workers: 8 },
  /** A new run this often, refreshAirQuality (one write per 10 s on its token) and CALL in turn. */
  refreshEverySeconds: 5,
};

const INGEST_TOKEN = 'soak-ingest';
const REFRESH_TOKEN = 'soak-refresh';

/**
 * The API's environment, explicit where it shapes the run: the poll interval (a run is pushed
 * when a poll sees it; runs are LOAD.refreshEverySeconds apart, several polls), the pool, the
 * connection cap well above the subscribers, the batch limit above the batches. Each token writes
 * at most 2 requests a second: a per-token write limit must allow that (set it here if its
 * default is lower).
 */
const API_ENV = {
  API_TOKENS: `${INGEST_TOKEN},${REFRESH_TOKEN}`,
  POLL_INTERVAL_MS: '1000',
  DB_POOL_SIZE: '10',
  MAX_CONNECTIONS: '20000',
  INGEST_MAX_BATCH: '10000',
};

interface Timing {
  readonly minutes: number;
  readonly warmupSeconds: number;
  readonly sampleEverySeconds: number;
}
const FULL: Timing = { minutes: 4, warmupSeconds: 30, sampleEverySeconds: 30 };
const QUICK: Timing = { minutes: 0.5, warmupSeconds: 10, sampleEverySeconds: 5 };

/**
 * Growth allowed for the heap of objects (heapUsed − code) between the warm-up and the end, and
 * for its trend over the run: 2 MB (2 % of it only matters above 100 MB; it holds about 80 MB with
 * the 1,020 subscribers). The noise it was set from, with the pool opened first: consecutive
 * samples 30 s apart differ by up to 0.5 MB, the end and the warm-up by up to 0.8 MB (heapUsed,
 * code included); 2 MB is four times the largest step, and what four more pooled connections
 * would cost. A rise at every step fails from 1 MB in all, twice the largest step: below that it is
 * what the end of V8's warm-up looks like (measured: 0.2-0.3 MB over 4 minutes, slowing, the
 * metadata of code optimised late). In 4 minutes that catches a steady leak of 0.25 MB/min or
 * more (360 MB a day); --minutes N narrows it.
 */
const RULE: MemoryRule = {
  allowedBytes: 2 * 1024 * 1024,
  allowedFraction: 0.02,
  steadyRiseBytes: 1024 * 1024,
};

/** Readings of the first run's window: 10 per series over its three hours. */
const INITIAL_ROWS = 10_000;

const SOAK_MD = fileURLToPath(new URL('./SOAK.md', import.meta.url));
const QUICK_MD = fileURLToPath(new URL('./.data/SOAK.quick.md', import.meta.url));
const DATA = fileURLToPath(new URL('./.data/', import.meta.url));

const now = () => performance.timeOrigin + performance.now();

function command(args: readonly string[]): string {
  return process.env.npm_lifecycle_event === 'soak'
    ? `npm run soak${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`
    : `npx tsx bench/soak.ts ${args.join(' ')}`.trimEnd();
}

async function main(): Promise<boolean> {
  const args = process.argv.slice(2);
  const { values } = parseArgs({
    args,
    options: {
      minutes: { type: 'string' },
      quick: { type: 'boolean', default: false },
      'heap-snapshots': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log('npm run soak [-- --minutes N] [--quick] [--heap-snapshots]');
    return true;
  }
  const quick = values.quick ?? false;
  const timing = { ...(quick ? QUICK : FULL) };
  if (values.minutes !== undefined) {
    const minutes = Number(values.minutes);
    if (!(minutes >= 1))
      throw new Error(`--minutes wants a number of minutes ≥ 1, not ${values.minutes}`);
    timing.minutes = minutes;
  }
  const started = Date.now();
  const server = { ...loadConfig().db };
  const machine = await describeMachine(server);
  const log = (message: string) =>
    console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}`);

  const bench = await createBenchDatabase(server, 'soak');
  const connection = await bench.connect();
  let api: Child | undefined;
  let client: Child | undefined;
  const sse: SseSubscriber[] = [];
  try {
    const stations = await createStations(connection, BELGIAN_LAYOUT);
    const cities = [...new Set(stations.map((s) => s.city))];
    const setupAt = new Date();
    await loadHistoryAndWindows(connection, 0, setupAt, [{ end: setupAt, rows: INITIAL_ROWS }]);
    await callRefresh(connection, setupAt);
    const [[first]] = (await connection.query(
      'SELECT @refresh_air_quality_run_id AS id',
    )) as unknown as [{ id: number }[]];
    const initialRun = String(first?.id);

    const server0 = await startChild<{ port: number }>('servers/api-server.ts', {
      env: serverEnv(bench.db, API_ENV),
    });
    api = server0;
    const url = `http://127.0.0.1:${server0.ready.port}/graphql`;
    log(`API process ${api.pid} at ${url}`);
    const memory = () => server0.request<ReturnType<typeof memoryAfterGc>>('memory');
    const samples: MemorySample[] = [];
    const gate = new LoadGate();
    const problems = new Problems();
    const tallies = { requests: 0, wsPushes: 0 };
    let answered: Map<string, number> = new Map();
    let ingestion: ReturnType<typeof runIngestion>['tally'] | undefined;
    let loadStart = now();
    const requests = () =>
      [...answered.values()].reduce((s, n) => s + n, 0) +
      (ingestion?.batches ?? 0) +
      tallies.requests;
    const ssePushes = () => sse.reduce((s, sub) => s + sub.runs.length, 0);
    const sample = async (label: string, judged: boolean) => {
      await gate.pause();
      try {
        const m = await memory();
        const poolConnections = await server0.request<number>('poolConnections');
        samples.push({
          label,
          atSeconds: (now() - loadStart) / 1000,
          ...m,
          poolConnections,
          requests: requests(),
          pushes: tallies.wsPushes + ssePushes(),
          judged,
        });
        log(
          `memory, ${label}: heap ${mb(m.heapUsed, 2)} MB (code ${mb(m.code, 2)} MB), RSS ${mb(m.rss)} MB`,
        );
      } finally {
        gate.resume();
      }
    };
    const snapshot = async (name: string) => {
      if (!values['heap-snapshots']) return;
      await gate.pause();
      try {
        const path = await server0.request<string>(
          'heapSnapshot',
          { path: `${DATA}soak-${name}-${Date.now()}.heapsnapshot` },
          300_000,
        );
        log(`heap snapshot: ${path}`);
      } finally {
        gate.resume();
      }
    };
    await sample('API started, no subscriber', false);

    // graphql-ws subscribers in a process of their own, each following one city.
    client = await startChild('clients/subscribers.ts');
    const openArgs = {
      url: url.replace('http', 'ws'),
      count: LOAD.subscribers,
      cities,
      query: SUBSCRIPTION,
      localAddress: '127.0.0.1',
      concurrency: 100,
    };
    const opened = await client.request<{ opened: number; ms: number }>('open', openArgs, 300_000);
    tallies.wsPushes += opened.opened;
    for (let i = 0; i < LOAD.sseSubscribers; i += 1) {
      sse.push(subscribeSse(url, cities[i % cities.length] as string, problems));
    }
    if (!(await waitUntil(() => sse.every((s) => s.runs.length > 0), 30_000))) {
      throw new Error('SSE subscribers without their first window after 30 s');
    }
    log(
      `${opened.opened} graphql-ws subscribers in ${(opened.ms / 1000).toFixed(1)} s, ` +
        `${sse.length} SSE subscribers, each with its city's current window`,
    );

    // The pool opened to its full size before anything is measured (see lib/memory-trend.ts).
    const poolSize = Number(API_ENV.DB_POOL_SIZE);
    const shapes = queryShapes(cities, setupAt);
    for (let round = 0; round < 10; round += 1) {
      if ((await server0.request<number>('poolConnections')) >= poolSize) break;
      await Promise.all(
        Array.from({ length: 4 * poolSize }, async (_, i) => {
          const shape = shapes[2 + (i % 2)] as (typeof shapes)[number];
          const data = await postQuery(url, shape, problems);
          if (data) tallies.requests += 1;
        }),
      );
    }
    const pooled = await server0.request<number>('poolConnections');
    log(`the API's pool holds ${pooled} connections of ${poolSize}`);

    // The load.
    const stop = new AbortController();
    loadStart = now();
    const ingest = runIngestion({
      url,
      token: INGEST_TOKEN,
      stations,
      pollutants: BELGIAN_LAYOUT.pollutants,
      ...LOAD.ingest,
      gate,
      stop: stop.signal,
      problems,
    });
    ingestion = ingest.tally;
    const queries = runQueries({
      url,
      shapes,
      ...LOAD.queries,
      gate,
      stop: stop.signal,
      problems,
    });
    answered = queries.answered;

    const runs: string[] = [];
    const deliveries: number[] = [];
    let missingPushes = 0;
    let cycle = 0;
    const refreshCycle = async () => {
      const kind: RefreshKind =
        cycle++ % 2 === 0 ? 'refreshAirQuality' : 'CALL refresh_air_quality';
      await client?.request('arm');
      const sent = now();
      const id = await refresh(kind, { url, token: REFRESH_TOKEN, connection }, problems);
      if (kind === 'refreshAirQuality') tallies.requests += 1;
      if (id === null) return;
      runs.push(id);
      const delivered = await (client as Child).request<{
        times: number[];
        missing: number;
        errors: string[];
      }>('collect', { timeoutMs: 30_000 }, 60_000);
      for (const error of delivered.errors) problems.add(`graphql-ws subscriber: ${error}`);
      if (delivered.missing > 0) {
        missingPushes += delivered.missing;
        problems.add(
          `run ${id} (${kind}): ${delivered.missing} graphql-ws subscribers got no push in 30 s`,
        );
      }
      tallies.wsPushes += delivered.times.length - delivered.missing;
      const sseDone = await waitUntil(() => sse.every((s) => s.runs.includes(id)), 30_000);
      if (!sseDone) problems.add(`run ${id} (${kind}): SSE subscribers without it after 30 s`);
      const last = Math.max(...delivered.times.filter((t) => !Number.isNaN(t)));
      if (Number.isFinite(last)) deliveries.push(last - sent);
    };

    const loadMs = timing.minutes * 60_000;
    const elapsed = () => now() - loadStart;
    let nextSample = timing.warmupSeconds * 1000;
    let periodic = 0;
    while (elapsed() < loadMs) {
      const cycleStart = now();
      await refreshCycle();
      // Samples between refresh cycles: no push under way.
      if (elapsed() >= nextSample && elapsed() < loadMs - (timing.sampleEverySeconds * 1000) / 2) {
        if (samples.filter((s) => s.judged).length === 0) {
          await sample('warm-up', true);
          await snapshot('warm-up');
        } else {
          await sample(`load ${++periodic}`, true);
        }
        nextSample += timing.sampleEverySeconds * 1000;
      }
      const rest = LOAD.refreshEverySeconds * 1000 - (now() - cycleStart);
      if (rest > 0) await sleep(Math.min(rest, Math.max(0, loadMs - elapsed())));
    }
    await sample('end', true);
    await snapshot('end');
    const loadSeconds = elapsed() / 1000;
    stop.abort();
    await Promise.all([ingest.done, queries.done]);
    log(`load stopped after ${loadSeconds.toFixed(0)} s`);

    // Correctness at the end.
    const live = await server0.request<LiveStats>('liveStats');
    const cache = await server0.request<{ hits: number; stored: number; entries: number }>(
      'windowCacheStats',
    );
    const pushes = await (client as Child).request<number[]>('pushes');
    const [[count]] = (await connection.query(
      'SELECT COUNT(*) AS n FROM measurement',
    )) as unknown as [{ n: number }[]];
    const observed: Observed = {
      initialRun,
      runs,
      cycles: cycle,
      pushes,
      missingPushes,
      sse: sse.map((s) => ({ runs: [...s.runs], completed: s.completed })),
      live,
      tally: ingest.tally,
      rows: Number(count?.n),
      answered,
      deliveries,
      requests: requests(),
      loadSeconds,
    };
    const checks = correctnessChecks(LOAD, INITIAL_ROWS, observed);

    // Every subscriber gone: what the API keeps of them should go too (shown, not judged).
    await (client as Child).request('close', {}, 120_000);
    for (const s of sse) s.dispose();
    const drainedListeners = async () => {
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const stats = await server0.request<LiveStats>('liveStats');
        if (stats.poller.listeners === 0 && stats.connections.eventStreams === 0) return true;
        await sleep(100);
      }
      return false;
    };
    const drained = await drainedListeners();
    await sample('subscribers closed', false);
    // Once more, to see that a round of subscribers leaves nothing behind when it goes.
    await (client as Child).request('open', { ...openArgs, localAddress: '127.0.0.2' }, 300_000);
    const again = Array.from({ length: LOAD.sseSubscribers }, (_, i) =>
      subscribeSse(url, cities[i % cities.length] as string, problems),
    );
    await waitUntil(() => again.every((s) => s.runs.length > 0), 30_000);
    await (client as Child).request('close', {}, 120_000);
    for (const s of again) s.dispose();
    const drainedAgain = await drainedListeners();
    await sample('subscribers opened and closed again', false);
    checks.push({
      check: 'every subscription ended once its client went away (twice)',
      result:
        drained && drainedAgain
          ? 'no feed listener, no SSE stream left'
          : 'listeners left after 30 s',
      ok: drained && drainedAgain,
    });

    const served = (n: number) => n.toLocaleString('en-US');
    const record: SoakRecord = {
      command: command(args),
      date: `${new Date(started).toISOString().slice(0, 16).replace('T', ' ')} UTC`,
      machine,
      quick,
      loadSeconds,
      totalSeconds: (Date.now() - started) / 1000,
      load: loadRows(LOAD, observed),
      samples,
      rule: RULE,
      memory: judgeMemory(samples, RULE),
      memoryJudged: !quick,
      checks,
      problems,
      notes: [
        `The API's environment: ${Object.entries(API_ENV)
          .map(([k, v]) => `${k}=${v}`)
          .join(
            ', ',
          )}; LOG_LEVEL=warn. Its database starts with ${served(INITIAL_ROWS)} readings ` +
          `over the three hours before the start (${BELGIAN_LAYOUT.cities} cities × ` +
          `${BELGIAN_LAYOUT.locationsPerCity} stations × ${BELGIAN_LAYOUT.pollutants.length} pollutants) and one run; ` +
          'ingestion adds readings of the current instant, so every run holds every city.',
        'Memory: `process.memoryUsage()` of the API process after two full collections ' +
          '(`node --expose-gc`, asked over the benchmark child RPC), with the load held: no request ' +
          'in flight and no push under way. heapUsed is what the JavaScript heap keeps; code is the ' +
          "part of it V8's compiled code and bytecode take with their metadata " +
          '(`v8.getHeapCodeStatistics()`), and the rule judges the rest, the objects; external ' +
          '(Buffers and other memory bound to JavaScript objects) and RSS are shown. The warm-up sample ' +
          `is taken after ${timing.warmupSeconds} s of load (every subscriber connected and pushed to, ` +
          "every query shape served, caches at their size). The API's pool is opened to its " +
          `${API_ENV.DB_POOL_SIZE} connections before the load starts: mysql2 opens connections as ` +
          'concurrency needs them, and each holds about 0.5 MB of heap (its cache of prepared ' +
          'statements, 16,000 slots allocated up front), which would otherwise show as a step. ' +
          'The last two samples, unjudged, show what 1,000 + 20 subscribers cost and that a ' +
          'second round of them, opened and closed, leaves nothing behind.',
        'What is left of a rise between samples is V8 compiling code for the functions it ' +
          'optimises late (the refresh path runs once every 10 s): a heap snapshot diff between ' +
          'the warm-up and the end of an 8-minute run found 0.84 MB more of compiled code and its ' +
          'metadata (some of which, such as the weak lists of code that depends on an object ' +
          'shape, the code statistics leave among the objects) and not one more application ' +
          'object of any kind. `--heap-snapshots` writes ' +
          'the two snapshots into bench/.data/ to look again.',
        `Answer cache at the end: ${served(cache.hits)} hits, ${served(cache.stored)} answers stored, ` +
          `${cache.entries} held. Poller: ${served(live.poller.polls)} polls, ${served(live.poller.loads)} loads, ` +
          `${served(live.poller.events)} events; shared executions ${served(live.execution.executions)}.`,
      ],
    };
    console.log(`\n${consoleReport(record)}`);
    const path = quick ? QUICK_MD : SOAK_MD;
    await writeSoakReport(path, record);
    console.log(`\nwrote ${path}`);
    return soakPassed(record);
  } finally {
    for (const s of sse) s.dispose();
    await client?.stop();
    await api?.stop();
    await connection.end();
    await bench.drop();
  }
}

await runMain(main);
