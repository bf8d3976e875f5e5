import { useGraphQlJit } from '@envelop/graphql-jit';
import type { Plugin } from 'graphql-yoga';

/**
 * Mutations run through graphql-jit, which compiles each operation once, including the coercion
 * of its variables. A batch of 10,000 MeasurementInput items is 110,000 input fields to coerce:
 * graphql-js spends about 13 µs per item on it (most of the API's own time in an ingestion, per
 * the CPU profile in bench/RESULTS.md), the compiled coercion a small fraction of that. Queries
 * and subscriptions keep the standard executor: they are small, and the shared execution of
 * subscriptions (src/plugins/use-shared-execution.ts) hooks into it.
 */
export function useCompiledMutations(): Plugin {
  return useGraphQlJit(
    {},
    {
      enableIf: (args) =>
        args.document.definitions.some(
          (definition) =>
            definition.kind === 'OperationDefinition' && definition.operation === 'mutation',
        ),
    },
  ) as Plugin;
}
