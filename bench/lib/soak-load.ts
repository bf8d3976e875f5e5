import { createClient as createSseClient } from 'graphql-sse';
import type { Connection } from 'mysql2/promise';
import { AIR_QUALITY } from '../scenarios/queries.js';
import type { PollutantCode, Station } from './generate.js';
import { INGEST_MUTATION, readingsAt, toInput } from './ingest-paths.js';
import type { LoadGate } from './load-gate.js';
import { sleep } from './measure.js';

/**
 * The soak's load, each part at a stated, steady rate: ingestion batches over HTTP with a token,
 * GraphQL queries of every shape, refreshes (the mutation and a CALL, taking turns) and SSE
 * subscribers (the graphql-ws ones run in bench/clients/subscribers.ts). Every answer is checked;
 * what is wrong is noted in a Problems list rather than thrown, so that one bad answer does not end
 * a run of minutes before the memory figures are in.
 */

/** What went wrong during the soak: counted, the first few kept verbatim. */
export class Problems {
  count = 0;
  readonly first: string[] = [];

  add(what: string): void {
    this.count += 1;
    if (this.first.length < 20) this.first.push(what.slice(0, 500));
  }
}

interface GraphqlAnswer {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

/** POSTs one operation; answers the data, or null after noting the problem. */
async function post(
  url: string,
  body: { query: string; variables?: Record<string, unknown> },
  problems: Problems,
  what: string,
  token?: string,
): Promise<Record<string, unknown> | null> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    const answer = JSON.parse(text) as GraphqlAnswer;
    if (response.status !== 200 || answer.errors || !answer.data) {
      const limited = answer.errors?.some((e) => e.extensions?.code === 'RATE_LIMITED');
      problems.add(
        `${what}: HTTP ${response.status} ${text}${limited ? ' (the API limits writes per token below the rate the soak sends: raise its limit in API_ENV of bench/soak.ts)' : ''}`,
      );
      return null;
    }
    return answer.data;
  } catch (error) {
    problems.add(`${what}: ${(error as Error).message}`);
    return null;
  }
}

/** A loop that starts op about every periodMs until stop is aborted, through the gate. */
async function paced(
  periodMs: number,
  gate: LoadGate,
  stop: AbortSignal,
  op: () => Promise<void>,
): Promise<void> {
  while (!stop.aborted) {
    const started = performance.now();
    await gate.run(op);
    const rest = periodMs - (performance.now() - started);
    if (rest > 0 && !stop.aborted) await sleep(rest);
  }
}

export interface IngestionLoad {
  /** Batches sent and what the API answered for them, summed. */
  readonly batches: number;
  readonly duplicateBatches: number;
  readonly received: number;
  readonly inserted: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly rejected: number;
}

export interface IngestionArgs {
  readonly url: string;
  readonly token: string;
  readonly stations: readonly Station[];
  readonly pollutants: readonly PollutantCode[];
  readonly itemsPerBatch: number;
  readonly batchesPerSecond: number;
  /** Every n-th batch sends the previous one again: the API must report it all unchanged. */
  readonly duplicateEvery: number;
  readonly gate: LoadGate;
  readonly stop: AbortSignal;
  readonly problems: Problems;
}

/**
 * ingestMeasurements over HTTP, one token, batchesPerSecond batches of itemsPerBatch readings.
 * A new batch holds readings of one instant (the clock when it is made, later than the last
 * batch's) for the next itemsPerBatch station × pollutant series, so that every batch of new
 * readings is new to the database and lands in the current window; each answer must count them
 * all inserted (or, for a batch sent again, all unchanged), none rejected.
 */
