import { createHash } from 'node:crypto';
import { type DocumentNode, type FieldNode, GraphQLError, Kind } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { REFRESH_COST, WRITE_OVERHEAD, writeCostOfBatch } from '../config/write-cost.js';
import type { Context } from '../context/context.js';
import { isDatabaseUnavailable } from '../db/database-unavailable.js';
import type { Queryable } from '../db/queryable.js';
import { type BudgetTake, takeWriteBudget } from '../db/write-budget.js';
import { badUserInput, rateLimited } from '../errors/expected-errors.js';
import { mutationRootFields } from './mutation-root-fields.js';

export interface WriteRateLimitOptions {
  /** The primary, which keeps the budgets. */
  readonly db: Queryable;
  /** The budget key of each token of API_TOKENS, by position (writerKeys). */
  readonly writerKeys: readonly Buffer[];
  /** Measurements per second each token may write (WRITE_RATE_LIMIT); 0 turns the limit off. */
  readonly perSecond: number;
  /** Measurements a token may write at once after a pause (WRITE_RATE_BURST). */
  readonly burst: number;
  /** Milliseconds; the primary's clock by default (UTC_TIMESTAMP). */
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

/**
 * A write budget per token (WRITE_RATE_LIMIT measurements per second, up to WRITE_RATE_BURST at
 * once), a token bucket kept on the primary (src/db/write-budget.ts) and so shared by every API
 * process of the service: N processes behind a balancer allow the rate once, not N times. A
 * mutation is priced before it runs (writeCost) and refused whole when its token's budget does
 * not hold it, so nothing of a refused write is stored, and a refusal costs nothing: retried after
 * retryAfterSeconds, it passes. Writes without a valid token never get here: they are refused
 * before (use-write-access.ts), and by every write field's own check. A primary that cannot be
 * reached for the budget refuses the write as DATABASE_UNAVAILABLE (see use-database-errors.ts):
 * it could not have been stored either.
 */
export function useWriteRateLimit(options: WriteRateLimitOptions): Plugin {
  const clock = options.clock;
  return {
    async onExecute({ args, setResultAndStopExecution }) {
      if (options.perSecond <= 0) return;
      const writer = (args.contextValue as Partial<Context>).writer;
      if (writer === null || writer === undefined) return;
      const key = options.writerKeys[writer];
      if (!key) return;
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
      let take: BudgetTake;
      try {
        take = await takeWriteBudget(options.db, {
          writer: key,
          cost,
          perSecond: options.perSecond,
          burst: options.burst,
          ...(clock ? { atMs: clock() } : {}),
        });
      } catch (error) {
        // Anything but an unreachable primary is unexpected: thrown, for Yoga to mask and log.
        if (!isDatabaseUnavailable(error)) throw error;
        setResultAndStopExecution({
          errors: [
            new GraphQLError('The write budget of this token could not be read.', {
              originalError: error as Error,
            }),
          ],
        });
        return;
      }
      if (take.granted) return;
      const retryAfterSeconds = Math.max(1, Math.ceil((cost - take.level) / options.perSecond));
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

/** The key of each token's budget, in the order of API_TOKENS: its SHA-256, never the token. */
export function writerKeys(tokens: readonly string[]): readonly Buffer[] {
  return tokens.map((token) => createHash('sha256').update(token).digest());
}
