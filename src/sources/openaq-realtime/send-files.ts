import type { MeasurementInput } from '../../client/measurement.js';
import type { IngestResult } from '../../ingest/ingest-measurements.js';
import { measurementsOf } from './messages.js';
import type { RecordResult } from './openaq-record.js';
import { type DocumentEntry, readDocuments } from './read-documents.js';

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
  const sending = new Sending(options);
  for (const input of options.inputs) {
    if (!(await sending.input(input))) return sending.summary;
  }
  await sending.flush();
  sending.progress();
  return sending.summary;
}

const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

/**
 * One run of sendFiles, a step per level: an input, a document of it, a record of the document, a
 * batch of records. A step answers false once a batch could not be sent: the rest would fail the
 * same way, so sending stops there.
 */
class Sending {
  readonly summary: SendSummary;
  readonly #options: SendFilesOptions;
  readonly #report: (problem: FileProblem) => void;
  #bytes = 0;
  #batch: Pending[] = [];

  constructor(options: SendFilesOptions) {
    this.#options = options;
    this.#report = options.onProblem ?? (() => {});
    this.summary = {
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
  }

  /** Every document of the input; an input that cannot be read is counted and reported. */
  async input(input: FileInput): Promise<boolean> {
    try {
      const entries = readDocuments(input.open(), input.name, {
        onBytes: (n) => {
          this.#bytes += n;
        },
      });
      for await (const entry of entries) {
        if (!(await this.#document(entry))) return false;
      }
    } catch (error) {
      this.summary.unreadableInputs += 1;
      this.#report({ kind: 'unreadable', where: input.name, reason: messageOf(error) });
    }
    return true;
  }

  /** Sends what is batched; false when it could not be sent (counted as not sent). */
  async flush(): Promise<boolean> {
    const pending = this.#batch;
    this.#batch = [];
    if (pending.length === 0) return true;
    let result: IngestResult;
    try {
      result = await this.#options.send(pending.map((p) => p.measurement));
    } catch (error) {
      this.summary.notSent += pending.length;
      this.summary.sendError = messageOf(error);
      return false;
    }
    this.#count(result, pending);
    this.progress();
    return true;
  }

  progress(): void {
    const { read, sent, rejected } = this.summary;
    this.#options.onProgress?.({ read, sent, rejected, bytes: this.#bytes });
  }

  async #document(entry: DocumentEntry): Promise<boolean> {
    const at = `${entry.source}:${entry.line}`;
    if ('error' in entry) {
      this.summary.read += 1;
      this.summary.malformed += 1;
      this.#report({ kind: 'malformed', where: at, reason: entry.error });
      return true;
    }
    for (const { path, result } of measurementsOf(entry.document)) {
      if (!(await this.#record(path === '' ? at : `${at} ${path}`, result))) return false;
    }
    if (this.summary.read % 1000 === 0) this.progress();
    return true;
  }

  /** A record is malformed, filtered out, or batched (and the batch sent once it is full). */
  async #record(where: string, result: RecordResult): Promise<boolean> {
    const { summary } = this;
    summary.read += 1;
    if (result.kind === 'malformed') {
      summary.malformed += 1;
      this.#report({ kind: 'malformed', where, reason: result.reason });
      return true;
    }
    if (result.kind === 'ignored') {
      add(summary.filteredOut, result.reason);
      return true;
    }
    const { countries, batchSize } = this.#options;
    if (countries !== 'all' && !countries.has(countryKey(result.measurement.country))) {
      add(summary.filteredOut, `country ${countryKey(result.measurement.country)}`);
      return true;
    }
    this.#batch.push({ where, measurement: result.measurement });
    return this.#batch.length < batchSize || this.flush();
  }

  #count(result: IngestResult, sent: readonly Pending[]): void {
    const { summary } = this;
    summary.sent += sent.length;
    summary.inserted += result.inserted;
    summary.updated += result.updated;
    summary.unchanged += result.unchanged;
    summary.rejected += result.rejected.length;
    for (const { index, reason } of result.rejected) {
      add(summary.rejections, reason);
      this.#report({ kind: 'rejected', where: sent[index]?.where ?? `item ${index}`, reason });
    }
  }
}
