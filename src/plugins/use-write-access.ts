import type { FieldNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../context/context.js';
import { writeRefused } from '../errors/expected-errors.js';
import { mutationRootFields } from './mutation-root-fields.js';

/**
 * A mutation without a valid token is refused before it runs, as a whole: before its variables
 * are coerced (10,000 items of a batch), its items checked (use-item-level-input-errors.ts) or
 * its document compiled (use-compiled-mutations.ts), all of which came before the field's own
 * authorization check (scope-auth, which stays: it guards every write field where it runs). Each
 * write field of the operation gets the refusal scope-auth would give it, at its path; the answer
 * carries their HTTP status (401, or 403 on a server without API_TOKENS). A mutation of nothing
 * but __typename writes nothing and passes.
 */
export function useWriteAccess(): Plugin {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const access = (args.contextValue as Partial<Context>).writeAccess;
      if (access === undefined || access === 'token') return;
      const writes = new Map<string, FieldNode>();
      for (const field of mutationRootFields(args.document, args.operationName)) {
        if (field.name.value === '__typename') continue;
        // Fields merged under one response key are one field of the result.
        const key = field.alias?.value ?? field.name.value;
        if (!writes.has(key)) writes.set(key, field);
      }
      if (writes.size === 0) return;
      setResultAndStopExecution({
        data: null,
        errors: [...writes].map(([key, node]) => writeRefused(access, { node, path: [key] })),
      });
    },
  };
}
