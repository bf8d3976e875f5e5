import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type Machine, machineLine } from './machine.js';
import { type Figure, missedTargets, type ScenarioResult } from './result.js';

/** One scenario's result with the circumstances of its run, as kept in RESULTS.md. */
export interface RunRecord {
  readonly result: ScenarioResult;
  readonly command: string;
  readonly date: string;
  readonly machine: Machine;
}

/** Scenarios in the order of the issue that defines them. */
export const SCENARIO_ORDER = [
  'ingestion',
  'refresh',
  'queries',
  'fan-out',
  'growth',
  'anonymous-writes',
  'replicas',
] as const;

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export function formatValue(value: number, unit: string): string {
  if (!Number.isFinite(value)) return String(value);
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  const number =
    digits === 0 ? integer.format(value) : value.toFixed(digits).replace(/\.?0+$/, '') || '0';
  return unit === '' ? number : `${number} ${unit}`;
}

export function formatRatio(ratio: number | undefined): string {
  return ratio === undefined ? '' : `${ratio.toFixed(2)}×`;
}

function verdict(figure: Figure): string {
  if (!figure.target) return '';
  if (figure.target.met === undefined) return 'not judged (quick)';
  return figure.target.met ? 'met' : '**missed**';
}

const HEADER = ['measure', 'value', 'baseline', 'baseline value', 'ratio', 'target', 'met'];

function rows(result: ScenarioResult): string[][] {
  return result.figures.map((figure) => [
    figure.measure,
    formatValue(figure.value, figure.unit),
    figure.baseline?.measure ?? '',
    figure.baseline ? formatValue(figure.baseline.value, figure.unit) : '',
    formatRatio(figure.ratio),
    figure.target?.text ?? '',
    verdict(figure),
  ]);
}

function escapeCell(cell: string): string {
  return cell.replaceAll('|', '\\|');
}

export function markdownTable(header: readonly string[], body: readonly string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...body.map((row) => `| ${row.map(escapeCell).join(' | ')} |`),
  ].join('\n');
}

/** The table printed to the terminal: columns padded to line up. */
export function consoleTable(result: ScenarioResult): string {
  const body = rows(result).map((row) => row.map((cell) => cell.replaceAll('**', '')));
  const widths = HEADER.map((title, i) =>
    Math.max(title.length, ...body.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [
    `${result.title} (${result.seconds.toFixed(0)} s)`,
    line(HEADER),
    line(widths.map((w) => '-'.repeat(w))),
    ...body.map(line),
  ].join('\n');
}

function targetsLine(result: ScenarioResult): string {
  const judged = result.figures.filter((f) => f.target?.met !== undefined);
  const withTarget = result.figures.filter((f) => f.target);
  if (withTarget.length === 0) return 'No targets: these figures show the slope.';
  if (judged.length === 0) return 'Smoke run (--quick): targets not judged.';
  const missed = missedTargets(result);
  if (missed.length === 0) return `**Targets: all ${judged.length} met.**`;
  return `**Targets: ${judged.length - missed.length} of ${judged.length} met; missed: ${missed
    .map((f) => f.measure)
    .join('; ')}.**`;
}

const MARK = /<!-- scenario ([a-z-]+) (\{.*?\}) -->/g;

/**
 * Where the history of earlier runs begins: text written by hand, which a run keeps as it is
 * after the sections it writes.
 */
export const HISTORY_MARK = '<!-- history: written by hand; npm run bench keeps it as it is -->';

function section(record: RunRecord): string {
  const { result } = record;
  const data = JSON.stringify(record).replaceAll('-->', '--\\u003e');
  return [
    `<!-- scenario ${result.scenario} ${data} -->`,
    `## ${result.title}`,
    '',
    `\`${record.command}\` · ${record.date} · ${result.seconds.toFixed(0)} s  `,
    `${machineLine(record.machine)}`,
    '',
    markdownTable(HEADER, rows(result)),
    '',
    targetsLine(result),
    ...result.notes.flatMap((note) => ['', note]),
    ...(result.profile ? ['', '### Profile', '', result.profile] : []),
    '',
  ].join('\n');
}

function summary(records: readonly RunRecord[]): string {
  const body = records.flatMap((record) =>
    record.result.figures
      .filter((figure) => figure.target)
      .map((figure) => [
        record.result.scenario,
        figure.measure,
        // A target on the ratio shows the ratio; a target on the value itself, the value.
        figure.ratio !== undefined && figure.target?.text.endsWith('×')
          ? formatRatio(figure.ratio)
          : formatValue(figure.value, figure.unit),
        figure.target?.text ?? '',
        verdict(figure),
      ]),
  );
  return markdownTable(['scenario', 'measure', 'ratio or value', 'target', 'met'], body);
}

function document(records: readonly RunRecord[]): string {
  return [
    '# Benchmark results',
    '',
    'Written by `npm run bench` (see docs/benchmarks.md). The machines are shared and noisy, so',
    'every figure is compared with a baseline measured in the same run, on the same machine, a',
    'moment apart; the ratio is what the targets judge. A run of one scenario',
    "(`npm run bench -- --scenario NAME`) replaces that scenario's section only: each section says",
    'when, how and where it was measured. The history of earlier runs, at the end, is kept as it is.',
    '',
    '## Targets',
    '',
    summary(records),
    '',
    ...records.map(section),
  ].join('\n');
}

function recordsOf(text: string): RunRecord[] {
  return [...text.matchAll(MARK)].map((match) => JSON.parse(match[2] as string) as RunRecord);
}

/** The history from its mark to the end of the file, or nothing. */
function historyOf(text: string): string {
  const at = text.indexOf(HISTORY_MARK);
  return at < 0 ? '' : text.slice(at);
}

/**
 * Writes the results file: the scenarios of this run replace their sections, the others keep
 * theirs from earlier runs, and the history after HISTORY_MARK is kept as it is.
 */
export async function writeResults(path: string, fresh: readonly RunRecord[]): Promise<void> {
  const text = existsSync(path) ? await readFile(path, 'utf8') : '';
  const kept = recordsOf(text).filter(
    (old) => !fresh.some((record) => record.result.scenario === old.result.scenario),
  );
  const all = [...kept, ...fresh].sort(
    (a, b) =>
      SCENARIO_ORDER.indexOf(a.result.scenario as (typeof SCENARIO_ORDER)[number]) -
      SCENARIO_ORDER.indexOf(b.result.scenario as (typeof SCENARIO_ORDER)[number]),
  );
  await mkdir(dirname(path), { recursive: true });
  const history = historyOf(text);
  await writeFile(path, history === '' ? document(all) : `${document(all)}\n${history}`);
}
