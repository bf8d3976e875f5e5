import type { IngestResult } from '../../ingest/ingest-measurements.js';
import type { FeedItem, FeedName } from './poll.js';

/** A run the store made after a poll stored something: the windows are current at once. */
export interface RefreshedWindows {
  readonly id: string | number;
  readonly cities: number;
}

/**
 * Where a feed's measurements and progress go: the API (ingestMeasurements, feedProgress,
 * recordFeedProgress, refreshAirQuality) or, with a database configuration file, the database
 * itself through belair's ingestion.
 */
export interface FeedStore {
  /** For messages: the endpoint or the database. */
  readonly target: string;
  ingest(items: readonly FeedItem[]): Promise<IngestResult>;
  readProgress(feed: FeedName): Promise<Map<string, Date>>;
  recordProgress(
    feed: FeedName,
    progress: readonly { series: string; fetchedUntil: Date }[],
  ): Promise<void>;
  refresh(): Promise<RefreshedWindows>;
  close(): Promise<void>;
}
