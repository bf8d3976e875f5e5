import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { type GraphQLError, type ValidationContext, validate } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { expectedError } from '../errors/expected-errors.js';

export interface OperationLimits {
  /** MAX_ALIASES: aliases in one operation, its fragments included (__typename is free). */
  readonly maxAliases: number;
  /** MAX_TOKENS: lexical tokens in the whole document. */
  readonly maxTokens: number;
  /** MAX_DIRECTIVES: directives in one operation, its fragments included. */
  readonly maxDirectives: number;
}

/** The count graphql-armor found, from its message ("... limit of 30 exceeded, found 31."). */
function found(error: GraphQLError): string {
  const count = /found (\d+)/.exec(error.message)?.[1];
  return count === undefined ? 'more' : String(Number(count));
}

/**
 * Limits on the document itself, checked before anything runs, beside the depth, breadth and cost
 * the complexity plugin checks (src/schema/builder.ts): aliases (each one repeats a field's work
 * under a new name), tokens (parsing is the first cost an attacker can impose: an 8 MiB body of
 * `a a a ...` kept the parser busy for 8 s) and directives. graphql-armor's rules count; the error
 * is ours, QUERY_TOO_COMPLEX with the limit and what to do. As an envelop plugin it applies to
 * graphql-ws operations too, which go through yoga.getEnveloped.
 */
export function useOperationLimits(limits: OperationLimits): Plugin {
  const tooMany = (what: string, count: string, limit: number, advice: string) =>
    expectedError(
      'QUERY_TOO_COMPLEX',
      `The operation has ${count} ${what}, above the limit of ${limit}: ${advice}`,
    );
  const report =
    (what: string, limit: number, advice: string) =>
    (context: ValidationContext | null, error: GraphQLError) => {
      context?.reportError(tooMany(what, found(error), limit, advice));
    };
  const aliases = maxAliasesRule({
    n: limits.maxAliases,
    propagateOnRejection: false,
    onReject: [
      report('aliases', limits.maxAliases, 'ask for fewer fields under other names, or split it.'),
    ],
  });
  const directives = maxDirectivesRule({
    n: limits.maxDirectives,
    propagateOnRejection: false,
    onReject: [report('directives', limits.maxDirectives, 'use fewer directives, or split it.')],
  });
  const tokens = maxTokensPlugin({
    n: limits.maxTokens,
    propagateOnRejection: false,
    // Called from inside the lexer at the first token beyond the limit: throwing stops the parse.
    onReject: [
      () => {
        throw expectedError(
          'QUERY_TOO_COMPLEX',
          `The document has more than ${limits.maxTokens} tokens, the limit: send large inputs such as batches of measurements as variables rather than inline, or split the operation.`,
        );
      },
    ],
  }) as Plugin;
  return {
    onParse: tokens.onParse,
    // Counted before GraphQL's own validation, and alone when over a limit: a document of 1,000
    // repeated directives would otherwise also get GraphQL's 1,000 "used once" errors, at the
    // cost of validating it all.
    onValidate({ validateFn, setValidationFn }) {
      setValidationFn((schema, document, rules, typeInfo, options) => {
        const overLimits = validate(schema, document, [aliases, directives]);
        if (overLimits.length > 0) return overLimits;
        return validateFn(schema, document, rules, typeInfo, options);
      });
    },
  };
}
