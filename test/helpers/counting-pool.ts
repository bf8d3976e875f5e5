import type { Pool } from 'mysql2/promise';

/** The pool, recording the name (the leading comment) of every statement sent through it. */
export function countingPool(pool: Pool): { pool: Pool; statements: string[] } {
  const statements: string[] = [];
  const record = (sql: unknown) => {
    const text = typeof sql === 'string' ? sql : String((sql as { sql?: string }).sql);
    statements.push(/\/\*\s*(\w+)\s*\*\//.exec(text)?.[1] ?? text.slice(0, 40));
  };
  const counted = new Proxy(pool, {
    get(target, property, receiver) {
      if (property === 'query' || property === 'execute') {
        return (sql: unknown, ...rest: unknown[]) => {
          record(sql);
          // biome-ignore lint/suspicious/noExplicitAny: forwarding whatever mysql2 accepts
          return (target as any)[property](sql, ...rest);
        };
      }
      return Reflect.get(target, property, receiver);
    },
  });
  return { pool: counted, statements };
}
