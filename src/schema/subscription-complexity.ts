import { ComplexityErrorKind, complexityFromQuery } from '@pothos/plugin-complexity';
import { type GraphQLResolveInfo, Kind } from 'graphql';
import type { Context } from '../context/context.js';
import { builder, COMPLEXITY_LIMITS } from './builder.js';

/**
 * Refuses a subscription whose operation is beyond COMPLEXITY_LIMITS when it starts.
 *
 * The complexity plugin checks an operation when its root field resolves, which for a subscription
 * happens at every event: a subscription that is too complex would be accepted, then answer an
 * error at every push. Called from a subscription field's subscribe, this refuses it up front with
 * the same error the plugin gives.
 */
export function checkSubscriptionComplexity(context: Context, info: GraphQLResolveInfo): void {
  const result = complexityFromQuery(
    { kind: Kind.DOCUMENT, definitions: [info.operation, ...Object.values(info.fragments)] },
    { schema: info.schema, ctx: context, variables: info.variableValues },
  );
  const max = COMPLEXITY_LIMITS;
  let kind: ComplexityErrorKind | null = null;
  if (result.depth > max.depth) kind = ComplexityErrorKind.Depth;
  else if (result.breadth > max.breadth) kind = ComplexityErrorKind.Breadth;
  else if (result.complexity > max.complexity) kind = ComplexityErrorKind.Complexity;
  if (kind === null) return;
  const error = builder.options.complexity?.complexityError?.(
    kind,
    {
      ...result,
      maxComplexity: max.complexity,
      maxDepth: max.depth,
      maxBreadth: max.breadth,
    },
    info,
  );
  throw typeof error === 'string' || error === undefined ? new Error(error ?? kind) : error;
}
