import type { RowDataPacket } from 'mysql2/promise';
import type { Queryable } from './queryable.js';

/** A station's latest measurement of one pollutant. */
export interface LatestMeasurement {
  readonly locationId: number;
  /** Pollutant code. */
  readonly parameter: string;
  /** µg/m³, as the database normalised it. */
  readonly value: number;
  /** The unit the source sent ('µg/m³' or 'ppm'). */
  readonly unit: string;
  readonly measuredAt: Date;
}

/**
 * The latest measurement per pollutant of each given station, by station and pollutant: one
 * statement for any number of stations. The inner GROUP BY reads the primary key
 * (location_id, pollutant, measured_at) only, one entry per station and pollutant (a loose index
 * scan), so it costs what the stations have pollutants, not what they have history; the join
 * back to the rows goes through the same key.
 */
export async function listLatestMeasurements(
  db: Queryable,
  locationIds: readonly number[],
): Promise<LatestMeasurement[]> {
  if (locationIds.length === 0) return [];
  const [rows] = await db.query<RowDataPacket[]>(
    `/* listLatestMeasurements */
     SELECT m.location_id AS locationId, m.pollutant AS parameter, m.value,
            m.original_unit AS unit, m.measured_at AS measuredAt
     FROM (
       SELECT location_id, pollutant, MAX(measured_at) AS measured_at
       FROM measurement WHERE location_id IN (?)
       GROUP BY location_id, pollutant
     ) latest
     JOIN measurement m
       ON m.location_id = latest.location_id AND m.pollutant = latest.pollutant
      AND m.measured_at = latest.measured_at
     ORDER BY m.location_id, m.pollutant`,
    [locationIds],
  );
  return rows as LatestMeasurement[];
}