export function runIngestion(args: IngestionArgs): {
  readonly tally: IngestionLoad;
  readonly done: Promise<void>;
} {
  const tally = {
    batches: 0,
    duplicateBatches: 0,
    received: 0,
    inserted: 0,
    updated: 0,
    unchanged: 0,
    rejected: 0,
  };
  let lastAt = 0;
  let offset = 0;
  let previous: ReturnType<typeof toInput>[] = [];
  const series = args.stations.length * args.pollutants.length;
  const send = async () => {
    const duplicate = previous.length > 0 && (tally.batches + 1) % args.duplicateEvery === 0;
    let items = previous;
    if (!duplicate) {
      lastAt = Math.max(lastAt + 1, Date.now());
      const all = readingsAt(args.stations, args.pollutants, new Date(lastAt), tally.batches);
      items = Array.from({ length: args.itemsPerBatch }, (_, i) =>
        toInput(all[(offset + i) % series] as (typeof all)[number]),
      ).map((input) => ({ ...input, parameter: input.parameter.toUpperCase() }));
      offset = (offset + args.itemsPerBatch) % series;
    }
    tally.batches += 1;
    if (duplicate) tally.duplicateBatches += 1;
    const data = await post(
      args.url,
      { query: INGEST_MUTATION, variables: { measurements: items } },
      args.problems,
      `ingestMeasurements, batch ${tally.batches}`,
      args.token,
    );
    const result = data?.ingestMeasurements as
      | { received: number; inserted: number; updated: number; unchanged: number; rejected: [] }
      | undefined;
    if (!result) return;
    tally.received += result.received;
    tally.inserted += result.inserted;
    tally.updated += result.updated;
    tally.unchanged += result.unchanged;
    tally.rejected += result.rejected.length;
    const expected = duplicate ? result.unchanged : result.inserted;
    if (result.received !== items.length || expected !== items.length) {
      args.problems.add(
        `ingestMeasurements, batch ${tally.batches} (${duplicate ? 'sent again' : 'new'}): ${JSON.stringify(result)}`,
      );
    }
    previous = items;
  };
  const done = paced(1000 / args.batchesPerSecond, args.gate, args.stop, send);
  return { tally, done };
}

export interface QueryShape {
  readonly name: string;
  readonly query: string;
  variables(): Record<string, unknown>;
  /** What the answer must hold; a description of what is wrong, or null. */
  check(data: Record<string, unknown>): string | null;
}

/** The query shapes of the soak: cached windows, batched fields, history and runs. */
export function queryShapes(cities: readonly string[], since: Date): QueryShape[] {
  let turn = 0;
  const city = () => cities[turn++ % cities.length] as string;
  const list = (data: Record<string, unknown>, field: string) =>
    (data[field] ?? []) as Record<string, unknown>[];
  return [
    {
      name: 'airQuality, every city (cached per run)',
      query: AIR_QUALITY,
      variables: () => ({}),
      check: (data) =>
        list(data, 'airQuality').length === cities.length
          ? null
          : `${list(data, 'airQuality').length} cities`,
    },
    {
      name: 'airQuality of one city, with its run',
      query: `query City($cities: [String!]) {
        airQuality(cities: $cities) { city { name } run { id evaluatedAt } belaqi eaqi pollutants { parameter average count } }
      }`,
      variables: () => ({ cities: [city()] }),
      check: (data) => (list(data, 'airQuality').length === 1 ? null : 'not one window'),
    },
    {
      name: 'cities with windows and stations',
      query: `{ cities { name country airQuality { belaqi eaqi pollutants { parameter average } } locations { name latitude } } }`,
      variables: () => ({}),
      check: (data) => {
        const found = list(data, 'cities');
        return found.length === cities.length && found.every((c) => c.airQuality !== null)
          ? null
          : 'not every city with a window';
      },
    },
    {
      name: 'city history since the start',
      query: `query History($name: String!, $from: DateTime!, $to: DateTime!) {
        city(name: $name) { name history(from: $from, to: $to) { run { id evaluatedAt } belaqi pollutants { parameter average } } }
      }`,
      variables: () => ({ name: city(), from: since.toISOString(), to: new Date().toISOString() }),
      check: (data) => {
        const history = (data.city as { history?: unknown[] } | null)?.history;
        return history && history.length > 0 ? null : 'no history';
      },
    },
    {
      name: 'airQualityRuns(last: 10)',
      query:
        '{ airQualityRuns(last: 10) { id evaluatedAt windowStart measurements cities durationMs } }',
      variables: () => ({}),
      check: (data) => (list(data, 'airQualityRuns').length > 0 ? null : 'no runs'),
    },
  ];
}

