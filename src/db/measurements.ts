import { Readable } from 'node:stream';
import { type ResultSetHeader, type RowDataPacket, escape as sqlLiteral } from 'mysql2/promise';
import type { CityKey } from './cities.js';
import type { LocationInput, LocationRow } from './locations.js';
import type { Queryable } from './queryable.js';

export interface MeasurementRow {
  readonly locationId: number;
  /** Pollutant code. */
  readonly pollutant: string;
  readonly measuredAt: Date;
  readonly originalValue: number;
  /** 'µg/m³' or 'ppm'; the database derives the µg/m³ value. */
  readonly originalUnit: string;
}

export interface UpsertCounts {
  inserted: number;
  updated: number;
  unchanged: number;
}

/**
 * Rows per INSERT: where multi-row statements reach their throughput; one row per statement is
 * more than ten times slower (docs/architecture.md, decision 4).
 */
export const ROWS_PER_STATEMENT = 1000;

/**
 * From how many rows a batch goes through LOAD DATA LOCAL into a staging table and one
 * INSERT ... SELECT, instead of multi-row INSERTs: measured in docs/ingestion.md, the bulk path
 * costs about what the INSERT does at 1,000 rows (three statements instead of one) and wins
 * clearly from a few thousand rows on.
 */
export const BULK_MIN_ROWS = 2000;

/**
 * What one INSERT ... ON DUPLICATE KEY UPDATE did. The connection runs without FOUND_ROWS, so an
 * unchanged duplicate counts 0 affected rows, an inserted row 1 and an updated row 2, and the
 * `info` text "Records: N  Duplicates: D  Warnings: W" counts in D only the duplicates that
 * changed. A one-row statement has no info: its affectedRows alone says what happened.
 */
export function countUpsert(rows: number, header: ResultSetHeader): UpsertCounts {
  const match = /Records:\s*(\d+)\s+Duplicates:\s*(\d+)/.exec(header.info ?? '');
  let updated: number;
  if (match) {
    updated = Number(match[2]);
  } else if (rows === 1) {
    updated = header.affectedRows === 2 ? 1 : 0;
  } else {
    throw new Error(`cannot count an upsert of ${rows} rows without its info: ${header.info}`);
  }
  const inserted = header.affectedRows - 2 * updated;
  return { inserted, updated, unchanged: rows - inserted - updated };
}

const COLUMNS = 'location_id, pollutant, measured_at, original_value, original_unit';

/**
 * The measurements' foreign keys are not checked again row by row: every location id of a batch
 * is share-locked (or updated) by the batch's own transaction before it writes a measurement
 * (ensureLocations), so it exists until the commit, and every pollutant code comes from the
 * pollutant table (validation). The check would look up and lock the same station 1,000 times
 * over; without it an INSERT of 1,000 rows costs 5-10 % less. Other writers' statements keep
 * the constraints, which stay in the schema.
 */
const CHECKED_BY_THE_BATCH = 'SET STATEMENT foreign_key_checks = 0 FOR';
const ON_DUPLICATE = `ON DUPLICATE KEY UPDATE
         original_value = VALUES(original_value), original_unit = VALUES(original_unit)`;

/** The primary key's order: location, pollutant (ascii_bin), instant. */
function byPrimaryKey(a: MeasurementRow, b: MeasurementRow): number {
  return (
    a.locationId - b.locationId ||
    (a.pollutant < b.pollutant ? -1 : a.pollutant > b.pollutant ? 1 : 0) ||
    a.measuredAt.getTime() - b.measuredAt.getTime()
  );
}

const two = (n: number) => (n < 10 ? `0${n}` : `${n}`);
const three = (n: number) => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

/**
 * A DATETIME(3) literal's text in UTC, as mysql2 writes a Date with timezone 'Z'
 * ('2025-02-01 13:00:00.000'). Validation keeps instants within the years 1000 to 9999.
 */
