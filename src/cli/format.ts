/** Text helpers shared by the scripts' summaries. */

export function formatCount(value: number): string {
  return value.toLocaleString('en-US');
}

/**
 * Reasons with their counts, most frequent first, one per line: "    3 × value -999 is negative".
 * Beyond `limit` lines the rest is summed up in one line.
 */
export function formatReasons(
  reasons: ReadonlyMap<string, number>,
  indent: string,
  limit = 10,
): string[] {
  const sorted = [...reasons].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const lines = sorted
    .slice(0, limit)
    .map(([reason, count]) => `${indent}${formatCount(count)} × ${reason}`);
  if (sorted.length > limit) {
    const rest = sorted.slice(limit).reduce((sum, [, count]) => sum + count, 0);
    lines.push(`${indent}${formatCount(rest)} × ${sorted.length - limit} other reasons`);
  }
  return lines;
}

/** "label  value" lines, labels padded to one width; plain strings are lines of their own. */
export function formatTable(
  rows: readonly (readonly [string, string] | string)[],
  indent = '  ',
): string[] {
  const width = Math.max(...rows.map((row) => (typeof row === 'string' ? 0 : row[0].length)));
  return rows.map((row) =>
    typeof row === 'string' ? row : `${indent}${row[0].padEnd(width)}  ${row[1]}`,
  );
}

/** The time of day (UTC) that prefixes the scripts' progress lines, e.g. 19:54:42. */
export function clock(): string {
  return new Date().toISOString().slice(11, 19);
}
