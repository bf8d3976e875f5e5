import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type Machine, machineLine } from './machine.js';
import {
  type MemoryRule,
  type MemorySample,
  type MemoryVerdict,
  mb,
  sampleRows,
} from './memory-trend.js';

/** What a soak run did and saw, for the terminal and bench/SOAK.md. */
export interface SoakRecord {
  readonly command: string;
  readonly date: string;
  readonly machine: Machine;
  readonly quick: boolean;
  readonly loadSeconds: number;
  readonly totalSeconds: number;
  /** What was sent, at which rate, and how much of it was served: [what, rate, served]. */
  readonly load: readonly (readonly [string, string, string])[];
  readonly samples: readonly MemorySample[];
  readonly rule: MemoryRule;
  readonly memory: MemoryVerdict;
  /** Correctness checks: [check, result], and whether each held. */
  readonly checks: readonly {
    readonly check: string;
    readonly result: string;
    readonly ok: boolean;
  }[];
  readonly problems: { readonly count: number; readonly first: readonly string[] };
  /** The memory verdict counts (false in --quick runs: too short to tell growth from warm-up). */
  readonly memoryJudged: boolean;
  readonly notes: readonly string[];
}

export function soakPassed(record: SoakRecord): boolean {
  return (
    record.checks.every((c) => c.ok) &&
    record.problems.count === 0 &&
    (!record.memoryJudged || record.memory.passed)
  );
}

/** A table with its columns padded to line up, for the terminal. */
export function paddedTable(header: readonly string[], rows: readonly (readonly string[])[]) {
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/**
 * A markdown table with its columns padded to line up, as Biome formats markdown: the file stays
 * unchanged by `npm run format`.
 */
function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]) {
  const body = rows.map((row) => row.map((cell) => cell.replaceAll('|', '\\|')));
  const widths = header.map((title, i) =>
    Math.max(3, title.length, ...body.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

function memoryLines(record: SoakRecord): string[] {
  const { memory, rule } = record;
  const verdict = !record.memoryJudged
    ? 'not judged (--quick: too short to tell growth from warm-up)'
    : memory.passed
      ? 'no growth beyond noise'
      : `**growth**: ${memory.reasons.join('; ')}`;
  return [
    `Heap of objects after GC (heapUsed − code), end − warm-up: ${memory.growth >= 0 ? '+' : '−'}${mb(Math.abs(memory.growth), 2)} MB ` +
      `(allowed: ${mb(memory.bound, 2)} MB, the larger of ${mb(rule.allowedBytes)} MB and ` +
      `${(rule.allowedFraction * 100).toFixed(0)} % of the warm-up); trend ` +
      `${(memory.slopePerMinute / 1024).toFixed(0)} KB/min, ${mb(memory.trendGrowth, 2)} MB over the run; ` +
      `largest step between samples ${mb(memory.largestStep, 2)} MB; rising at every step: ` +
      `${memory.monotonic ? 'yes' : 'no'} (fails above ${mb(rule.steadyRiseBytes)} MB in all). Verdict: ${verdict}.`,
  ];
}

export function consoleReport(record: SoakRecord): string {
  const samples = sampleRows(record.samples);
  return [
    paddedTable(
      ['load', 'rate', 'served'],
      record.load.map((row) => [...row]),
    ),
    '',
    paddedTable(samples.header, samples.rows),
    '',
    ...memoryLines(record).map((line) => line.replaceAll('**', '')),
    '',
    paddedTable(
      ['check', 'result', 'ok'],
      record.checks.map((c) => [c.check, c.result, c.ok ? 'yes' : 'NO']),
    ),
    ...(record.problems.count > 0
      ? ['', `${record.problems.count} problems; the first:`, ...record.problems.first]
      : []),
    '',
    `Soak ${soakPassed(record) ? 'PASSED' : 'FAILED'}.`,
  ].join('\n');
}

export function markdownReport(record: SoakRecord): string {
  const samples = sampleRows(record.samples);
  return [
    '# Soak',
    '',
    'Written by `npm run soak` (see docs/benchmarks.md, "Soak"): the API in a process of its own',
    'under a few minutes of mixed load, its memory sampled from the warm-up to the end. `--quick`',
    'runs write `bench/.data/SOAK.quick.md` instead.',
    '',
    `\`${record.command}\` · ${record.date} · ${record.loadSeconds.toFixed(0)} s of load, ` +
      `${record.totalSeconds.toFixed(0)} s in all  `,
    machineLine(record.machine),
    '',
    `**Soak ${soakPassed(record) ? 'passed' : 'failed'}.**`,
    '',
    '## Load',
    '',
    markdownTable(
      ['load', 'rate', 'served'],
      record.load.map((row) => [...row]),
    ),
    '',
    '## Memory of the API process',
    '',
    markdownTable(samples.header, samples.rows),
    '',
    ...memoryLines(record),
    '',
    '## Correctness',
    '',
    markdownTable(
      ['check', 'result', 'ok'],
      record.checks.map((c) => [c.check, c.result, c.ok ? 'yes' : '**no**']),
    ),
    '',
    record.problems.count === 0
      ? 'No error in any answer.'
      : `**${record.problems.count} problems**; the first:\n\n${record.problems.first
          .map((p) => `- \`${p.replaceAll('`', "'")}\``)
          .join('\n')}`,
    ...record.notes.flatMap((note) => ['', note]),
    '',
  ].join('\n');
}

export async function writeSoakReport(path: string, record: SoakRecord): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, markdownReport(record));
}
