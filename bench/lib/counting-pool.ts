import type { Pool, PoolConnection } from 'mysql2/promise';

/**
 * A mysql2 pool that counts the statements sent through it (query and execute, on the pool and on
 * connections taken from it), for "SQL statements per poll". The server's performance_schema may
 * be off and its global counters include everyone else's traffic: counting at the pool sees
 * exactly what one process sends.
 */
export interface CountingPool {
  readonly pool: Pool;
  statements(): number;
}

const COUNTED = new Set<PropertyKey>(['query', 'execute']);

function counting<T extends object>(target: T, count: () => void, wrapConnections: boolean): T {
  return new Proxy(target, {
    get(object, property) {
      const value = Reflect.get(object, property, object);
      if (typeof value !== 'function') return value;
      if (COUNTED.has(property)) {
        return (...args: unknown[]) => {
          count();
          return value.apply(object, args);
        };
      }
      if (wrapConnections && property === 'getConnection') {
        return async (...args: unknown[]) =>
          counting((await value.apply(object, args)) as PoolConnection, count, false);
      }
      return value.bind(object);
    },
  });
}

export function countStatements(pool: Pool): CountingPool {
  let statements = 0;
  return {
    pool: counting(
      pool,
      () => {
        statements += 1;
      },
      true,
    ),
    statements: () => statements,
  };
}
