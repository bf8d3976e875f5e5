import SchemaBuilder from '@pothos/core';
import ComplexityPlugin from '@pothos/plugin-complexity';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import type { Context } from '../context/context.js';
import { expectedError, writeRefused } from '../errors/expected-errors.js';
import type { DateTimeInput } from './date-time-input.js';

/**
 * Limits on the shape of an operation, checked before any resolver runs. The list multiplier
 * prices every list at 10 items; `{ cities { name airQuality { belaqi pollutants { parameter
 * average } } locations { name } } }` costs 281.
 */
export const COMPLEXITY_LIMITS = { complexity: 5000, depth: 10, breadth: 300 } as const;

export const builder = new SchemaBuilder<{
  Context: Context;
  DefaultFieldNullability: false;
  AuthScopes: { write: boolean };
  Scalars: {
    // Parsed leniently: a malformed instant reaches the resolver, which decides what it means (a
    // per-item rejection in a batch, BAD_USER_INPUT for an argument).
    DateTime: { Input: DateTimeInput; Output: Date };
    ID: { Input: string; Output: string | number };
  };
}>({
  defaultFieldNullability: false,
  // scope-auth first, so that no other plugin's wrapper runs before authorization.
  plugins: [ScopeAuthPlugin, ComplexityPlugin],
  scopeAuth: {
    authScopes: (context) => ({ write: context.writeAccess === 'token' }),
    unauthorizedError: (_parent, context) => writeRefused(context.writeAccess),
  },
  complexity: {
    defaultComplexity: 1,
    defaultListMultiplier: 10,
    limit: COMPLEXITY_LIMITS,
    complexityError: (kind, result) => {
      const [actual, limit] = {
        Complexity: [result.complexity, result.maxComplexity],
        Depth: [result.depth, result.maxDepth],
        Breadth: [result.breadth, result.maxBreadth],
      }[kind];
      return expectedError(
        'QUERY_TOO_COMPLEX',
        `The operation's ${kind.toLowerCase()} is ${actual}, above the limit of ${limit}: select fewer fields or split it.`,
      );
    },
  },
});

builder.queryType({});
builder.mutationType({});
// The subscription fields are in the files of their types.
builder.subscriptionType({});
