import type { Pool } from 'mysql2/promise';

/** Anything that runs a query: the pool, or one connection of it inside a transaction. */
export type Queryable = Pick<Pool, 'query'>;
