import { afterAll, beforeAll } from 'vitest';

/**
 * A value that a beforeAll hook makes and an afterAll hook undoes, for the whole file (or the
 * describe block it is called in). What it returns stands for the value: reading a field reads
 * the value's, from that beforeAll hook on, in later hooks and in the tests. Hooks registered
 * after this call run after its beforeAll, and their afterAll before its own (vitest runs
 * afterAll hooks in reverse order).
 */
export function useForAll<T extends object>(
  what: string,
  make: () => Promise<T>,
  undo: (value: T) => Promise<void>,
): T {
  let current: T | undefined;
  beforeAll(async () => {
    current = await make();
  });
  afterAll(async () => {
    const made = current;
    current = undefined;
    if (made) await undo(made);
  });
  return new Proxy({} as T, {
    get(_target, property) {
      if (!current) throw new Error(`${what} exists from its beforeAll hook on, not before`);
      const value: unknown = Reflect.get(current, property);
      return typeof value === 'function' ? value.bind(current) : value;
    },
  });
}
