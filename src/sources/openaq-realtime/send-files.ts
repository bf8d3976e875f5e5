import type { MeasurementInput } from '../../client/measurement.js';
import type { IngestResult } from '../../ingest/ingest-measurements.js';
import { measurementsOf } from './messages.js';
import { readDocuments } from './read-documents.js';

/**
 * npm run ingest, from its inputs to the API: reads every input, turns each document into
 * measurements, keeps those of the selected countries, sends them in batches, and counts what
 * happened to every record. Invariant of the result: read = malformed + filtered out + sent +
 * not sent.
 */
export interface FileInput {
  /** For messages: the file name, or "stdin". */
  readonly name: string;
  open(): AsyncIterable<unknown>;
}

/** A record that did not make it, with where it was. */
export interface FileProblem {
  readonly kind: 'malformed' | 'rejected' | 'unreadable';
  /** "file:line", plus the record's path inside the document where there is one. */
  readonly where: string;
  readonly reason: string;
}

export interface SendProgress {
  readonly read: number;
  readonly sent: number;
  readonly rejected: number;
  readonly bytes: number;
}

export interface SendFilesOptions {
  readonly inputs: readonly FileInput[];
  readonly send: (items: MeasurementInput[]) => Promise<IngestResult>;
  /** Upper-case ISO codes to keep, or 'all'. */
  readonly countries: ReadonlySet<string> | 'all';
  readonly batchSize: number;
  readonly onProblem?: (problem: FileProblem) => void;
  readonly onProgress?: (progress: SendProgress) => void;
}

export interface SendSummary {
  inputs: number;
  unreadableInputs: number;
  read: number;
  malformed: number;
  /** Why records were left out (country XX, parameter pm1) and how many each. */
  filteredOut: Map<string, number>;
  sent: number;
  inserted: number;
  updated: number;
  unchanged: number;
  rejected: number;
  /** Rejection reasons and how many records each. */
  rejections: Map<string, number>;
  notSent: number;
  sendError?: string;
}

interface Pending {
  readonly where: string;
  readonly measurement: MeasurementInput;
}

/**
 * The country a record is selected by (--country): its code as written, any case, spaces and
 * control characters around it ignored. Only for choosing: the record goes out with its country as
 * sent, and the API judges it by the rules every client's items are judged by, so that "BE\t" is
 * rejected with the reason instead of being stored as BE or silently left out.
 */
function countryKey(country: string): string {
  return country.trim().toUpperCase();
}

function add(map: Map<string, number>, key: string, count = 1) {
  map.set(key, (map.get(key) ?? 0) + count);
}

export function filteredOutTotal(summary: SendSummary): number {
  let total = 0;
  for (const count of summary.filteredOut.values()) total += count;
  return total;
}

/** Nothing malformed, rejected, unreadable or left unsent. */
export function sendSucceeded(summary: SendSummary): boolean {
  return (
    summary.malformed === 0 &&
    summary.rejected === 0 &&
    summary.notSent === 0 &&
    summary.unreadableInputs === 0
  );
}

export async function sendFiles(options: SendFilesOptions): Promise<SendSummary> {
  const summary: SendSummary = {
    inputs: options.inputs.length,
    unreadableInputs: 0,
    read: 0,
    malformed: 0,
    filteredOut: new Map(),
    sent: 0,
    inserted: 0,
    updated: 0,
    unchanged: 0,
    rejected: 0,
    rejections: new Map(),
    notSent: 0,
  };
  const report = options.onProblem ?? (() => {});
  let bytes = 0;
  const progress = () =>
    options.onProgress?.({
      read: summary.read,
      sent: summary.sent,
      rejected: summary.rejected,
      bytes,
    });
  let batch: Pending[] = [];

  /** False once a batch could not be sent: the rest would fail the same way. */
  async function flush(): Promise<boolean> {
    const pending = batch;
    batch = [];
    if (pending.length === 0) return true;
    let result: IngestResult;
    try {
      result = await options.send(pending.map((p) => p.measurement));
    } catch (error) {
      summary.notSent += pending.length;
      summary.sendError = error instanceof Error ? error.message : String(error);
      return false;
    }
    summary.sent += pending.length;
    summary.inserted += result.inserted;
    summary.updated += result.updated;
    summary.unchanged += result.unchanged;
    summary.rejected += result.rejected.length;
    for (const { index, reason } of result.rejected) {
      add(summary.rejections, reason);
      report({ kind: 'rejected', where: pending[index]?.where ?? `item ${index}`, reason });
    }
    progress();
    return true;
  }

  for (const input of options.inputs) {
    try {
      const entries = readDocuments(input.open(), input.name, {
        onBytes: (n) => {
          bytes += n;
        },
      });
      for await (const entry of entries) {
        const at = `${entry.source}:${entry.line}`;
        if ('error' in entry) {
          summary.read += 1;
          summary.malformed += 1;
          report({ kind: 'malformed', where: at, reason: entry.error });
          continue;
        }
        for (const { path, result } of measurementsOf(entry.document)) {
          summary.read += 1;
          const where = path === '' ? at : `${at} ${path}`;
          if (result.kind === 'malformed') {
            summary.malformed += 1;
            report({ kind: 'malformed', where, reason: result.reason });
          } else if (result.kind === 'ignored') {
            add(summary.filteredOut, result.reason);
          } else if (
            options.countries !== 'all' &&
            !options.countries.has(countryKey(result.measurement.country))
          ) {
            add(summary.filteredOut, `country ${countryKey(result.measurement.country)}`);
          } else {
            batch.push({ where, measurement: result.measurement });
            if (batch.length >= options.batchSize && !(await flush())) return summary;
          }
        }
        if (summary.read % 1000 === 0) progress();
      }
    } catch (error) {
      summary.unreadableInputs += 1;
      report({
        kind: 'unreadable',
        where: input.name,
        reason: error instanceof Error ? error.message : String(error),
      });
    }
  }
  await flush();
  progress();
  return summary;
}
