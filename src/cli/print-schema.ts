import { writeFile } from 'node:fs/promises';
import { printSchemaText } from '../schema/print.js';

/** npm run schema: writes schema.graphql, the committed form of the GraphQL API. */
const target = new URL('../../schema.graphql', import.meta.url);
await writeFile(target, printSchemaText());
console.log(`wrote ${target.pathname}`);