function datetimeText(date: Date): string {
  return (
    `${date.getUTCFullYear()}-${two(date.getUTCMonth() + 1)}-${two(date.getUTCDate())} ` +
    `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())}.` +
    three(date.getUTCMilliseconds())
  );
}

/** A finite number's literal; anything else is a bug upstream, never written as NaN. */
function numberText(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`not a finite number: ${value}`);
  return `${value}`;
}

/**
 * Writes rows as SQL text or as the lines of a LOAD DATA file. A batch holds few distinct
 * pollutants, units and instants (a feed sends many stations at one hour), so each one's text is
 * made once per batch; mysql2's format, which escapes all 5,000 values one by one, was the
 * largest single cost of an ingestion in the CPU profile.
 */
class RowWriter {
  private readonly texts = new Map<string, string>();
  private readonly instants = new Map<number, string>();

  constructor(private readonly quoteText: (text: string) => string) {}

  text(value: string): string {
    let text = this.texts.get(value);
    if (text === undefined) {
      text = this.quoteText(value);
      this.texts.set(value, text);
    }
    return text;
  }

  instant(date: Date): string {
    const time = date.getTime();
    let text = this.instants.get(time);
    if (text === undefined) {
      text = datetimeText(date);
      this.instants.set(time, text);
    }
    return text;
  }
}

/** The VALUES list of a multi-row INSERT. */
function valuesList(rows: readonly MeasurementRow[], writer: RowWriter): string {
  let sql = '';
  for (const r of rows) {
    sql +=
      `${sql === '' ? '' : ','}(${numberText(r.locationId)},${writer.text(r.pollutant)},` +
      `'${writer.instant(r.measuredAt)}',${numberText(r.originalValue)},${writer.text(r.originalUnit)})`;
  }
  return sql;
}

async function insertRows(db: Queryable, sorted: readonly MeasurementRow[]): Promise<UpsertCounts> {
  const writer = new RowWriter((text) => sqlLiteral(text));
  const total: UpsertCounts = { inserted: 0, updated: 0, unchanged: 0 };
  for (let i = 0; i < sorted.length; i += ROWS_PER_STATEMENT) {
    const chunk = sorted.slice(i, i + ROWS_PER_STATEMENT);
    const [header] = await db.query<ResultSetHeader>(
      `/* upsertMeasurements */ ${CHECKED_BY_THE_BATCH}
       INSERT INTO measurement (${COLUMNS}) VALUES ${valuesList(chunk, writer)}
       ${ON_DUPLICATE}`,
    );
    const counts = countUpsert(chunk.length, header);
    total.inserted += counts.inserted;
    total.updated += counts.updated;
    total.unchanged += counts.unchanged;
  }
  return total;
}

/** A field of a LOAD DATA line: backslash, tab and line break escaped as the default format wants. */
function loadField(text: string): string {
  return text.replace(/[\\\t\n]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : '\\n'));
}

/**
 * The rows as the lines of a LOAD DATA file (tab-separated, one row per line, UTF-8), each with
 * its position: the INSERT ... SELECT reads them back in that order, the order of the sorted
 * batch, in which a key sent twice is written as the multi-row INSERT writes it (the later last).
 */
function loadFile(rows: readonly MeasurementRow[]): Buffer {
  const writer = new RowWriter(loadField);
  const lines: string[] = [];
  for (const [seq, r] of rows.entries()) {
    lines.push(
      `${seq}\t${numberText(r.locationId)}\t${writer.text(r.pollutant)}\t${writer.instant(r.measuredAt)}\t` +
        `${numberText(r.originalValue)}\t${writer.text(r.originalUnit)}\n`,
    );
  }
  return Buffer.from(lines.join(''), 'utf8');
}

/** The mysql2 connection under a promise wrapper: where a session's temporary table lives. */
function sessionOf(db: Queryable): object {
  return (db as { connection?: object }).connection ?? db;
}

