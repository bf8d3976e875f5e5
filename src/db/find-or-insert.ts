/** How many rows one statement names at most: two to six placeholders each. */
export const CHUNK = 500;

/** Runs fn on consecutive slices of at most CHUNK items, one after the other. */
export async function forEachChunk<T>(
  items: readonly T[],
  fn: (chunk: T[]) => Promise<unknown>,
): Promise<void> {
  for (let i = 0; i < items.length; i += CHUNK) await fn(items.slice(i, i + CHUNK));
}

export interface FindOrInsert<T, R> {
  readonly items: readonly T[];
  /** The map key of an item, and of the row stored for it. */
  readonly keyOf: (item: T) => string;
  /** Adds the stored rows of the chunk's items that exist to `found`, by key. */
  readonly find: (chunk: T[], found: Map<string, R>) => Promise<void>;
  /** INSERT IGNORE of the chunk's items. */
  readonly insert: (chunk: T[]) => Promise<unknown>;
  /** The order of the table's unique index on the key. */
  readonly compare: (a: T, b: T) => number;
}

/**
 * The stored rows of the items, inserting those that do not exist yet. Existing rows are looked
 * up first and only the missing ones are inserted, so that no auto-increment id is burnt by a row
 * that already exists.
 *
 * Two batches may create the same new rows at the same moment: the second one's INSERT IGNORE
 * waits for the first to commit, then skips them. The missing rows are inserted in the unique
 * index's order, so that such batches wait for each other in one direction and never deadlock.
 */
export async function findOrInsert<T, R>(spec: FindOrInsert<T, R>): Promise<Map<string, R>> {
  const found = new Map<string, R>();
  await forEachChunk(spec.items, (chunk) => spec.find(chunk, found));
  const missing = spec.items.filter((item) => !found.has(spec.keyOf(item))).sort(spec.compare);
  if (missing.length > 0) {
    await forEachChunk(missing, spec.insert);
    await forEachChunk(missing, (chunk) => spec.find(chunk, found));
  }
  return found;
}
