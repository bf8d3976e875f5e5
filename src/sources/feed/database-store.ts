import type { DatabaseConfig } from '../../config/config.js';
import { listFeedProgress, recordFeedProgress } from '../../db/feed-progress.js';
import { migrate } from '../../db/migrate.js';
import { createPool } from '../../db/pool.js';
import { refreshAirQuality } from '../../db/runs.js';
import { ingestMeasurements } from '../../ingest/ingest-measurements.js';
import type { MeasurementItem } from '../../ingest/validate-measurement.js';
import type { FeedStore } from './feed-store.js';

/**
 * The feed's store straight in a database (the original project's configuration file): the
 * same ingestion as the API's, on a pool of its own. sql/ is applied first; the global event
 * scheduler is the API's and the operator's business, not a feed's.
 */
export async function databaseStore(db: DatabaseConfig): Promise<FeedStore> {
  await migrate(db, { ensureEventScheduler: false });
  const pool = createPool(db, 2);
  return {
    target: `database ${db.database} on ${db.host}:${db.port}`,
    // ingestMeasurements validates every item whatever its type.
    ingest: (items) => ingestMeasurements(pool, items as unknown as MeasurementItem[]),
    async readProgress(feed) {
      const rows = await listFeedProgress(pool, { feed });
      return new Map(rows.map((row) => [row.series, row.fetchedUntil]));
    },
    async recordProgress(feed, progress) {
      await recordFeedProgress(pool, { feed, progress });
    },
    async refresh() {
      const connection = await pool.getConnection();
      try {
        const run = await refreshAirQuality(connection, { at: new Date(), waitSeconds: 10 });
        return { id: run.id, cities: run.cities };
      } finally {
        connection.release();
      }
    },
    close: () => pool.end(),
  };
}
