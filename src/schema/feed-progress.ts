import {
  FEED_PROGRESS_LENGTH,
  type FeedProgress,
  listFeedProgress,
  recordFeedProgress,
} from '../db/feed-progress.js';
import { badUserInput } from '../errors/expected-errors.js';
import { builder } from './builder.js';
import { type DateTimeInput, requireInstant } from './date-time-input.js';

/** recordFeedProgress takes at most this many series at once. */
export const MAX_PROGRESS_ITEMS = 1000;

const FeedProgressRef = builder.objectRef<FeedProgress>('FeedProgress');

builder.objectType(FeedProgressRef, {
  description:
    'How far a feed (npm run feed -- irceline|openaq) has fetched one upstream series: its next poll asks only for what is newer.',
  fields: (t) => ({
    feed: t.exposeString('feed', { description: 'irceline or openaq.' }),
    series: t.exposeString('series', {
      description: "The upstream's id: an IRCEL-CELINE timeseries, an OpenAQ sensor.",
    }),
    fetchedUntil: t.expose('fetchedUntil', {
      type: 'DateTime',
      description: 'The time of the newest value fetched and handed to ingestion.',
    }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const FeedProgressInput = builder
  .inputRef<{ series: string; fetchedUntil: DateTimeInput }>('FeedProgressInput')
  .implement({
    fields: (t) => ({
      series: t.string({ required: true, description: 'At most 64 ASCII characters.' }),
      fetchedUntil: t.field({ type: 'DateTime', required: true }),
    }),
  });

/** A feed or series name: ASCII, non-empty, within its column. */
function progressName(argument: string, value: string, maxLength: number): string {
  if (!/^[\x21-\x7e]+$/.test(value) || value.length > maxLength) {
    throw badUserInput(
      `${argument} ${JSON.stringify(value)} must be 1 to ${maxLength} printable ASCII characters.`,
    );
  }
  return value;
}

builder.queryField('feedProgress', (t) =>
  t.field({
    type: [FeedProgressRef],
    description: 'Every series of one feed, by series.',
    args: { feed: t.arg.string({ required: true }) },
    resolve: (_root, args, context) =>
      listFeedProgress(context.pool, {
        feed: progressName('feed', args.feed, FEED_PROGRESS_LENGTH.feed),
      }),
  }),
);

builder.mutationField('recordFeedProgress', (t) =>
  t.field({
    type: 'Int',
    description: `Records how far a feed has fetched its series (at most ${MAX_PROGRESS_ITEMS} at once); a series only moves forward. Returns the number of series given. Needs a token.`,
    authScopes: { write: true },
    args: {
      feed: t.arg.string({ required: true }),
      progress: t.arg({ type: [FeedProgressInput], required: true }),
    },
    resolve: (_root, args, context) => {
      if (args.progress.length > MAX_PROGRESS_ITEMS) {
        throw badUserInput(
          `progress holds ${args.progress.length} series, more than the ${MAX_PROGRESS_ITEMS} allowed.`,
        );
      }
      return recordFeedProgress(context.pool, {
        feed: progressName('feed', args.feed, FEED_PROGRESS_LENGTH.feed),
        progress: args.progress.map((p, index) => ({
          series: progressName(`progress[${index}].series`, p.series, FEED_PROGRESS_LENGTH.series),
          fetchedUntil: requireInstant(`progress[${index}].fetchedUntil`, p.fetchedUntil),
        })),
      });
    },
  }),
);
