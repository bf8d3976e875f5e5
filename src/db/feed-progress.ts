import type { RowDataPacket } from 'mysql2/promise';
import type { Queryable } from './queryable.js';

/** How far a feed has fetched one upstream series (sql/080-feed-progress.sql). */
export interface FeedProgress {
  readonly feed: string;
  /** The upstream's id of the series: an IRCEL-CELINE timeseries, an OpenAQ sensor. */
  readonly series: string;
  /** The time of the newest value fetched and handed to ingestion. */
  readonly fetchedUntil: Date;
  readonly updatedAt: Date;
}

export interface FeedProgressInput {
  readonly series: string;
  readonly fetchedUntil: Date;
}

/** Column lengths of feed_progress: a longer feed or series name names nothing stored. */
export const FEED_PROGRESS_LENGTH = { feed: 16, series: 64 } as const;

const CHUNK = 1000;

/** Every series of one feed, by series. */
export async function listFeedProgress(
  db: Queryable,
  args: { feed: string },
): Promise<FeedProgress[]> {
  const [rows] = await db.query<RowDataPacket[]>(
    `/* listFeedProgress */
     SELECT feed, series, fetched_until AS fetchedUntil, updated_at AS updatedAt
     FROM feed_progress WHERE feed = ? ORDER BY series`,
    [args.feed],
  );
  return rows as FeedProgress[];
}

/**
 * Records how far a feed has fetched: a series moves forward only, so that a poll that finishes
 * late never takes back what a later one recorded. Returns the number of series given.
 */
export async function recordFeedProgress(
  db: Queryable,
  args: { feed: string; progress: readonly FeedProgressInput[] },
): Promise<number> {
  // Series in key order: two writers of the same series lock its rows in one order.
  const sorted = [...args.progress].sort((a, b) =>
    a.series < b.series ? -1 : a.series > b.series ? 1 : 0,
  );
  for (let i = 0; i < sorted.length; i += CHUNK) {
    const chunk = sorted.slice(i, i + CHUNK);
    await db.query(
      `/* recordFeedProgress */
       INSERT INTO feed_progress (feed, series, fetched_until, updated_at)
       VALUES ${chunk.map(() => '(?, ?, ?, UTC_TIMESTAMP(3))').join(', ')}
       ON DUPLICATE KEY UPDATE
         fetched_until = GREATEST(fetched_until, VALUES(fetched_until)),
         updated_at = VALUES(updated_at)`,
      chunk.flatMap((p) => [args.feed, p.series, p.fetchedUntil]),
    );
  }
  return sorted.length;
}