/** Sessions whose staging table exists. */
const staged = new WeakSet<object>();
/** Sessions on which the server or the client refused LOAD DATA LOCAL: they use INSERTs. */
const refused = new WeakSet<object>();

/** What a refused LOAD DATA LOCAL answers: the server's local_infile off, or the client's. */
const LOCAL_INFILE_REFUSED = new Set([
  1148, // ER_NOT_ALLOWED_COMMAND
  3948, // ER_CLIENT_LOCAL_FILES_DISABLED (MySQL)
  4166, // ER_LOAD_INFILE_CAPABILITY_DISABLED (MariaDB)
]);

const errnoOf = (error: unknown) => (error as { errno?: unknown } | null)?.errno;

/**
 * The batch through LOAD DATA LOCAL into the session's staging table, then one
 * INSERT ... SELECT ... ON DUPLICATE KEY UPDATE in the sorted batch's order, i.e. primary-key
 * order (the order every batch takes its measurement locks in), counted like a multi-row INSERT. The staging table is a MEMORY
 * temporary table of the session: created once per connection (CREATE TEMPORARY TABLE does not
 * commit the transaction), emptied before each load, seen by no other session. The file is one
 * Buffer: a stream of strings would load nothing. Null when LOAD DATA LOCAL is refused.
 */
