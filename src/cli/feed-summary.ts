import type { PollTotals } from '../sources/feed/run-feed.js';
import { formatCount, formatReasons } from './format.js';

/**
 * One poll in one line, then its reasons, most frequent first:
 *
 *   2026-11-21T12:00:04Z irceline: 38 stations, 112 series (41 idle), 331 fetched: 318 new,
 *   0 updated, 4 unchanged, 9 rejected, 2 skipped, 0 not fetched; 10 requests in 1.2 s; windows
 *   refreshed (run 12, 25 cities)
 *     rejected  7 × value -9999 is negative: a concentration is 0 or more.
 */
export function formatPollSummary(totals: PollTotals): string {
  const n = formatCount;
  const parts = [
    `${n(totals.stations)} stations`,
    `${n(totals.series)} series${totals.idle > 0 ? ` (${n(totals.idle)} idle)` : ''}`,
    `${n(totals.fetched)} fetched: ${n(totals.inserted)} new`,
    `${n(totals.updated)} updated`,
    `${n(totals.unchanged)} unchanged`,
    `${n(totals.rejected)} rejected`,
    `${n(totals.skipped)} skipped`,
    `${n(totals.failed)} not fetched${totals.notSent > 0 ? ` (${n(totals.notSent)} measurements not stored)` : ''}`,
  ];
  const tail = [
    `${n(totals.requests)} requests in ${(totals.durationMs / 1000).toFixed(1)} s`,
    ...(totals.budget ? [totals.budget] : []),
    ...(totals.refreshed
      ? [`windows refreshed (run ${totals.refreshed.id}, ${n(totals.refreshed.cities)} cities)`]
      : []),
  ];
  const lines = [
    `${totals.at.toISOString().replace(/\.\d{3}Z$/, 'Z')} ${totals.feed}: ${parts.join(', ')}; ${tail.join('; ')}`,
  ];
  for (const [label, reasons] of [
    ['rejected', totals.rejections],
    ['skipped', totals.skips],
    ['not fetched', totals.failures],
  ] as const) {
    if (reasons.size > 0) lines.push(`  ${label}`, ...formatReasons(reasons, '    '));
  }
  return `${lines.join('\n')}\n`;
}
