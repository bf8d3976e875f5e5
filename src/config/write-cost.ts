/**
 * What a write costs against a token's rate limit (WRITE_RATE_LIMIT), in measurements.
 *
 * The unit is the measurement, not the operation, so that one limit treats a generator sending
 * 10,000-item batches and a script sending 1-item batches alike: each pays for the rows it asks
 * the database to store, and batch size is the client's free choice. Each operation also pays a
 * fixed overhead: its validation set-up, city and station lookups and transaction cost ~6 ms
 * whatever the batch (bench/RESULTS.md's ingestion profile), about what storing 100 measurements
 * costs at ~20k rows/s, so that a flood of 1-item batches is held back as well as a flood of rows.
 */
export const WRITE_OVERHEAD = 100;

/** One aggregation run costs MariaDB 20-110 ms (bench/RESULTS.md), like ~1,000 measurements. */
export const REFRESH_COST = 1000;

/** The cost of one ingestMeasurements batch of `items` measurements. */
export function writeCostOfBatch(items: number): number {
  return WRITE_OVERHEAD + items;
}