async function loadRows(
  db: Queryable,
  sorted: readonly MeasurementRow[],
): Promise<UpsertCounts | null> {
  const session = sessionOf(db);
  if (refused.has(session)) return null;
  if (!staged.has(session)) {
    await db.query(
      `/* createMeasurementStaging */
       CREATE TEMPORARY TABLE IF NOT EXISTS measurement_staging (
         seq INT UNSIGNED NOT NULL,
         location_id INT UNSIGNED NOT NULL,
         pollutant VARCHAR(8) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
         measured_at DATETIME(3) NOT NULL,
         original_value DOUBLE NOT NULL,
         original_unit VARCHAR(8) NOT NULL
       ) ENGINE=MEMORY DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    );
    staged.add(session);
  }
  const file = loadFile(sorted);
  await db.query('/* clearMeasurementStaging */ DELETE FROM measurement_staging');
  let loaded: ResultSetHeader;
  try {
    [loaded] = await db.query<ResultSetHeader>({
      sql: `/* loadMeasurements */
            LOAD DATA LOCAL INFILE 'measurements.tsv' INTO TABLE measurement_staging
            CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' LINES TERMINATED BY '\\n'
            (seq, ${COLUMNS})`,
      infileStreamFactory: () => Readable.from([file]),
    });
  } catch (error) {
    if (!LOCAL_INFILE_REFUSED.has(errnoOf(error) as number)) throw error;
    refused.add(session);
    return null;
  }
  // LOAD DATA LOCAL turns conversion errors into warnings (the server cannot stop the client's
  // file half-way): a file that did not load exactly as written must not be committed.
  if (loaded.affectedRows !== sorted.length || loaded.warningStatus !== 0) {
    throw new Error(
      `LOAD DATA stored ${loaded.affectedRows} of ${sorted.length} rows with ${loaded.warningStatus} warnings`,
    );
  }
  const [header] = await db.query<ResultSetHeader>(
    `/* upsertMeasurements */ ${CHECKED_BY_THE_BATCH}
     INSERT INTO measurement (${COLUMNS})
     SELECT ${COLUMNS} FROM measurement_staging ORDER BY seq
     ${ON_DUPLICATE}`,
  );
  return countUpsert(sorted.length, header);
}

export interface UpsertOptions {
  /** From how many rows the bulk path is taken. Default BULK_MIN_ROWS. */
  readonly bulkMinRows?: number;
}

/**
 * Stores measurements by their natural key (location, pollutant, measured_at): new ones are
 * inserted, changed ones updated, identical ones left alone. Rows are written in key order, so
 * that concurrent batches take their locks in the same order. Small batches go as multi-row
 * INSERTs of ROWS_PER_STATEMENT rows; from bulkMinRows rows on, through LOAD DATA LOCAL (where the
 * server allows it; else INSERTs again).
 */
export async function upsertMeasurements(
  db: Queryable,
  rows: readonly MeasurementRow[],
  options: UpsertOptions = {},
): Promise<UpsertCounts> {
  const sorted = [...rows].sort(byPrimaryKey);
  if (sorted.length >= (options.bulkMinRows ?? BULK_MIN_ROWS)) {
    const counts = await loadRows(db, sorted);
    if (counts) return counts;
  }
  return insertRows(db, sorted);
}

/** A station as a batch believes it is stored, with what the batch sends of it. */
export interface BelievedStation {
  readonly stored: LocationRow;
  readonly input: LocationInput;
  readonly city: CityKey;
}

const nullable = (value: string | number | null) =>
  value === null ? 'NULL' : typeof value === 'number' ? numberText(value) : sqlLiteral(value);

/**
 * Whether a batch is a repeat of what is stored, in one statement and without a transaction: how
 * many of its rows are stored with the same value and unit, and how many of its stations are
 * stored as believed (id, city, name) with every attribute the batch sends. One statement reads
 * one snapshot, so when every row and every station matches, the batch would change nothing at
 * that moment and is answered as unchanged without a write; otherwise it goes the usual way.
 * Values are compared as the doubles their literals parse to (the literals the INSERT would have
 * sent), names and units byte for byte.
 */
export async function countRepeats(
  db: Queryable,
  rows: readonly MeasurementRow[],
  stations: readonly BelievedStation[],
): Promise<{ measurements: number; stations: number }> {
  const writer = new RowWriter((text) => sqlLiteral(text));
  const believed = stations
    .map(
      ({ stored, input, city }) =>
        `(${numberText(stored.id)},${numberText(input.cityId)},${sqlLiteral(input.name)},` +
        `${sqlLiteral(city.country)},${sqlLiteral(city.name)},${nullable(input.latitude)},` +
        `${nullable(input.longitude)},${nullable(input.sourceName)},${nullable(input.sourceType)},` +
        `${nullable(input.licence)},${nullable(input.attribution)})`,
    )
    .join(',');
  const [result] = await db.query<RowDataPacket[]>(
    `/* countRepeats */
     WITH v (l, p, t, x, u) AS (VALUES ${valuesList(rows, writer)}),
          s (id, city_id, name, country, city, latitude, longitude, source_name, source_type,
             licence, attribution) AS (VALUES ${believed})
     SELECT
       (SELECT COUNT(*) FROM v STRAIGHT_JOIN measurement m
          ON m.location_id = v.l AND m.pollutant = v.p AND m.measured_at = v.t
         WHERE m.original_value = v.x AND BINARY m.original_unit = BINARY v.u) AS measurements,
       (SELECT COUNT(*) FROM s STRAIGHT_JOIN location l ON l.id = s.id
          STRAIGHT_JOIN city c ON c.id = l.city_id
         WHERE l.city_id = s.city_id AND BINARY l.name = BINARY s.name
           AND BINARY c.country = BINARY s.country AND BINARY c.name = BINARY s.city
           AND (s.latitude IS NULL OR l.latitude = s.latitude)
           AND (s.longitude IS NULL OR l.longitude = s.longitude)
           AND (s.source_name IS NULL OR BINARY l.source_name = BINARY s.source_name)
           AND (s.source_type IS NULL OR BINARY l.source_type = BINARY s.source_type)
           AND (s.licence IS NULL OR BINARY l.licence = BINARY s.licence)
           AND (s.attribution IS NULL OR BINARY l.attribution = BINARY s.attribution)) AS stations`,
  );
  const row = result[0] as { measurements: number | string; stations: number | string };
  return { measurements: Number(row.measurements), stations: Number(row.stations) };
}
