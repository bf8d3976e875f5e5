import type { GraphqlClient } from '../../client/graphql-client.js';
import type { MeasurementInput } from '../../client/measurement.js';
import type { FeedStore } from './feed-store.js';

const PROGRESS = /* GraphQL */ `
  query FeedProgress($feed: String!) {
    feedProgress(feed: $feed) { series fetchedUntil }
  }
`;

const RECORD = /* GraphQL */ `
  mutation RecordFeedProgress($feed: String!, $progress: [FeedProgressInput!]!) {
    recordFeedProgress(feed: $feed, progress: $progress)
  }
`;

/** Progress entries per recordFeedProgress call: what the API takes at once. */
const PROGRESS_CHUNK = 1000;

/** The feed's store through belair's GraphQL API, with the client's retries. */
export function apiStore(client: GraphqlClient, endpoint: string): FeedStore {
  return {
    target: endpoint,
    // The items carry what the upstream sent; the API's validation rejects what is wrong, item
    // by item, whatever its type (see plugins/use-item-level-input-errors.ts).
    ingest: (items) => client.ingestMeasurements(items as unknown as MeasurementInput[]),
    async readProgress(feed) {
      const data = await client.request<{
        feedProgress: { series: string; fetchedUntil: string }[];
      }>(PROGRESS, { feed });
      return new Map(data.feedProgress.map((p) => [p.series, new Date(p.fetchedUntil)]));
    },
    async recordProgress(feed, progress) {
      for (let i = 0; i < progress.length; i += PROGRESS_CHUNK) {
        await client.request(RECORD, {
          feed,
          progress: progress.slice(i, i + PROGRESS_CHUNK).map((p) => ({
            series: p.series,
            fetchedUntil: p.fetchedUntil.toISOString(),
          })),
        });
      }
    },
    async refresh() {
      const run = await client.refreshAirQuality();
      return { id: run.id, cities: run.cities };
    },
    close: async () => {},
  };
}
