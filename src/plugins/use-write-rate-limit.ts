import { type DocumentNode, type FieldNode, Kind } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { REFRESH_COST, WRITE_OVERHEAD, writeCostOfBatch } from '../config/write-cost.js';
import type { Context } from '../context/context.js';
import { badUserInput, rateLimited } from '../errors/expected-errors.js';
import { mutationRootFields } from './mutation-root-fields.js';

export interface WriteRateLimitOptions {
  /** Measurements per second each token may write (WRITE_RATE_LIMIT); 0 turns the limit off. */
  readonly perSecond: number;
  /** Measurements a token may write at once after a pause (WRITE_RATE_BURST). */
  readonly burst: number;
  /** Milliseconds; Date.now by default. */
  readonly clock?: () => number;
}

/** How many measurements an ingestMeasurements field sends, inline or in a variable. */
function itemsOf(field: FieldNode, variables: Readonly<Record<string, unknown>>): number {
  const argument = field.arguments?.find((a) => a.name.value === 'measurements');
  if (!argument) return 0;
  const value = argument.value;
  if (value.kind === Kind.LIST) return value.values.length;
  if (value.kind === Kind.VARIABLE) {
    const sent = variables[value.name.value];
    if (Array.isArray(sent)) return sent.length;
    // GraphQL takes a single item where a list is expected.
    return sent === null || sent === undefined ? 0 : 1;
  }
  return value.kind === Kind.NULL ? 0 : 1;
}

/** What a mutation costs, in measurements (src/config/write-cost.ts). */
export function writeCost(
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Readonly<Record<string, unknown>>,
): number {
  let cost = 0;
  for (const field of mutationRootFields(document, operationName)) {
    const name = field.name.value;
    if (name === '__typename') continue;
    if (name === 'ingestMeasurements') cost += writeCostOfBatch(itemsOf(field, variables));
    else if (name === 'refreshAirQuality') cost += REFRESH_COST;
    else cost += WRITE_OVERHEAD;
  }
  return cost;
}

interface Bucket {
  /** Measurements that may be written now. */
  level: number;
  at: number;
}

/**
 * A write budget per token (WRITE_RATE_LIMIT measurements per second, up to WRITE_RATE_BURST at
 * once), a token bucket kept in this process: N processes behind a balancer allow N times the
 * rate. A mutation is priced before it runs (writeCost) and refused whole when its token's budget
 * does not hold it, so nothing of a refused write is stored, and a refusal costs nothing: retried
 * after retryAfterSeconds, it passes. Writes without a valid token never get here: they are
 * refused before (use-write-access.ts), and by every write field's own check.
 */
export function useWriteRateLimit(options: WriteRateLimitOptions): Plugin {
  const clock = options.clock ?? Date.now;
  const buckets = new Map<number, Bucket>();
  return {
    onExecute({ args, setResultAndStopExecution }) {
      if (options.perSecond <= 0) return;
      const writer = (args.contextValue as Partial<Context>).writer;
      if (writer === null || writer === undefined) return;
      const cost = writeCost(args.document, args.operationName, args.variableValues ?? {});
      if (cost === 0) return;
      if (cost > options.burst) {
        setResultAndStopExecution({
          errors: [
            badUserInput(
              `This operation writes ${cost} measurement units, more than a token may write at once (WRITE_RATE_BURST ${options.burst}): split it into several operations.`,
            ),
          ],
        });
        return;
      }
      const now = clock();
      const bucket = buckets.get(writer) ?? { level: options.burst, at: now };
      bucket.level = Math.min(
        options.burst,
        bucket.level + (Math.max(0, now - bucket.at) / 1000) * options.perSecond,
      );
      bucket.at = now;
      buckets.set(writer, bucket);
      if (bucket.level >= cost) {
        bucket.level -= cost;
        return;
      }
      const retryAfterSeconds = Math.max(1, Math.ceil((cost - bucket.level) / options.perSecond));
      setResultAndStopExecution({
        errors: [
          rateLimited(
            `This token's write rate is over its limit of ${options.perSecond} measurements per second (WRITE_RATE_LIMIT; each operation counts ${WRITE_OVERHEAD} more): nothing was stored; send it again in ${retryAfterSeconds} s.`,
            retryAfterSeconds,
          ),
        ],
      });
    },
  };
}
