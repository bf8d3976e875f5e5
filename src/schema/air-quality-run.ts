import { resetLoaders } from '../context/context.js';
import { type AirQualityRun, listRuns, RefreshBusyError } from '../db/runs.js';
import { badUserInput, expectedError } from '../errors/expected-errors.js';
import { builder } from './builder.js';
import { requireInstant } from './date-time-input.js';
import { AirQualityRunRef } from './refs.js';
import { checkSubscriptionComplexity } from './subscription-complexity.js';

/** airQualityRuns(last) answers at most this many runs. */
export const MAX_RUNS = 1000;

builder.objectType(AirQualityRunRef, {
  description:
    'One aggregation run: the windows of every city for measurements with windowStart < measuredAt ≤ windowEnd.',
  fields: (t) => ({
    id: t.exposeID('id'),
    evaluatedAt: t.expose('evaluatedAt', {
      type: 'DateTime',
      description: 'The instant the window ends at; the current run is the one with the latest.',
    }),
    windowStart: t.expose('windowStart', { type: 'DateTime', description: 'Exclusive.' }),
    windowEnd: t.expose('windowEnd', { type: 'DateTime', description: 'Inclusive.' }),
    measurements: t.exposeInt('measurements', { description: 'Measurements in the window.' }),
    cities: t.exposeInt('cities', { description: 'Cities with at least one measurement.' }),
    durationMs: t.exposeFloat('durationMs', {
      nullable: true,
      description: 'How long the aggregation took.',
    }),
  }),
});

builder.queryField('airQualityRuns', (t) =>
  t.field({
    type: [AirQualityRunRef],
    description: `The latest runs, the current one first; last is 1 to ${MAX_RUNS}.`,
    args: { last: t.arg.int({ defaultValue: 10 }) },
    complexity: (args) => ({
      field: 1,
      multiplier: Math.max(1, Math.min(args.last ?? 10, MAX_RUNS)),
    }),
    resolve: (_root, args, context) => {
      const last = args.last ?? 10;
      if (last < 1 || last > MAX_RUNS) {
        throw badUserInput(`last ${last} must be from 1 to ${MAX_RUNS}.`);
      }
      return listRuns(context.reads, { last });
    },
  }),
);

builder.subscriptionField('airQualityRuns', (t) =>
  t.field({
    type: AirQualityRunRef,
    description:
      'The current run at once, then each new current run: a run that becomes the one with the latest evaluatedAt. A backfill (refreshAirQuality with a past instant) is not pushed.',
    subscribe: (_root, _args, context, info) => {
      checkSubscriptionComplexity(context, info);
      return context.poller.stream(
        (event) => [event.run],
        () => 'run',
      );
    },
    resolve: (run) => run,
  }),
);

builder.mutationField('refreshAirQuality', (t) =>
  t.field({
    type: AirQualityRunRef,
    description:
      'Aggregates the 3-hour window ending at `at` (default: now) into a new run, as the 5-minute event does. ' +
      'A past instant adds a run to history without changing the current one. ' +
      'Waits a few seconds for a run in progress, then fails with REFRESH_BUSY. Needs a token.',
    authScopes: { write: true },
    args: { at: t.arg({ type: 'DateTime' }) },
    resolve: async (_root, args, context) => {
      // Without `at`, the run is evaluated when it takes the lock: after this call was made.
      const at = args.at ? requireInstant('at', args.at) : null;
      let run: AirQualityRun;
      try {
        // Calls made at once share a run: one pooled connection waits for the lock for all.
        run = await context.refreshes.refresh({ at, waitSeconds: context.refreshWaitSeconds });
      } catch (error) {
        if (error instanceof RefreshBusyError) {
          throw expectedError('REFRESH_BUSY', error.message);
        }
        throw error;
      }
      // Read-your-writes: once this answers, every query of this process sees the new run (when
      // it is the current one); runs made elsewhere show within one poll interval.
      await context.poller.refresh();
      resetLoaders(context);
      return run;
    },
  }),
);
