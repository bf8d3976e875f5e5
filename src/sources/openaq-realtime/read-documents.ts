import { pipeline, Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';

/**
 * Reads the JSON documents of one input (a realtime file, an SNS dump, stdin), with their line numbers:
 *
 * - gzip is recognised by its magic bytes (a `.gz` file, or a compressed stream on stdin);
 * - newline-delimited JSON, one document per line (the realtime files, one SNS notification or
 *   Lambda event per line); blank lines are skipped;
 * - one JSON document spread over many lines (a Lambda event saved pretty-printed): recognised when
 *   the first line is not a JSON value by itself but starts one (`{` or `[`).
 *
 * A line that is not JSON is an entry with its error, never the end of the input.
 */
export type DocumentEntry =
  | { readonly source: string; readonly line: number; readonly document: unknown }
  | { readonly source: string; readonly line: number; readonly error: string };

export interface ReadDocumentsOptions {
  /** Called with the number of raw (possibly compressed) bytes read, for progress. */
  readonly onBytes?: (bytes: number) => void;
  /**
   * Largest document spread over several lines, in bytes. A Lambda event is at most a few MB;
   * beyond this the input is read line by line after all. Default 64 MiB.
   */
  readonly maxDocumentBytes?: number;
}

const GZIP_MAGIC = [0x1f, 0x8b] as const;

function toBuffer(chunk: unknown): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
}

/** The input's bytes, gunzipped when they start with gzip's magic number. */
async function* decodedBytes(
  input: AsyncIterable<unknown>,
  onBytes: (bytes: number) => void,
): AsyncGenerator<Buffer> {
  const iterator = input[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  let ended = false;
  while (head.length < GZIP_MAGIC.length) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    const chunk = toBuffer(next.value);
    onBytes(chunk.length);
    head = Buffer.concat([head, chunk]);
  }
  async function* raw(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    if (ended) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      const chunk = toBuffer(next.value);
      onBytes(chunk.length);
      yield chunk;
    }
  }
  if (head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1]) {
    // pipeline destroys the gunzip stream with any error (a truncated archive included), so the
    // loop below throws it instead of hanging.
    const gunzip = pipeline(Readable.from(raw()), createGunzip(), () => {});
    for await (const chunk of gunzip) yield toBuffer(chunk);
  } else {
    yield* raw();
  }
}

interface Line {
  readonly number: number;
  readonly text: string;
}

/** Lines of UTF-8 text; a character split across chunks is decoded whole. */
async function* lines(bytes: AsyncIterable<Buffer>): AsyncGenerator<Line> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let number = 0;
  const emit = function* (text: string) {
    number += 1;
    let line = text.endsWith('\r') ? text.slice(0, -1) : text;
    if (number === 1 && line.startsWith('\uFEFF')) line = line.slice(1);
    yield { number, text: line };
  };
  for await (const chunk of bytes) {
    pending += decoder.write(chunk);
    let newline = pending.indexOf('\n');
    while (newline !== -1) {
      yield* emit(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
      newline = pending.indexOf('\n');
    }
  }
  pending += decoder.end();
  if (pending !== '') yield* emit(pending);
}

function parseLine(source: string, line: Line): DocumentEntry {
  try {
    return { source, line: line.number, document: JSON.parse(line.text) };
  } catch (error) {
    const text = line.text.length > 60 ? `${line.text.slice(0, 60)}…` : line.text;
    return {
      source,
      line: line.number,
      error: `not valid JSON (${(error as Error).message}): ${text}`,
    };
  }
}

export async function* readDocuments(
  input: AsyncIterable<unknown>,
  source: string,
  options: ReadDocumentsOptions = {},
): AsyncGenerator<DocumentEntry> {
  const maxDocumentBytes = options.maxDocumentBytes ?? 64 * 1024 * 1024;
  const onBytes = options.onBytes ?? (() => {});
  let mode: 'first' | 'document' | 'lines' = 'first';
  let held: Line[] = [];
  let heldBytes = 0;

  for await (const line of lines(decodedBytes(input, onBytes))) {
    if (mode === 'document') {
      held.push(line);
      heldBytes += line.text.length + 1;
      if (heldBytes > maxDocumentBytes) {
        mode = 'lines';
        yield* heldLines(source, held);
        held = [];
      }
      continue;
    }
    if (line.text.trim() === '') continue;
    const entry = parseLine(source, line);
    if (mode === 'first') {
      if ('error' in entry && /^\s*[[{]/.test(line.text)) {
        mode = 'document';
        held = [line];
        heldBytes = line.text.length + 1;
        continue;
      }
      mode = 'lines';
    }
    yield entry;
  }
  if (mode === 'document') yield* heldDocument(source, held);
}

function* heldLines(source: string, held: readonly Line[]): Generator<DocumentEntry> {
  for (const line of held) {
    if (line.text.trim() !== '') yield parseLine(source, line);
  }
}

/**
 * The end of an input read as one document: a JSON value, or else its lines one by one (an
 * NDJSON file whose first line happens to be broken). A first line holding nothing but `{` or `[`
 * cannot be NDJSON, so a broken pretty-printed document is one error, not one per line.
 */
function* heldDocument(source: string, held: readonly Line[]): Generator<DocumentEntry> {
  const first = held[0];
  if (!first) return;
  const text = held.map((line) => line.text).join('\n');
  try {
    yield { source, line: first.number, document: JSON.parse(text) };
  } catch (error) {
    if (/^\s*[[{]\s*$/.test(first.text)) {
      yield {
        source,
        line: first.number,
        error: `not a valid JSON document (${(error as Error).message})`,
      };
    } else {
      yield* heldLines(source, held);
    }
  }
}
