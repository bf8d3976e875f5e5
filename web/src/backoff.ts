/**
 * The wait before reconnection attempt `retries` (0 for the first): exponential from baseMs,
 * capped at maxMs, with "equal jitter": half of it fixed, half random, so that pages that lost
 * the same server do not all come back in the same millisecond, yet none retries at once.
 */
export function backoffDelay(
  retries: number,
  options: { baseMs?: number; maxMs?: number; random?: () => number } = {},
): number {
  const baseMs = options.baseMs ?? 500;
  const maxMs = options.maxMs ?? 30_000;
  const random = options.random ?? Math.random;
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, retries));
  return ceiling / 2 + random() * (ceiling / 2);
}
