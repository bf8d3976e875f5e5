import { createHash } from 'node:crypto';
import { type Cache, useResponseCache } from '@graphql-yoga/plugin-response-cache';
import { type ExecutionResult, type GraphQLSchema, isObjectType } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { RunWindows } from '../air-quality/run-windows.js';
import type { Poller } from '../poller/poller.js';
import { stableJson } from '../util/stable-json.js';

/**
 * Whole answers of the queries that read the current windows, cached per run: a hit costs no
 * parsing, validation, execution or SQL, only the JSON of the answer.
 *
 * The fields below answer from the poller's snapshot of the current run alone (Query.airQuality
 * and what it reaches), so their values change only when the poller moves to another run. Every
 * other field of the schema, including any added later, has a time-to-live of 0, and the global
 * one is 0: an operation is cached only if it selects nothing but these fields. `cities`, `city`,
 * `locations`, `history` and `airQualityRuns` change with ingestion or with backfills and are
 * never cached; mutations and subscriptions are never cached either.
 *
 * A cached answer is served only while the poller's snapshot is fresh (Poller.peek), so it
 * keeps the snapshot's staleness bound, and the key holds the generation of the snapshot: when the
 * poller moves to another run (or to none), every earlier answer is dropped. Nothing cached depends
 * on who asks (queries are open, no field is per user), so one answer serves every client.
 */
const PER_RUN_FIELDS = new Set([
  'Query.airQuality',
  'CityAirQuality.city',
  'CityAirQuality.run',
  'CityAirQuality.windowStart',
  'CityAirQuality.windowEnd',
  'CityAirQuality.belaqi',
  'CityAirQuality.eaqi',
  'CityAirQuality.pollutants',
  'PollutantWindow.parameter',
  'PollutantWindow.unit',
  'PollutantWindow.average',
  'PollutantWindow.min',
  'PollutantWindow.max',
  'PollutantWindow.count',
  'PollutantWindow.locations',
  'PollutantWindow.latestMeasuredAt',
  'PollutantWindow.belaqi',
  'PollutantWindow.eaqi',
  'AirQualityRun.id',
  'AirQualityRun.evaluatedAt',
  'AirQualityRun.windowStart',
  'AirQualityRun.windowEnd',
  'AirQualityRun.measurements',
  'AirQualityRun.cities',
  'AirQualityRun.durationMs',
  // The city of a window is the snapshot's (its stations' mean position when the run was loaded),
  // and its airQuality the snapshot's window.
  'City.name',
  'City.country',
  'City.latitude',
  'City.longitude',
  'City.airQuality',
]);

/** Every field of the schema: ∞ for the per-run ones, 0 (never cached) for the others. */
function timesToLive(schema: GraphQLSchema): Record<string, number> {
  const ttl: Record<string, number> = {};
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.keys(type.getFields())) {
      const coordinate = `${type.name}.${field}`;
      ttl[coordinate] = PER_RUN_FIELDS.has(coordinate) ? Number.POSITIVE_INFINITY : 0;
    }
  }
  return ttl;
}

/** An answer that brings its own serializer, which Yoga calls in place of JSON.stringify. */
type WithSerializer = ExecutionResult & { stringify(result: ExecutionResult): string };

/**
 * The answer with a serializer (Yoga's hook, the one graphql-jit uses) that makes the text at the
 * first hit and hands the same text to the next ones: serializing a large answer costs as much as
 * the rest of a hit. Yoga passes it the answer without its HTTP extensions, the same every time.
 */
function withSerializedText(result: ExecutionResult): WithSerializer {
  let text: string | undefined;
  return {
    ...result,
    stringify: (sanitized) => {
      text ??= JSON.stringify(sanitized);
      return text;
    },
  };
}

export interface WindowCacheStats {
  /** Answers served from the cache. */
  readonly hits: number;
  /** Answers stored. */
  readonly stored: number;
  /** Answers held for the current generation. */
  readonly entries: number;
}

export interface WindowCache {
  readonly plugin: Plugin;
  stats(): WindowCacheStats;
}

export function useWindowCache(options: {
  readonly poller: Pick<Poller, 'peek' | 'read'>;
  readonly schema: GraphQLSchema;
  /** Distinct operations (document and variables) held per run; the oldest goes first. */
  readonly maxEntries?: number;
}): WindowCache {
  const { poller } = options;
  const maxEntries = options.maxEntries ?? 1000;
  const cacheable = new WeakMap<Request, boolean>();
  let answers = new Map<string, WithSerializer>();
  let generation = 0;
  let generationOf: RunWindows | null | undefined;
  let hits = 0;
  let stored = 0;

  const cache: Cache = {
    get(key) {
      const answer = answers.get(key);
      if (!answer) return null;
      hits += 1;
      // A hit is a query of the windows: it keeps the poller polling, as a resolver's read would.
      void poller.read();
      return answer;
    },
    set(key, result) {
      if (answers.size >= maxEntries) {
        const oldest = answers.keys().next();
        if (!oldest.done) answers.delete(oldest.value);
      }
      answers.set(key, withSerializedText(result));
      stored += 1;
    },
    // The generation in every key invalidates; entity-based invalidation is not used.
    invalidate() {},
  };

  const plugin = useResponseCache({
    session: () => null,
    cache,
    ttl: 0,
    ttlPerSchemaCoordinate: timesToLive(options.schema),
    invalidateViaMutation: false,
    // Else NODE_ENV=development or DEBUG would add extensions.responseCache to the answers.
    includeExtensionMetadata: false,
    enabled: (request) => (request ? cacheable.get(request) === true : false),
    buildResponseCacheKey: ({ documentString, variableValues, operationName, request }) => {
      // Only an operation that names airQuality can select a per-run field from Query: any other
      // (a constant query, cities, a mutation) skips the cache and never counts as a read.
      const snapshot = documentString.includes('airQuality') ? poller.peek() : null;
      cacheable.set(request, snapshot !== null);
      if (!snapshot) return '';
      if (snapshot.event !== generationOf) {
        generationOf = snapshot.event;
        generation += 1;
        answers = new Map();
      }
      return createHash('sha256')
        .update(
          `${generation}\u0000${operationName ?? ''}\u0000${stableJson(variableValues ?? {})}\u0000${documentString}`,
        )
        .digest('hex');
    },
  });

  return { plugin, stats: () => ({ hits, stored, entries: answers.size }) };
}
