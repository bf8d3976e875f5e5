import type { ResultSetHeader } from 'mysql2/promise';
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

/**
 * Stores measurements by their natural key (location, pollutant, measured_at): new ones are
 * inserted, changed ones updated, identical ones left alone; ROWS_PER_STATEMENT rows per statement.
 * Rows are written in key order, so that concurrent batches take their locks in the same order.
 */
export async function upsertMeasurements(
  db: Queryable,
  rows: readonly MeasurementRow[],
): Promise<UpsertCounts> {
  const sorted = [...rows].sort(
    (a, b) =>
      a.locationId - b.locationId ||
      (a.pollutant < b.pollutant ? -1 : a.pollutant > b.pollutant ? 1 : 0) ||
      a.measuredAt.getTime() - b.measuredAt.getTime(),
  );
  const total: UpsertCounts = { inserted: 0, updated: 0, unchanged: 0 };
  for (let i = 0; i < sorted.length; i += ROWS_PER_STATEMENT) {
    const chunk = sorted.slice(i, i + ROWS_PER_STATEMENT);
    const [header] = await db.query<ResultSetHeader>(
      `/* upsertMeasurements */
       INSERT INTO measurement (location_id, pollutant, measured_at, original_value, original_unit)
       VALUES ${chunk.map(() => '(?, ?, ?, ?, ?)').join(', ')}
       ON DUPLICATE KEY UPDATE
         original_value = VALUES(original_value), original_unit = VALUES(original_unit)`,
      chunk.flatMap((r) => [
        r.locationId,
        r.pollutant,
        r.measuredAt,
        r.originalValue,
        r.originalUnit,
      ]),
    );
    const counts = countUpsert(chunk.length, header);
    total.inserted += counts.inserted;
    total.updated += counts.updated;
    total.unchanged += counts.unchanged;
  }
  return total;
}
