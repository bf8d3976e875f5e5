import { printSchema } from 'graphql';
import { schema } from './index.js';

/** The schema as SDL, in the order the types are defined. */
export function printSchemaText(): string {
  return `${printSchema(schema)}\n`;
}
