import { GraphQLError, Kind, print } from 'graphql';
import { builder } from './builder.js';
import { parseDateTimeInput } from './date-time-input.js';

builder.scalarType('DateTime', {
  description:
    'An instant in ISO-8601 with a time zone, such as 2024-05-01T12:00:00Z; always UTC with milliseconds on output.',
  serialize: (value) => {
    if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
      throw new GraphQLError(`DateTime cannot represent ${String(value)}`);
    }
    return value.toISOString();
  },
  parseValue: (value) => parseDateTimeInput(value),
  parseLiteral: (ast) => parseDateTimeInput(ast.kind === Kind.STRING ? ast.value : print(ast)),
});