/** One query of a shape; its data when the answer is right, else null after noting why. */
export async function postQuery(
  url: string,
  shape: QueryShape,
  problems: Problems,
): Promise<Record<string, unknown> | null> {
  const data = await post(
    url,
    { query: shape.query, variables: shape.variables() },
    problems,
    shape.name,
  );
  if (!data) return null;
  const wrong = shape.check(data);
  if (wrong) problems.add(`${shape.name}: ${wrong}`);
  return wrong ? null : data;
}

export interface QueryArgs {
  readonly url: string;
  readonly shapes: readonly QueryShape[];
  /** Queries per second, all workers together. */
  readonly perSecond: number;
  readonly workers: number;
  readonly gate: LoadGate;
  readonly stop: AbortSignal;
  readonly problems: Problems;
}

/** Queries of every shape in turn from a few workers; answers counted by shape. */
export function runQueries(args: QueryArgs): {
  readonly answered: Map<string, number>;
  readonly done: Promise<void>;
} {
  const answered = new Map(args.shapes.map((shape) => [shape.name, 0]));
  let turn = 0;
  const one = async () => {
    const shape = args.shapes[turn++ % args.shapes.length] as QueryShape;
    if (await postQuery(args.url, shape, args.problems)) {
      answered.set(shape.name, (answered.get(shape.name) ?? 0) + 1);
    }
  };
  const period = (1000 * args.workers) / args.perSecond;
  const done = Promise.all(
    Array.from({ length: args.workers }, () => paced(period, args.gate, args.stop, one)),
  ).then(() => undefined);
  return { answered, done };
}

export type RefreshKind = 'refreshAirQuality' | 'CALL refresh_air_quality';

/**
 * Makes a new current run, by the mutation or by a CALL on the bench's own connection (as the
 * EVENT or an operator would: the API learns of it by polling). Answers the run's id.
 */
export async function refresh(
  kind: RefreshKind,
  target: { url: string; token: string; connection: Connection },
  problems: Problems,
): Promise<string | null> {
  if (kind === 'refreshAirQuality') {
    const data = await post(
      target.url,
      { query: 'mutation { refreshAirQuality { id cities } }' },
      problems,
      kind,
      target.token,
    );
    const run = data?.refreshAirQuality as { id: string } | undefined;
    return run?.id ?? null;
  }
  await target.connection.query('CALL refresh_air_quality(UTC_TIMESTAMP(3))');
  const [rows] = (await target.connection.query(
    'SELECT @refresh_air_quality_run_id AS id',
  )) as unknown as [{ id: number | null }[]];
  const id = rows[0]?.id;
  if (id === null || id === undefined) problems.add(`${kind}: no run made`);
  return id === null || id === undefined ? null : String(id);
}

export const SSE_SUBSCRIPTION = `subscription Soak($cities: [String!]) {
  airQuality(cities: $cities) { city { name } run { id } belaqi pollutants { parameter average } }
}`;

/** One SSE subscriber (graphql-sse, distinct connections mode): the run ids it was pushed. */
export interface SseSubscriber {
  readonly city: string;
  readonly runs: string[];
  completed: boolean;
  dispose(): void;
}

export function subscribeSse(url: string, city: string, problems: Problems): SseSubscriber {
  const client = createSseClient({ url, retryAttempts: 0 });
  const subscriber: SseSubscriber = {
    city,
    runs: [],
    completed: false,
    dispose: () => {
      stop();
      client.dispose();
    },
  };
  const stop = client.subscribe(
    { query: SSE_SUBSCRIPTION, variables: { cities: [city] } },
    {
      next: (result) => {
        const window = (
          result.data as { airQuality?: { city: { name: string }; run: { id: string } } }
        )?.airQuality;
        if (result.errors || !window || window.city.name !== city) {
          problems.add(`SSE subscriber of ${city}: ${JSON.stringify(result).slice(0, 300)}`);
          return;
        }
        subscriber.runs.push(window.run.id);
      },
      error: (error) => problems.add(`SSE subscriber of ${city}: ${String(error)}`),
      complete: () => {
        subscriber.completed = true;
      },
    },
  );
  return subscriber;
}

/** Waits until check() holds, polling every 20 ms; false after timeoutMs. */
export async function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}
